"""Reading a case for one viewer: the single function pages, the API and exports all call.

``read_case`` returns plain, JSON-serialisable dicts holding ONLY the fields
``sharing.policy.visible_fields(access, obj)`` allows, plus a ``withheld`` list naming every category
not given in full with its reason. It records ONE CONSULT audit event per call, naming the categories
actually served, the access's justification and the share and agreement it rests on. Because every
surface goes through it, what a page shows and what the API returns cannot drift apart.

Encrypted values are decrypted lazily (keystore.fields), so a field that is not visible is never
decrypted.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from django.db.models import Field, Model, Prefetch

from audit.services import consult as audit_consult
from core.categories import Category, Level
from sharing import policy
from sharing.policy import Access

from .models import (
    Case,
    Order,
)

PARTS = ("nominal", "victims", "referral", "assessments", "orders", "plan", "actions", "notes")
HEADER_FIELDS = (
    "reference",
    "forum",
    "mappa_category",
    "mappa_level",
    "status",
    "risk_level",
    "next_review_on",
    "retention_review_on",
    "closure_reason",
    "closed_at",
)


@lru_cache(maxsize=1)
def _header_labels() -> tuple[tuple[str, dict[Any, Any]], ...]:
    """Each choice field's value → label map, built once (``get_FOO_display`` rebuilds it per call,
    which was a tenth of a 50-row list's time). Labels stay lazy: ``str()`` per use translates them."""
    names = ("forum", "status", "risk_level", "mappa_level", "closure_reason")
    return tuple((name, _choice_labels(name)) for name in names)


def _choice_labels(name: str) -> dict[Any, Any]:
    field = Case._meta.get_field(name)
    assert isinstance(field, Field)  # a column of the case, not a relation
    return dict(field.flatchoices)


class Served:
    """Collects the categories a read actually served, for its one CONSULT event."""

    def __init__(self, access: Access) -> None:
        self.access = access
        self.categories: set[str] = set()

    def record(self, obj: Model) -> dict[str, Any] | None:
        """The visible part of one record, or None if the viewer may not see it at all."""
        if not policy.can_see_record(self.access, obj):
            return None
        shown = policy.visible_fields(self.access, obj)
        visibility: dict[str, tuple[str, int]] = getattr(obj, "VISIBILITY", {})
        out: dict[str, Any] = {
            "id": str(obj.pk),
            "version": obj.version,  # type: ignore[attr-defined]
            "owner_agency": obj.owner_agency_id,  # type: ignore[attr-defined]
            "created_at": obj.created_at.isoformat(),  # type: ignore[attr-defined]
        }
        for name in visibility:
            if name not in shown or not hasattr(obj, name):
                continue
            out[name] = _value(obj, name)
            display = getattr(obj, f"get_{name}_display", None)
            if display is not None:
                out[f"{name}_display"] = str(display())
            category = visibility[name][0]
            if category == "*":  # the record's own category (a note's), else its model's CATEGORY
                category = str(getattr(obj, "category", getattr(obj, "CATEGORY")))  # noqa: B009
            self.categories.add(category)
        return out

    def records(self, objs: Iterable[Model]) -> list[dict[str, Any]]:
        return [item for item in (self.record(obj) for obj in objs) if item is not None]


def _value(obj: Model, name: str) -> Any:
    field = obj._meta.get_field(name)
    if field.is_relation and field.many_to_one:
        related = getattr(obj, name)
        if related is None:
            return None
        label = related.get_full_name() if hasattr(related, "get_full_name") else str(related)
        return {"id": related.pk, "name": label or str(related)}
    value = getattr(obj, name)
    if isinstance(value, bytes | bytearray | memoryview):
        return {"present": True, "bytes": len(value)}
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def withheld(access: Access) -> list[dict[str, str]]:
    """Every category not given in full to this viewer, with the reason (agreement named)."""
    return [
        {
            "category": category,
            "label": str(Category(category).label),
            "level": "summary" if access.level(category) == Level.SUMMARY else "none",
            "reason": reason,
        }
        for category, reason in policy.withheld_categories(access).items()
    ]


def case_header(case: Case) -> dict[str, Any]:
    """Fields every viewer of the case sees (they carry no encrypted value)."""
    out: dict[str, Any] = {"id": str(case.pk), "version": case.version}
    for name in HEADER_FIELDS:
        value = getattr(case, name)
        out[name] = value.isoformat() if isinstance(value, date | datetime) else value
    for name, labels in _header_labels():
        value = out[name]
        out[f"{name}_display"] = str(labels.get(value, value))
    out["lead_agency"] = {"id": case.lead_agency_id, "name": case.lead_agency.name}
    owner = case.owner
    out["owner"] = {"id": owner.pk, "name": owner.get_full_name() or owner.get_username()}
    out["created_at"] = case.created_at.isoformat()
    return out


def consult(user: Any, access: Access, case: Case, categories: Iterable[str], **detail: Any) -> None:
    """The one CONSULT event of a read."""
    membership = policy.primary_membership(user, access.agency_id)
    audit_consult(
        user,
        case,
        access.justification,
        agency=membership.agency if membership else None,
        role=access.role,
        case_id=case.pk,
        categories=categories,
        grant=access,
        detail={
            **detail,
            **({"share_ids": [str(s) for s in access.share_ids]} if len(access.share_ids) > 1 else {}),
            **({"break_glass_id": str(access.break_glass_id)} if access.break_glass_id else {}),
        },
    )


def _order_parts(served: Served, order: Order) -> dict[str, Any] | None:
    data = served.record(order)
    if data is None:
        return None
    data["conditions"] = served.records(order.conditions.all())
    data["breaches"] = served.records(order.breaches.all())
    data["events"] = served.records(order.events.all())
    return data


def read_case(
    user: Any, access: Access, case: Case, parts: Iterable[str] = PARTS, audit: bool = True
) -> dict[str, Any]:
    """The case as this viewer may see it, and one CONSULT event recording what was served."""
    wanted = set(parts)
    served = Served(access)
    data: dict[str, Any] = case_header(case)
    data["access"] = {"via": access.via, "agency_id": access.agency_id, "is_lead": access.is_lead}
    closure = served.record(case)
    if closure and "closure_note" in closure:
        data["closure_note"] = closure["closure_note"]
    if "nominal" in wanted:
        nominal = served.record(case.nominal)
        if nominal is not None and "names" in nominal:
            nominal["primary_name"] = case.nominal.primary_name
            nominal["aliases"] = case.nominal.aliases
        data["nominal"] = nominal
    if "victims" in wanted:
        data["victims"] = served.records(case.victims.select_related("advocate"))
    if "referral" in wanted:
        referral = getattr(case, "referral", None)
        data["referral"] = served.record(referral) if referral is not None else None
    if "assessments" in wanted:
        data["assessments"] = served.records(
            case.assessments.select_related("assessor").order_by("-assessed_on", "-created_at")
        )
    if "orders" in wanted:
        orders = case.orders.prefetch_related("conditions", "breaches", "events")
        data["orders"] = [o for o in (_order_parts(served, order) for order in orders) if o is not None]
    if "plan" in wanted:
        plans = list(case.plans.order_by("-number"))
        data["plan"] = served.record(plans[0]) if plans else None
        data["plan_history"] = [
            {"number": p.number, "created_at": p.created_at.isoformat(), "change_summary": p.change_summary}
            for p in plans
            if policy.can_see_record(access, p)
        ]
    if "actions" in wanted:
        actions = case.actions.select_related("owner", "agency").prefetch_related("updates")
        items = []
        for action in actions:
            item = served.record(action)
            if item is not None:
                item["updates"] = served.records(action.updates.all())
                items.append(item)
        data["actions"] = items
    if "notes" in wanted:
        data["notes"] = served.records(case.notes.all())
    data["withheld"] = withheld(access)
    if audit:
        consult(user, access, case, served.categories, parts=sorted(wanted))
    return data


def prefetch_for_list() -> list[Any]:
    """What a list of case headers needs, fetched in constant queries."""
    return ["lead_agency", "owner"]


def read_case_list(user: Any, cases: list[Case]) -> list[dict[str, Any]]:
    """Headers of many cases (no encrypted value is decrypted); one CONSULT event for the list."""
    own = policy.content_agencies(user)
    rows = []
    for case in cases:
        row = case_header(case)
        row["led_by_my_agency"] = case.lead_agency_id in own
        rows.append(row)
    if rows:
        membership = policy.primary_membership(user)
        audit_consult(
            user,
            Case,
            "case list (headers only)",
            agency=membership.agency if membership else None,
            role=membership.role if membership else "",
            detail={"list": len(rows)},
        )
    return rows


__all__ = ["PARTS", "Prefetch", "Served", "read_case", "read_case_list", "withheld", "consult"]
