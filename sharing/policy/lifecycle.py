"""Information lifecycle (retention review, erasure, legal holds, subject access): lifecycle/."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from agencies.models import Agency, Role, User
from cases.models import Case
from sharing.models import CaseShare
from sharing.policy.identity import Viewer, agency_ids, has_role

if TYPE_CHECKING:
    from lifecycle.models import LegalHold


def lifecycle_agency_ids(user: Viewer) -> frozenset[int]:
    """Agencies whose retention, holds and erasures this user manages (DPOs and agency admins)."""
    return agency_ids(user, [Role.DPO, Role.AGENCY_ADMIN])


def can_manage_retention(user: Viewer, agency: Agency | int) -> bool:
    """Review, retain and erase what the agency controls: its DPO or agency admin."""
    return has_role(user, Role.DPO, agency) or has_role(user, Role.AGENCY_ADMIN, agency)


def can_handle_sar(user: Viewer, agency: Agency | int) -> bool:
    """Subject access requests are answered by the agency's data-protection officer."""
    return has_role(user, Role.DPO, agency)


def can_set_legal_hold(user: Viewer, case: Case) -> bool:
    """DPOs and admins of the lead agency, or of an agency the case is shared with (e.g. the CPS)."""
    mine = lifecycle_agency_ids(user)
    if case.erased_at is not None or not mine:
        return False
    if case.lead_agency_id in mine:
        return True
    return CaseShare.objects.filter(case_id=case.pk, agency_id__in=mine, revoked_at__isnull=True).exists()


def legal_holds_visible_to(user: User) -> QuerySet[LegalHold]:
    """Holds a DPO or agency admin sees: those their agency placed, and those on cases it leads."""
    from lifecycle.models import LegalHold

    mine = lifecycle_agency_ids(user)
    if not mine:
        return LegalHold.objects.none()
    return LegalHold.objects.filter(Q(agency_id__in=mine) | Q(case__lead_agency_id__in=mine))


def legal_hold_lifting_agency_id(user: User, hold: LegalHold) -> int | None:
    """The agency on whose behalf ``user`` may lift ``hold``, or None (docs/security.md, legal holds).

    The placing agency's DPO lifts its own hold; the lead agency's DPO may lift another agency's hold
    on its case (the service then records the override and the reason). Nobody else: not the agency
    admins, not the other agencies the case is shared with.
    """
    if has_role(user, Role.DPO, hold.agency_id):
        return hold.agency_id
    if has_role(user, Role.DPO, hold.case.lead_agency_id):
        return hold.case.lead_agency_id
    return None


def can_lift_legal_hold(user: User, hold: LegalHold) -> bool:
    return legal_hold_lifting_agency_id(user, hold) is not None
