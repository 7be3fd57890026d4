"""Shared plumbing for every change to a case record: versions, the audit row, the broadcast.

What each service repeats: bump the case version under its row lock, record the audit event with
the data categories touched, and tell the case's live audience (ids and version only) on commit.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import date
from typing import Any

from django.db.models import F
from django.utils import timezone

from agencies.models import Agency, User
from audit.models import Op
from audit.services import record_event
from core.errors import DomainError, check_version
from core.events import CaseChanged, send_on_commit

from ..models import Case


def broadcast_case_changed(case: Case, kind: str, object_id: Any = None) -> None:
    """Tell the case's live audience (ids and version only) once the transaction commits."""
    payload: CaseChanged = {
        "type": "case.changed",
        "case_id": str(case.pk),
        "version": case.version,
        "kind": kind,
    }
    if object_id is not None:
        payload["object_id"] = str(object_id)
    send_on_commit(f"case.{case.pk}", payload)


def bump_case_version(case: Case) -> None:
    """Raise the case's version by one in the database, under the case's row lock.

    The increment happens in the database (``F("version") + 1``) after ``select_for_update`` on the
    case row, never from the in-memory object: two writers that loaded the same version each add
    one, so the 409 check sees every change. The in-memory version is then refreshed.
    """
    Case.objects.select_for_update().filter(pk=case.pk).values_list("pk", flat=True).first()
    Case.objects.filter(pk=case.pk).update(version=F("version") + 1, updated_at=timezone.now())
    case.version = Case.objects.filter(pk=case.pk).values_list("version", flat=True).get()


def _bump_case(case: Case) -> None:
    bump_case_version(case)


def new_reference() -> str:
    return f"CNV-{timezone.localdate().year}-{secrets.token_hex(3).upper()}"


def _categories(obj: Any, fields: Any = None) -> list[str]:
    """The data categories a change touches: those of the fields named, or the record's own."""
    visibility: dict[str, tuple[str, int]] = getattr(obj, "VISIBILITY", {})
    found = set()
    for name in fields or ():
        category = visibility.get(name, (obj.CATEGORY, 0))[0]
        found.add(getattr(obj, "category", obj.CATEGORY) if category == "*" else category)
    return sorted(found or {obj.CATEGORY})


def last_changed_by(obj: Any) -> str:
    """Who last wrote this record, from the audit log (a username, never a value)."""
    from audit.models import AuditEvent

    event = (
        AuditEvent.objects.filter(object_type=obj._meta.label, object_id=str(obj.pk))
        .order_by("-occurred_at", "-id")
        .values_list("actor_username", flat=True)
        .first()
    )
    return event or ""


def _check_version(obj: Any, submitted: int | None, what: str) -> None:
    """Refuse an edit based on a stale version, naming who changed the record since."""
    current = type(obj).objects.filter(pk=obj.pk).values_list("version", flat=True).first()
    if current is None:
        raise DomainError(f"This {what} no longer exists.", field="version")
    if submitted is None:
        check_version(current, None, what)
    elif int(submitted) != current:
        check_version(current, submitted, what, changed_by=last_changed_by(obj))
    obj.version = current


def _save_changes(obj: Any, changes: dict[str, Any]) -> list[str]:
    """Apply changes that differ; bump the record's version; return the names changed."""
    changed = []
    for name, value in changes.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed.append(name)
    obj.version += 1
    obj.save(update_fields=[*changed, "version", "updated_at"])
    return changed


def _finish_change(
    obj: Any,
    *,
    case: Case,
    agency: Agency,
    acting_user: User,
    kind: str,
    op: str = Op.COLLECT,
    fields: Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    detail: dict[str, Any] | None = None,
    object_id: Any = None,
) -> None:
    """The tail of every change to a case record, once the record is written.

    Raise the case's version (not when the record is the case itself: its own save raised it),
    write the audit row (the data categories touched: those given, else those of the fields
    named, else the record's own; the fields named, and any other detail, in the row's detail),
    and tell the case's live audience on commit (``kind`` and the record's id, or ``object_id``).
    """
    if obj is not case:
        _bump_case(case)
    if fields:
        detail = {"fields": sorted(fields), **(detail or {})}
    record_event(
        op,
        actor=acting_user,
        agency=agency,
        obj=obj,
        case_id=case.pk,
        categories=list(categories) if categories is not None else _categories(obj, fields),
        detail=detail or None,
    )
    broadcast_case_changed(case, kind, obj.pk if object_id is None else object_id)


def _save_change(
    obj: Any,
    *,
    case: Case,
    agency: Agency,
    acting_user: User,
    kind: str,
    changes: dict[str, Any] | None = None,
    if_unchanged: str = "",
    categories: Sequence[str] | None = None,
    detail: dict[str, Any] | None = None,
    object_id: Any = None,
) -> list[str]:
    """Save a record, then finish the change (``_finish_change``); return the fields changed.

    Without ``changes`` the record is new: saved and audited as collected. With ``changes`` the
    fields that differ are written with the record's version raised, and audited as altered,
    naming them (blind indexes left out: they follow the fields they index), or naming
    ``if_unchanged`` when nothing differed.
    """
    if changes is None:
        obj.save()
        changed: list[str] = []
        op, fields = Op.COLLECT, None
    else:
        changed = [name for name in _save_changes(obj, changes) if not name.endswith("_index")]
        op, fields = Op.ALTER, changed or [if_unchanged]
    _finish_change(
        obj,
        case=case,
        agency=agency,
        acting_user=acting_user,
        kind=kind,
        op=op,
        fields=fields,
        categories=categories,
        detail=detail,
        object_id=object_id,
    )
    return changed


def _not_future(value: date | None, field: str, what: str) -> None:
    if value is not None and value > timezone.localdate():
        raise DomainError(f"{what} cannot be in the future.", field=field)


def _choice(value: Any, choices: Any, field: str, message: str) -> None:
    if value not in choices:
        raise DomainError(message, field=field)


def _text(value: str | None, field: str, message: str, limit: int = 20000) -> str:
    if value is None or not str(value).strip():
        raise DomainError(message, field=field)
    if len(value) > limit:
        raise DomainError(f"At most {limit:,} characters.", field=field)
    return str(value).strip()


def _lock_case(case: Case) -> None:
    """Serialise writers of one case (PostgreSQL row lock; SQLite serialises writes anyway)."""
    Case.objects.select_for_update().filter(pk=case.pk).values_list("pk", flat=True).first()
    case.version = Case.objects.filter(pk=case.pk).values_list("version", flat=True).get()
