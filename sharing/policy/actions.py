"""Roles to actions on one case: edit, share, note, chair, disclose, erase."""

from __future__ import annotations

from agencies.models import Role
from cases.models import Case
from sharing.models import CaseShare
from sharing.policy.cases import case_access
from sharing.policy.identity import Viewer, has_role


def can_edit_case(user: Viewer, case: Case) -> bool:
    """Only the lead agency's practitioners and chairs change the case record."""
    access = case_access(user, case)
    return access is not None and access.is_lead


def can_share_case(user: Viewer, case: Case) -> bool:
    """The case owner, or a chair of the lead agency, shares and revokes."""
    access = case_access(user, case)
    if access is None or not access.is_lead:
        return False
    return bool(case.owner_id == user.pk or has_role(user, Role.CHAIR, case.lead_agency_id))


def can_revoke_share(user: Viewer, share: CaseShare) -> bool:
    return share.revoked_at is None and can_share_case(user, share.case)


def can_add_note(user: Viewer, case: Case) -> bool:
    """Practitioners and chairs who may see the case add notes, in their own agency's name."""
    return case_access(user, case) is not None


def note_agency_id(user: Viewer, case: Case) -> int | None:
    """The agency in whose name this user's note on the case is written (the agency they see it through)."""
    access = case_access(user, case)
    return None if access is None else access.agency_id


def can_chair_review(user: Viewer, case: Case) -> bool:
    """Chairs who may see the case run its reviews and record decisions."""
    access = case_access(user, case)
    return access is not None and has_role(user, Role.CHAIR, access.agency_id)


def can_record_decision(user: Viewer, case: Case) -> bool:
    return can_chair_review(user, case)


def can_disclose_case(user: Viewer, case: Case) -> bool:
    """The lead agency's case owner or chair records a disclosure to a third party."""
    return can_share_case(user, case)


def can_approve_disclosure(user: Viewer, case: Case) -> bool:
    """A chair of the lead agency approves a disclosure outside Convene."""
    access = case_access(user, case)
    return access is not None and access.is_lead and has_role(user, Role.CHAIR, case.lead_agency_id)


def can_view_disclosures(user: Viewer, case: Case) -> bool:
    """The disclosure log of a case is the lead agency's record."""
    access = case_access(user, case)
    return access is not None and access.is_lead


def can_erase_case(user: Viewer, case: Case) -> bool:
    return case.erased_at is None and (
        has_role(user, Role.DPO, case.lead_agency_id)
        or has_role(user, Role.AGENCY_ADMIN, case.lead_agency_id)
    )
