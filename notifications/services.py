"""Every change to notifications: make them (``do_notify`` and the ``notify_*`` hooks the domain
services call at their end, inside their transaction), read them, choose email. Sending email is
outbox.py's (its functions stay importable from here).

Audiences come from ``sharing.policy`` (its "notifications" section). Titles name only what the
recipient may already see: a case reference, a meeting title, an agreement reference. Each notice
made is audited as a disclosure of the fact it states (recipient, kind, object id); each email as a
disclosure of its count. Reading a notice is not a consultation of the case: opening the case is.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Final

from django.db import IntegrityError, transaction
from django.utils import timezone

from agencies.models import Membership, User
from audit.models import Op
from audit.services import record_event
from core.errors import DomainError
from core.events import NOTIFICATION_NEW, send_on_commit
from sharing import policy

from .kinds import default_mode
from .models import About, EmailMode, Kind, Notification, NotificationPreference
from .outbox import do_send_digests, do_send_email, do_send_pending_immediate, send_immediate_email

if TYPE_CHECKING:
    from cases.models import Action, Case
    from lifecycle.models import LegalHold
    from meetings.models import Attendee, Meeting
    from sharing.models import BreakGlass, CaseShare, MatchNotice, SharingAgreement

NEW_EVENT: Final = NOTIFICATION_NEW  # the declared live event (core.events): no content, no count
DUE_SOON_DAYS = 3
AGREEMENT_WARNING_DAYS = 30
SAR_DAYS = 30  # one calendar month, counted as 30 days (DPA 2018 s54, UK GDPR Art 12(3))
SAR_WARNING_DAYS = 7


# --- preferences ------------------------------------------------------------------------------
def roles_of(user_id: int) -> set[str]:
    return set(Membership.objects.active().filter(user_id=user_id).values_list("role", flat=True))


def email_modes_for(user_ids: Iterable[int], kind: str) -> dict[int, str]:
    """Each person's email mode for this kind: their own choice, else their roles' default (two queries)."""
    ids = set(user_ids)
    chosen = dict(
        NotificationPreference.objects.filter(user_id__in=ids, kind=kind).values_list("user_id", "email")
    )
    roles: dict[int, set[str]] = {user_id: set() for user_id in ids}
    if ids - set(chosen):
        for user_id, role in (
            Membership.objects.active().filter(user_id__in=ids - set(chosen)).values_list("user_id", "role")
        ):
            roles[user_id].add(role)
    return {
        user_id: str(chosen[user_id]) if user_id in chosen else default_mode(kind, roles[user_id])
        for user_id in ids
    }


def preferences_for(user: User) -> dict[str, str]:
    """Every kind's email mode for this person (their choice, or their roles' default)."""
    roles = roles_of(user.pk)
    chosen = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "email"))
    return {kind: chosen.get(kind, default_mode(kind, roles)) for kind in Kind.values}


@transaction.atomic
def do_set_preferences(*, user: User, choices: dict[str, str]) -> dict[str, str]:
    for kind, mode in choices.items():
        if kind not in Kind.values:
            raise DomainError("Unknown kind of notification.", field=kind)
        if mode not in EmailMode.values:
            raise DomainError("Choose immediately, daily digest or off.", field=kind)
    for kind, mode in choices.items():
        NotificationPreference.objects.update_or_create(user=user, kind=kind, defaults={"email": mode})
    if choices:
        record_event(
            Op.ALTER,
            actor=user,
            object_type="notifications.NotificationPreference",
            object_id=str(user.pk),
            detail={"change": "email preferences", "kinds": sorted(choices)},
        )
    return preferences_for(user)


# --- making notices ---------------------------------------------------------------------------
def do_notify(
    *,
    kind: str,
    audience: Iterable[tuple[int, int]],
    title: str,
    about: str = About.NOTHING,
    about_id: Any = "",
    case: Case | None = None,
    dedupe_key: str = "",
    exclude: Iterable[int | None] = (),
) -> list[Notification]:
    """Make one notice per recipient (once per ``dedupe_key`` and recipient), audit each, push a
    content-free nudge to each recipient's open pages, and queue the immediate emails."""
    skip = {u for u in exclude if u is not None}
    recipients = [(u, a) for u, a in sorted(set(audience)) if u not in skip]
    made: list[Notification] = []
    now = timezone.now()
    with transaction.atomic():
        ids = {u for u, _ in recipients}
        # what the loop needs about every recipient, in three queries whatever the audience's size
        already = (
            set(
                Notification.objects.filter(recipient_id__in=ids, dedupe_key=dedupe_key).values_list(
                    "recipient_id", flat=True
                )
            )
            if dedupe_key
            else set()
        )
        modes = email_modes_for(ids, kind)
        for user_id, agency_id in recipients:
            if user_id in already:
                continue
            mode = modes[user_id]
            try:
                with transaction.atomic():  # a racing run made the same keyed notice: keep theirs
                    notification = Notification.objects.create(
                        recipient_id=user_id,
                        agency_id=agency_id,
                        kind=kind,
                        title=title[:200],
                        about=about,
                        about_id=str(about_id or ""),
                        case=case,
                        dedupe_key=dedupe_key,
                        email_mode=mode,
                        created_at=now,
                    )
            except IntegrityError:
                continue
            record_event(
                Op.DISCLOSE,
                obj=notification,
                recipients=[f"user:{user_id}"],
                justification="notification",
                detail={"kind": kind, "about": about, "about_id": str(about_id or ""), "agency": agency_id},
            )
            send_on_commit(f"user.{user_id}", {"type": NEW_EVENT})
            if mode == EmailMode.IMMEDIATE:
                send_immediate_email.enqueue(user_id)
            made.append(notification)
    return made


def notify_case_shared(share: CaseShare) -> list[Notification]:
    return do_notify(
        kind=Kind.CASE_SHARED,
        audience=policy.case_shared_audience(share),
        title=f"Case {share.case.reference} was shared with {share.agency}",
        about=About.CASE,
        about_id=share.case_id,
        case=share.case,
        exclude=[share.shared_by_id],
    )


def notify_share_revoked(share: CaseShare) -> list[Notification]:
    # The agency no longer sees the case, so the notice does not name it.
    return do_notify(
        kind=Kind.SHARE_REVOKED,
        audience=policy.share_revoked_audience(share),
        title=f"A case shared with {share.agency} is no longer shared",
        exclude=[share.revoked_by_id],
    )


def notify_match_notice(notice: MatchNotice) -> list[Notification]:
    """A partner's referral matched the perpetrator of a case this agency leads: its chairs decide.
    Names the referring agency and the holder's own case reference, never who or what matched."""
    return do_notify(
        kind=Kind.MATCH_NOTICE,
        audience=policy.match_notice_audience(notice),
        title=f"A referral by {notice.referring_agency} may concern case {notice.case.reference}",
        about=About.MATCH_NOTICE,
        about_id=notice.pk,
        dedupe_key=f"match:{notice.pk}",
    )


def notify_meeting_invited(attendee: Attendee) -> list[Notification]:
    meeting = attendee.meeting
    if attendee.user_id is None:
        audience = policy.meeting_audience(meeting, agency_id=attendee.agency_id)
    else:
        audience = policy.meeting_audience(meeting, user_ids=[attendee.user_id])
    return do_notify(
        kind=Kind.MEETING_INVITED,
        audience=audience,
        title=f"You are invited to {meeting.title} on {timezone.localtime(meeting.scheduled_for):%d %b %Y}",
        about=About.MEETING,
        about_id=meeting.pk,
        dedupe_key=f"invited:{meeting.pk}",
        exclude=[meeting.chair_id],
    )


def notify_agenda_changed(meeting: Meeting, acting_user: User | None = None) -> list[Notification]:
    return do_notify(
        kind=Kind.AGENDA_CHANGED,
        audience=policy.meeting_audience(meeting),
        title=f"The agenda of {meeting.title} changed",
        about=About.MEETING,
        about_id=meeting.pk,
        dedupe_key=f"agenda:{meeting.pk}:{timezone.localdate().isoformat()}",  # at most one a day
        exclude=[getattr(acting_user, "pk", None)],
    )


def notify_minutes_ready(meeting: Meeting) -> list[Notification]:
    return do_notify(
        kind=Kind.MINUTES_READY,
        audience=policy.meeting_audience(meeting),
        title=f"The minutes of {meeting.title} are signed off",
        about=About.MEETING,
        about_id=meeting.pk,
        dedupe_key=f"minutes:{meeting.pk}",
        exclude=[meeting.signed_off_by_id],
    )


def _action_notice(
    action: Action, kind: str, title: str, user_ids: Iterable[int], key: str
) -> list[Notification]:
    case = action.case
    return do_notify(
        kind=kind,
        audience=policy.case_viewers_audience(case, user_ids),
        title=title,
        about=About.CASE,
        about_id=case.pk,
        case=case,
        dedupe_key=key,
    )


def notify_action_assigned(action: Action, acting_user: User | None = None) -> list[Notification]:
    if action.owner_id == getattr(acting_user, "pk", None):
        return []
    return _action_notice(
        action,
        Kind.ACTION_ASSIGNED,
        f"An action on case {action.case.reference} is yours, due {action.due_on:%d %b %Y}",
        [action.owner_id],
        f"assigned:{action.pk}:{action.owner_id}",
    )


def notify_action_overdue(action: Action, user_ids: Iterable[int]) -> list[Notification]:
    """Once per action and due date, however often the overdue sweep runs."""
    return _action_notice(
        action,
        Kind.ACTION_OVERDUE,
        f"An action on case {action.case.reference} was due {action.due_on:%d %b %Y}",
        user_ids,
        f"overdue:{action.pk}:{action.due_on.isoformat()}",
    )


def notify_break_glass(glass: BreakGlass) -> list[Notification]:
    case = glass.case
    return do_notify(
        kind=Kind.BREAK_GLASS,
        audience=policy.break_glass_audience(glass),
        title=f"Break-glass access to case {case.reference} awaits review",
        about=About.BREAK_GLASS,
        about_id=glass.pk,
        dedupe_key=f"glass:{glass.pk}",
    )


def notify_agreement_status(agreement: SharingAgreement) -> list[Notification]:
    """An agreement expired, suspended or terminated: the admins of every party are told."""
    if agreement.status not in ("expired", "suspended", "terminated"):
        return []
    return do_notify(
        kind=Kind.AGREEMENT_ENDED,
        audience=policy.agreement_audience(agreement),
        title=f"Agreement {agreement.reference} is {agreement.get_status_display().lower()}",
        about=About.AGREEMENT,
        about_id=agreement.pk,
        dedupe_key=f"agreement:{agreement.pk}:{agreement.status}:{agreement.version}",
    )


def notify_legal_hold(hold: LegalHold) -> list[Notification]:
    case = hold.case
    return do_notify(
        kind=Kind.LEGAL_HOLD,
        audience=policy.legal_hold_audience(case),
        title=f"A legal hold was placed on case {case.reference}",
        about=About.CASE,
        about_id=case.pk,
        case=case,
        dedupe_key=f"hold:{hold.pk}",
        exclude=[hold.set_by_id],
    )


# --- periodic notices (jobs in notifications/schedule.py) ----------------------------------------
def do_notify_actions_due_soon(*, today: date | None = None) -> int:
    """Owners of open actions due within three days, once per action and due date."""
    from cases.choices import ActionStatus
    from cases.models import Action

    today = today or timezone.localdate()
    actions = Action.objects.filter(
        status__in=[ActionStatus.OPEN, ActionStatus.IN_PROGRESS],
        due_on__gte=today,
        due_on__lte=today + timedelta(days=DUE_SOON_DAYS),
    ).select_related("case")
    made = 0
    for action in actions.filter(case__erased_at__isnull=True):
        made += len(
            _action_notice(
                action,
                Kind.ACTION_DUE_SOON,
                f"An action on case {action.case.reference} is due {action.due_on:%d %b %Y}",
                [action.owner_id],
                f"due_soon:{action.pk}:{action.due_on.isoformat()}",
            )
        )
    return made


def do_notify_agreements_expiring(*, today: date | None = None) -> int:
    from sharing.models import AgreementStatus, SharingAgreement

    today = today or timezone.localdate()
    due = SharingAgreement.objects.filter(
        status=AgreementStatus.ACTIVE,
        ends_on__gte=today,
        ends_on__lte=today + timedelta(days=AGREEMENT_WARNING_DAYS),
    )
    made = 0
    for agreement in due:
        made += len(
            do_notify(
                kind=Kind.AGREEMENT_EXPIRING,
                audience=policy.agreement_audience(agreement),
                title=f"Agreement {agreement.reference} ends on {agreement.ends_on:%d %b %Y}",
                about=About.AGREEMENT,
                about_id=agreement.pk,
                dedupe_key=f"expiring:{agreement.pk}:{agreement.ends_on}",
            )
        )
    return made


def do_notify_lifecycle(*, today: date | None = None) -> int:
    """DPOs: retention reviews due (once a week per agency) and SARs near their deadline."""
    from agencies.models import Agency
    from lifecycle.models import SarStatus, SubjectAccessRequest
    from lifecycle.retention import review_queue

    today = today or timezone.localdate()
    made = 0
    week = today.isocalendar()
    for agency in Agency.objects.filter(is_active=True):
        due = review_queue(agency, today)
        if not due:
            continue
        made += len(
            do_notify(
                kind=Kind.RETENTION_DUE,
                audience=policy.dpo_audience([agency.pk]),
                title=f"{len(due)} retention review(s) due for {agency}",
                about=About.RETENTION,
                about_id=agency.pk,
                dedupe_key=f"retention:{agency.pk}:{week.year}-W{week.week}",
            )
        )
    horizon = timezone.now() - timedelta(days=SAR_DAYS - SAR_WARNING_DAYS)
    for sar in SubjectAccessRequest.objects.filter(status=SarStatus.OPEN, requested_at__lte=horizon):
        deadline = timezone.localdate(sar.requested_at) + timedelta(days=SAR_DAYS)
        made += len(
            do_notify(
                kind=Kind.SAR_DEADLINE,
                audience=policy.dpo_audience([sar.agency_id]),
                title=f"Subject access request {sar.reference} is due by {deadline:%d %b %Y}",
                about=About.SAR,
                about_id=sar.pk,
                dedupe_key=f"sar:{sar.pk}",
            )
        )
    return made


# --- reading ----------------------------------------------------------------------------------
@transaction.atomic
def do_mark_read(*, notification: Notification, acting_user: User) -> Notification:
    """Mark one of the person's own notices read (not a consultation of the case)."""
    if notification.recipient_id != acting_user.pk:
        raise DomainError("Not found.")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
        send_on_commit(f"user.{acting_user.pk}", {"type": NEW_EVENT})
    return notification


@transaction.atomic
def do_mark_all_read(*, acting_user: User) -> int:
    count = (
        policy.notifications_visible_to(acting_user)
        .filter(read_at__isnull=True)
        .update(read_at=timezone.now())
    )
    if count:
        send_on_commit(f"user.{acting_user.pk}", {"type": NEW_EVENT})
    return count


def unread_count(user: User) -> int:
    return policy.notifications_visible_to(user).filter(read_at__isnull=True).count()


# sending email lives in outbox.py (with the task that sends it), so that the task module does not
# import this one back; these names stay importable from here
__all__ = ["do_send_digests", "do_send_email", "do_send_pending_immediate"]
