"""Roles to actions on one case: edit, share, note, chair, disclose, erase."""

from __future__ import annotations

from django.db.models import QuerySet

from agencies.models import Membership, Role, User
from cases.models import Case
from sharing.models import CaseShare
from sharing.policy.cases import case_access
from sharing.policy.identity import CONTENT_ROLES, Viewer, has_role, memberships


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


# --- opening a case (cases/views.py and cases/api/views.py ask) ---------------------------------
def case_opening_membership(user: Viewer) -> Membership | None:
    """The membership a user opens a case under (the lead agency): their first content role."""
    return next((m for m in memberships(user) if m.role in CONTENT_ROLES), None)


def can_open_case(user: Viewer) -> bool:
    """Practitioners and chairs open cases, for the agency they hold that role in."""
    return case_opening_membership(user) is not None


# --- who may own an action on a case --------------------------------------------------------------
def action_owner_agency_ids(case: Case) -> frozenset[int]:
    """The lead agency and every agency the case is shared with now (a live share)."""
    shared = CaseShare.objects.live().filter(case_id=case.pk).values_list("agency_id", flat=True)
    return frozenset({case.lead_agency_id, *shared})


def action_owners(case: Case) -> QuerySet[Membership]:
    """Active practitioner and chair memberships in the agencies working on the case now."""
    return (
        Membership.objects.active()
        .filter(agency_id__in=action_owner_agency_ids(case), role__in=CONTENT_ROLES)
        .select_related("user", "agency")
        .order_by("agency_id", "user_id", "pk")
    )


def can_own_action(user: User, agency_id: int, case: Case) -> bool:
    """May ``user`` own an action on ``case`` for ``agency_id``: a content role there, and the
    agency leads the case or holds a live share of it."""
    if agency_id not in action_owner_agency_ids(case):
        return False
    return (
        Membership.objects.active()
        .filter(user_id=user.pk, agency_id=agency_id, role__in=CONTENT_ROLES)
        .exists()
    )


def action_owner_membership(user: User, case: Case) -> Membership | None:
    """The membership an action assigned to ``user`` on ``case`` is owned under (None: not an owner)."""
    return action_owners(case).filter(user_id=user.pk).first()


# --- disclosures: who approves one ----------------------------------------------------------------
def disclosure_approvers(case: Case) -> list[User]:
    """Who may approve a disclosure of the case: the lead agency's active chairs."""
    chairs = Membership.objects.active().filter(agency_id=case.lead_agency_id, role=Role.CHAIR)
    return list(User.objects.filter(pk__in=chairs.values("user_id"), is_active=True))
