"""Roles to actions on one case: edit, share, note, chair, disclose, erase."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from agencies.models import Membership, Role, User
from cases.models import Action, Case
from core.categories import Category, Level
from sharing.models import CaseShare
from sharing.policy.cases import case_access
from sharing.policy.identity import CONTENT_ROLES, Viewer, content_agencies, has_role, memberships
from sharing.policy.querysets import cases_visible_to, cases_with_category_visible_to

if TYPE_CHECKING:
    from meetings.models import Meeting


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


# --- who may update, complete and reassign an action -----------------------------------------------
def _owner_agency_works_on_case_q() -> Q:
    """SQL form of "the action's agency leads its case or holds a live share of it"."""
    live = CaseShare.objects.live().filter(case_id=OuterRef("case_id"), agency_id=OuterRef("agency_id"))
    return Q(agency_id=F("case__lead_agency_id")) | Q(Exists(live))


def action_acting_agency_id(user: Viewer, action: Action) -> int | None:
    """The agency in whose name ``user`` updates and completes ``action``, or None if they may not.

    The lead agency's practitioners and chairs (as for every change to the case), and the
    practitioners and chairs of the agency the action is assigned to, while that agency works on the
    case (it leads it or holds a live share: a revoked share ends its hold on its actions).
    """
    access = case_access(user, action.case)
    if access is None:
        return None
    if access.is_lead:
        return action.case.lead_agency_id
    if action.agency_id in content_agencies(user) and action.agency_id in action_owner_agency_ids(
        action.case
    ):
        return action.agency_id
    return None


def can_update_action(user: Viewer, action: Action) -> bool:
    """Record progress on, change the status of and complete ``action``."""
    return action_acting_agency_id(user, action) is not None


def actions_updatable_by(user: Viewer, at: datetime | None = None) -> QuerySet[Action]:
    """The queryset form of ``can_update_action``."""
    mine = content_agencies(user)
    visible = cases_visible_to(user, at).values("pk")
    if not mine:
        return Action.objects.none()
    lead = Q(case__lead_agency_id__in=mine)
    owner = Q(agency_id__in=mine) & _owner_agency_works_on_case_q()
    return Action.objects.filter(case__in=visible).filter(lead | owner)


def _chaired_meetings(user: Viewer) -> QuerySet[Meeting]:
    from meetings.models import Meeting

    return Meeting.objects.filter(chair_id=user.pk)


def can_reassign_action(user: Viewer, action: Action) -> bool:
    """The lead agency, or the chair of the review that agreed the action (while they see the case),
    reassigns it; to whom is ``can_own_action``'s answer."""
    access = case_access(user, action.case)
    if access is None:
        return False
    if access.is_lead:
        return True
    return action.meeting is not None and _chaired_meetings(user).filter(pk=action.meeting).exists()


def actions_reassignable_by(user: Viewer, at: datetime | None = None) -> QuerySet[Action]:
    """The queryset form of ``can_reassign_action``."""
    mine = content_agencies(user)
    visible = cases_visible_to(user, at).values("pk")
    chaired = Q(meeting__in=_chaired_meetings(user).values("pk"))
    return Action.objects.filter(case__in=visible).filter(Q(case__lead_agency_id__in=mine) | chaired)


def agency_actions_due(user: Viewer, until: date, at: datetime | None = None) -> QuerySet[Action]:
    """Open actions assigned to the user's own agencies (practitioner or chair there) that are due by
    ``until`` or overdue, on cases where the user sees actions (C5) and the agency still works on
    the case: the dashboard's "your agency's actions" list."""
    from cases.choices import OPEN_ACTION_STATUSES

    mine = content_agencies(user)
    if not mine:
        return Action.objects.none()
    with_actions = cases_with_category_visible_to(user, Category.C5, Level.SUMMARY, at).values("pk")
    return Action.objects.filter(
        case__in=with_actions, agency_id__in=mine, status__in=OPEN_ACTION_STATUSES, due_on__lte=until
    ).filter(_owner_agency_works_on_case_q())


# --- disclosures: who approves one ----------------------------------------------------------------
def disclosure_approvers(case: Case) -> list[User]:
    """Who may approve a disclosure of the case: the lead agency's active chairs."""
    chairs = Membership.objects.active().filter(agency_id=case.lead_agency_id, role=Role.CHAIR)
    return list(User.objects.filter(pk__in=chairs.values("user_id"), is_active=True))
