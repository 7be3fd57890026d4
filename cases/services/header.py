"""The case header (forum, MAPPA category and level, owner, reviews) and its status."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from agencies.models import Agency, User
from core.errors import DomainError

from .. import choices as c
from ..models import Case
from .plumbing import (
    _check_version,
    _choice,
    _lock_case,
    _save_change,
)
from .records import validate_case_fields

CASE_HEADER_FIELDS = frozenset(
    {"forum", "mappa_category", "mappa_level", "next_review_on", "owner", "retention_review_on"}
)


@transaction.atomic
def do_update_case(
    *, case: Case, version: int | None, agency: Agency, acting_user: User, changes: dict[str, Any]
) -> Case:
    """Change the case header (forum, MAPPA category and level, next review, owner)."""
    unknown = set(changes) - CASE_HEADER_FIELDS
    if unknown:
        raise DomainError("These fields cannot be changed here.", field=sorted(unknown)[0])
    _lock_case(case)
    _check_version(case, version, "case")
    merged = {
        "forum": changes.get("forum", case.forum),
        "mappa_category": changes.get("mappa_category", case.mappa_category),
        "mappa_level": changes.get("mappa_level", case.mappa_level),
    }
    validate_case_fields(**merged)
    owner = changes.get("owner")
    if owner is not None:
        from agencies.models import Membership

        if not Membership.objects.active().filter(user=owner, agency_id=case.lead_agency_id).exists():
            raise DomainError("The case owner must be a member of the lead agency.", field="owner")
    _save_change(
        case,
        case=case,
        agency=agency,
        acting_user=acting_user,
        kind="case",
        changes=changes,
        if_unchanged="version",
    )
    return case


@transaction.atomic
def do_change_case_status(
    *,
    case: Case,
    to: str,
    version: int | None,
    agency: Agency,
    acting_user: User,
    closure_reason: str = "",
    closure_note: str | None = None,
) -> Case:
    """Move the case along referred → screening → active → closed (and reopen a closed case)."""
    _lock_case(case)
    _check_version(case, version, "case")
    if to not in c.CaseStatus.values:
        raise DomainError("Choose a status.", field="status")
    if to not in c.STATUS_TRANSITIONS[case.status]:
        allowed = ", ".join(sorted(c.CaseStatus(s).label.lower() for s in c.STATUS_TRANSITIONS[case.status]))
        raise DomainError(
            f"A {c.CaseStatus(case.status).label.lower()} case can only move to: {allowed}.", field="status"
        )
    changes: dict[str, Any] = {"status": to}
    if to == c.CaseStatus.CLOSED:
        _choice(closure_reason, c.ClosureReason.values, "closure_reason", "Give the reason for closing.")
        changes.update(
            closure_reason=closure_reason, closure_note=closure_note or None, closed_at=timezone.now()
        )
    else:
        changes.update(closure_reason="", closed_at=None)
    # the status always differs (no transition leads to itself), so the change names its fields
    _save_change(
        case,
        case=case,
        agency=agency,
        acting_user=acting_user,
        kind="status",
        changes=changes,
        detail={"status": to},
    )
    return case
