"""Notifications (notifications/): who receives which notice, and what following one may open.

Audiences are (user id, agency id) pairs: the agency is the one the person receives the notice for.
Each audience is computed from the policy's other rules, so a notice never tells anyone of something they
could not already see.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from agencies.models import Membership, Role
from cases.models import Case
from sharing.models import BreakGlass, CaseShare, MatchNotice, SharingAgreement
from sharing.policy.agreements import can_view_agreement
from sharing.policy.audiences import user_ids_who_can_view
from sharing.policy.break_glass import can_review_break_glass
from sharing.policy.cases import can_view_case
from sharing.policy.identity import CONTENT_ROLES, Viewer, agency_ids
from sharing.policy.lifecycle import can_handle_sar, can_manage_retention
from sharing.policy.meetings import can_view_meeting
from sharing.policy.nominals import match_notices_visible_to

if TYPE_CHECKING:
    from meetings.models import Meeting
    from notifications.models import Notification

Audience = set[tuple[int, int]]


def _members(agency_ids_: Iterable[int], roles: Iterable[str]) -> Audience:
    rows = (
        Membership.objects.active()
        .filter(agency_id__in=list(agency_ids_), role__in=list(roles), user__is_active=True)
        .values_list("user_id", "agency_id")
    )
    return set(rows)


def case_shared_audience(share: CaseShare) -> Audience:
    """The receiving agency's practitioners and chairs who may now see the case."""
    viewers = user_ids_who_can_view(share.case)
    return {(u, a) for u, a in _members([share.agency_id], CONTENT_ROLES) if u in viewers}


def share_revoked_audience(share: CaseShare) -> Audience:
    """The agency that lost the share (told without the case's reference: they may no longer see it)."""
    return _members([share.agency_id], CONTENT_ROLES)


def case_viewers_audience(case: Case, user_ids: Iterable[int]) -> Audience:
    """Those of ``user_ids`` who may see the case now, with the agency they see it through."""
    viewers = user_ids_who_can_view(case) & set(user_ids)
    if not viewers:
        return set()
    shared = set(CaseShare.objects.live().filter(case_id=case.pk).values_list("agency_id", flat=True))
    agencies = {case.lead_agency_id, *shared}
    pairs = _members(agencies, CONTENT_ROLES)
    best: dict[int, int] = {}
    for user_id, agency_id in sorted(pairs, key=lambda p: (p[1] != case.lead_agency_id, p[1])):
        if user_id in viewers:
            best.setdefault(user_id, agency_id)
    return set(best.items())


def meeting_audience(
    meeting: Meeting, agency_id: int | None = None, user_ids: Iterable[int] | None = None
) -> Audience:
    """Named attendees who may open the meeting (optionally of one agency, or only these people)."""
    rows = meeting.attendees.filter(user__isnull=False)
    if agency_id is not None:
        rows = rows.filter(agency_id=agency_id)
    if user_ids is not None:
        rows = rows.filter(user_id__in=list(user_ids))
    active = set(
        Membership.objects.active()
        .values_list("user_id", "agency_id")
        .filter(user_id__in=rows.values("user_id"))
    )
    return {(u, a) for u, a in rows.values_list("user_id", "agency_id") if (u, a) in active}


def break_glass_audience(glass: BreakGlass) -> Audience:
    """The lead agency's chairs and auditors, who review break-glass use (can_review_break_glass)."""
    lead = Case.objects.filter(pk=glass.case_id).values_list("lead_agency_id", flat=True).get()
    return {(u, a) for u, a in _members([lead], [Role.CHAIR, Role.AUDITOR]) if u != glass.user_id}


def agreement_audience(agreement: SharingAgreement) -> Audience:
    """The agency admins of every party agency and of the drafting agency (can_manage_agreement)."""
    parties = set(agreement.parties.values_list("agency_id", flat=True)) | {agreement.drafted_by_agency_id}
    return _members(parties, [Role.AGENCY_ADMIN])


def dpo_audience(agency_ids_: Iterable[int]) -> Audience:
    """The data-protection officers of these agencies (retention, holds, subject access)."""
    return _members(agency_ids_, [Role.DPO])


def legal_hold_audience(case: Case) -> Audience:
    """DPOs of the lead agency and of every agency the case is shared with (can_set_legal_hold)."""
    shared = set(CaseShare.objects.live().filter(case_id=case.pk).values_list("agency_id", flat=True))
    return dpo_audience({case.lead_agency_id, *shared})


def match_notice_audience(notice: MatchNotice) -> Audience:
    """The chairs of the agency leading the matched case, who decide the notice (match_notices_visible_to)."""
    return _members([notice.holder_agency_id], [Role.CHAIR])


def notifications_visible_to(user: Viewer) -> QuerySet[Notification]:
    """A person's own notifications, for the agencies they still work for (nobody reads another's;
    a membership that ended takes its notices with it)."""
    from notifications.models import Notification

    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Notification.objects.none()
    return Notification.objects.filter(recipient_id=user.pk).filter(
        Q(agency__isnull=True) | Q(agency_id__in=agency_ids(user))
    )


def notification_target(user: Viewer, notification: Notification) -> str | None:
    """Where following the notification leads, asked again now; None if the user may not open it."""
    from django.urls import reverse

    from notifications.models import About

    about, pk = notification.about, notification.about_id
    if about == About.CASE:
        case = Case.objects.filter(pk=pk).first()
        return reverse("cases:detail", args=[case.pk]) if case and can_view_case(user, case) else None
    if about == About.MEETING:
        from meetings.models import Meeting

        meeting = Meeting.objects.filter(pk=pk).first()
        return (
            reverse("meetings:detail", args=[meeting.pk])
            if meeting and can_view_meeting(user, meeting)
            else None
        )
    if about == About.AGREEMENT:
        agreement = SharingAgreement.objects.filter(pk=pk).first()
        if agreement and can_view_agreement(user, agreement):
            return reverse("sharing:agreement-detail", args=[agreement.pk])
        return None
    if about == About.BREAK_GLASS:
        glass = BreakGlass.objects.filter(pk=pk).select_related("case").first()
        if glass and can_review_break_glass(user, glass):
            return reverse("sharing:break-glass-review", args=[glass.pk])
        return None
    if about == About.MATCH_NOTICE:
        notice = match_notices_visible_to(user).filter(pk=pk).first() if _is_uuid(pk) else None
        return reverse("sharing:match-notice", args=[notice.pk]) if notice else None
    if about == About.RETENTION:
        return reverse("lifecycle:queue") if pk.isdigit() and can_manage_retention(user, int(pk)) else None
    if about == About.LEGAL_HOLD:
        return reverse("lifecycle:holds") if pk.isdigit() and can_manage_retention(user, int(pk)) else None
    if about == About.SAR:
        from lifecycle.models import SubjectAccessRequest

        sar = SubjectAccessRequest.objects.filter(pk=pk).first() if _is_uuid(pk) else None
        return (
            reverse("lifecycle:sar", args=[sar.pk]) if sar and can_handle_sar(user, sar.agency_id) else None
        )
    return None


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(str(text))
    except ValueError:
        return False
    return True
