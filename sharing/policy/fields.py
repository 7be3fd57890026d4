"""Fields: which fields of one case record a viewer receives, and why the rest is withheld."""

from __future__ import annotations

from typing import Any

from core.categories import ALL_CATEGORIES, Level
from sharing.policy.cases import Access
from sharing.policy.grants import NEVER_REASON, never_shared


def _record_category(obj: Any) -> str:
    """A record's category: its own ``category`` field where it has one (notes), else its class's."""
    own = obj.__dict__.get("category") if isinstance(getattr(obj, "__dict__", None), dict) else None
    if isinstance(own, str) and own in ALL_CATEGORIES:
        return own
    return str(obj.CATEGORY)


def record_level(access: Access, obj: Any, category: str) -> int:
    """The level a viewer has on one record: full on their own agency's records."""
    owner = getattr(obj, "owner_agency_id", None)
    if owner is not None and owner in access.own_agency_ids:
        return Level.FULL
    return access.level(category)


def visible_fields(access: Access, obj: Any) -> frozenset[str]:
    """The fields of one case record this viewer receives (from the record's VISIBILITY map)."""
    visibility: dict[str, tuple[str, int]] = getattr(obj, "VISIBILITY", {})
    shown = set()
    for name, (category, minimum) in visibility.items():
        if category == "*":
            category = _record_category(obj)
        if record_level(access, obj, category) >= minimum:
            shown.add(name)
    return frozenset(shown)


def can_see_record(access: Access, obj: Any) -> bool:
    """A record is listed if the viewer has at least summary of its category."""
    return record_level(access, obj, _record_category(obj)) >= Level.SUMMARY


def withheld_reason(access: Access, category: str) -> str | None:
    """Why this viewer does not get all of a category (None when they get it in full)."""
    level = access.level(category)
    if level >= Level.FULL:
        return None
    if category in never_shared(access.agency_type):
        return NEVER_REASON.get(category, "Never shared with your agency.")
    refs = ", ".join(access.agreement_refs) or "no agreement"
    where = f"agreement {refs}"
    if access.via == "break_glass":
        where += " (break-glass access)"
    if level == Level.SUMMARY:
        return f"Summary only: not shared in full with your agency under {where}."
    return f"Not shared with your agency under {where}."


def withheld_categories(access: Access) -> dict[str, str]:
    """Category → reason, for every category not given in full."""
    reasons = {}
    for category in ALL_CATEGORIES:
        reason = withheld_reason(access, category)
        if reason is not None:
            reasons[category] = reason
    return reasons
