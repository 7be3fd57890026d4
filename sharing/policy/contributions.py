"""Who may contribute (record) what on a case: the lead agency everything, a partner agency the
categories its agreement lets it contribute (issue 16 item 1)."""

from __future__ import annotations

from typing import Any

from cases.models import Case
from core.categories import ALL_CATEGORIES, Category
from sharing.models import AgreementParty
from sharing.policy.cases import case_access
from sharing.policy.identity import Viewer

# The category each kind of case record belongs to (the record model's CATEGORY).
RECORD_KIND_CATEGORIES: dict[str, str] = {
    "assessment": Category.C3,
    "order": Category.C4,
    "condition": Category.C4,
    "breach": Category.C4,
    "order_event": Category.C4,
}


def contribute_category(category_or_record_kind: str) -> str:
    """The category code for a record kind ("breach") or a category code ("C4")."""
    if category_or_record_kind in ALL_CATEGORIES:
        return category_or_record_kind
    try:
        return RECORD_KIND_CATEGORIES[category_or_record_kind]
    except KeyError:
        raise ValueError(f"Unknown record kind {category_or_record_kind!r}") from None


def contributable_categories(user: Viewer, case: Case) -> frozenset[str]:
    """The categories ``user`` records on ``case``: all for the lead agency; for a partner seeing
    the case through a live share, those its party in the share's agreement contributes; none by
    break-glass (emergency access reads, it does not record)."""
    access = case_access(user, case)
    if access is None or access.is_break_glass:
        return frozenset()
    if access.is_lead:
        return frozenset(ALL_CATEGORIES)
    rows = AgreementParty.objects.filter(
        agreement_id__in=access.agreement_ids, agency_id=access.agency_id
    ).values_list("contribute_categories", flat=True)
    return frozenset(c for categories in rows for c in (categories or ()) if c in ALL_CATEGORIES)


def can_contribute(user: Viewer, case: Case, category_or_record_kind: str) -> bool:
    """May ``user`` record a ``category_or_record_kind`` (a category code or a record kind) on ``case``."""
    return contribute_category(category_or_record_kind) in contributable_categories(user, case)


def can_change_contribution(user: Viewer, record: Any) -> bool:
    """Edit or withdraw a contribution: only the agency that recorded it (the lead agency cannot
    overwrite another agency's), while it still contributes the record's category."""
    case = record.case
    access = case_access(user, case)
    if access is None or record.owner_agency_id != access.agency_id:
        return False
    return can_contribute(user, case, record.CATEGORY)
