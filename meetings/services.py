"""Every change to a meeting: validate, write, audit in the same transaction, broadcast on commit.

``do_*`` functions do no permission checks: views ask ``sharing.policy`` (``can_chair_meeting``,
``can_view_meeting``) first. Broadcasts carry ids, versions and a kind only; attendees' pages
re-fetch through the permission-checked views. Changes to the case itself (MAPPA level, next
review, plan, actions) go through ``cases.services``; this module never writes a case row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from agencies.models import Agency, Membership, Role, User
from audit.models import Op
from audit.services import consult, record_event
from cases import choices as cc
from cases import services as case_services
from cases.models import Action, Case
from core.errors import DomainError, check_version
from core.events import MeetingChanged, send_on_commit
from notifications import services as notifications
from sharing import policy

from .models import (
    Addendum,
    AgendaItem,
    AgendaReason,
    Attendance,
    Attendee,
    AttendeeRole,
    Decision,
    DecisionKind,
    Dissent,
    ItemStatus,
    Meeting,
    MeetingStatus,
    MinuteEntry,
)

MAX_TEXT = 20000
REASON_PRIORITY = (
    AgendaReason.CARRIED_FORWARD,
    AgendaReason.OVERDUE_ACTIONS,
    AgendaReason.DUE_FOR_REVIEW,
    AgendaReason.NEW_REFERRAL,
)


# --- plumbing -------------------------------------------------------------------------------
def broadcast(
    meeting: Meeting, kind: str, *, item: AgendaItem | None = None, version: int | None = None
) -> None:
    """Tell the meeting room (ids, version and kind only) once the transaction commits."""
    payload: MeetingChanged = {
        "type": "meeting.changed",
        "meeting_id": str(meeting.pk),
        "version": meeting.version if version is None else version,
        "kind": kind,
    }
    if item is not None:
        payload["item_id"] = str(item.pk)
        payload["case_id"] = str(item.case_id)
    send_on_commit(f"meeting.{meeting.pk}", payload)


def _lock_meeting(meeting: Meeting) -> None:
    """Serialise writers of one meeting and refresh the fields that may have changed."""
    row = (
        Meeting.objects.select_for_update()
        .filter(pk=meeting.pk)
        .values("version", "status", "current_item_id")
        .get()
    )
    meeting.version = row["version"]
    meeting.status = row["status"]
    meeting.current_item_id = row["current_item_id"]


def _bump(meeting: Meeting, **changes: Any) -> None:
    for name, value in changes.items():
        setattr(meeting, name, value)
    meeting.version += 1
    meeting.save(update_fields=[*changes, "version"])


def _change_meeting(
    meeting: Meeting,
    *,
    acting_user: User,
    op: str,
    kind: str,
    changes: dict[str, Any] | None = None,
    obj: Any = None,
    item: AgendaItem | None = None,
    room_item: AgendaItem | None = None,
    **detail: Any,
) -> None:
    """The tail of a change to a meeting: save it with its version raised (and ``changes``), write
    the audit row (about ``obj`` or the meeting, on ``item``'s case), tell the room on commit (naming
    ``room_item``, else ``item``)."""
    _bump(meeting, **(changes or {}))
    _audit(op, meeting=meeting, acting_user=acting_user, obj=obj, item=item, **detail)
    broadcast(meeting, kind, item=room_item if room_item is not None else item)


def _text(value: str | None, field: str, message: str, *, required: bool = True) -> str | None:
    if value is None or not str(value).strip():
        if required:
            raise DomainError(message, field=field)
        return None
    if len(value) > MAX_TEXT:
        raise DomainError(f"At most {MAX_TEXT:,} characters.", field=field)
    return str(value).strip()


def _not_signed_off(meeting: Meeting, field: str = "body") -> None:
    if meeting.status == MeetingStatus.SIGNED_OFF:
        raise DomainError(
            "The minutes are signed off and locked. Record a correction as an addendum.", field=field
        )


def _audit(
    op: str,
    *,
    meeting: Meeting,
    acting_user: User,
    obj: Any = None,
    item: AgendaItem | None = None,
    categories: Iterable[str] = (),
    **detail: Any,
) -> None:
    record_event(
        op,
        actor=acting_user,
        agency=meeting.chair_agency if acting_user == meeting.chair else _acting_agency(meeting, acting_user),
        obj=obj if obj is not None else meeting,
        case_id=item.case_id if item is not None else None,
        categories=categories,
        detail={"meeting": str(meeting.pk), **detail},
    )


def _acting_agency(meeting: Meeting, user: User) -> Agency | None:
    attendee = meeting.attendees.filter(user_id=getattr(user, "pk", None)).select_related("agency").first()  # type: ignore[misc]
    if attendee is not None:
        return attendee.agency
    membership = policy.primary_membership(user)
    return membership.agency if membership else None


# --- scheduling -----------------------------------------------------------------------------
def check_meeting_link(value: str | None) -> str:
    """A virtual meeting link people can safely open: an https URL with a host (http too, but only
    with DEBUG on, for a local development server). No other scheme (``javascript:``, ``data:``…), no
    credentials in it, no spaces or control characters. Empty means no link."""
    link = (value or "").strip()
    if not link:
        return ""
    allowed = ("https", "http") if settings.DEBUG else ("https",)
    message = "Give the meeting link as an https:// address."
    if len(link) > 500:
        raise DomainError("The meeting link is at most 500 characters.", field="virtual_link")
    if any(ch.isspace() or not ch.isprintable() for ch in link):
        raise DomainError(message, field="virtual_link")
    try:
        parts = urlsplit(link)
        host = parts.hostname
    except ValueError as exc:
        raise DomainError(message, field="virtual_link") from exc
    if parts.scheme.lower() not in allowed or not host or "@" in parts.netloc:
        raise DomainError(message, field="virtual_link")
    return link


@transaction.atomic
def do_schedule_meeting(
    *,
    forum: str,
    title: str,
    scheduled_for: datetime,
    chair: User,
    chair_agency: Agency,
    acting_user: User,
    location: str = "",
    virtual_link: str = "",
) -> Meeting:
    if forum not in cc.Forum.values:
        raise DomainError("Choose the forum: MAPPA meeting or stalking clinic panel.", field="forum")
    title = _text(title, "title", "Give the meeting a title.") or ""
    if len(title) > 200:
        raise DomainError("At most 200 characters.", field="title")
    if scheduled_for is None:
        raise DomainError("Give the date and time of the meeting.", field="scheduled_for")
    virtual_link = check_meeting_link(virtual_link)
    if not Membership.objects.active().filter(user=chair, agency=chair_agency, role=Role.CHAIR).exists():
        raise DomainError("The chair must hold the chair role in the chairing agency.", field="chair")
    meeting = Meeting.objects.create(
        forum=forum,
        title=title,
        scheduled_for=scheduled_for,
        location=(location or "")[:200],
        virtual_link=virtual_link,
        chair=chair,
        chair_agency=chair_agency,
        created_by=acting_user,
    )
    Attendee.objects.create(meeting=meeting, user=chair, agency=chair_agency, role=AttendeeRole.CHAIR)
    _audit(Op.COLLECT, meeting=meeting, acting_user=acting_user, scheduled=True)
    broadcast(meeting, "scheduled")
    return meeting


# --- agenda ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Proposal:
    case: Case
    reason: str


def _open_actions() -> Any:
    return Action.objects.filter(status__in=cc.OPEN_ACTION_STATUSES)


def propose_agenda(meeting: Meeting) -> list[Proposal]:
    """Cases the chair may see, in this forum, that need this meeting.

    A case is proposed when it is due for review by the meeting date, has overdue actions, has
    open actions agreed at an earlier review (carried forward), or is a new referral.
    """
    on = timezone.localdate(meeting.scheduled_for)
    open_actions = _open_actions().filter(case_id=OuterRef("pk"))
    cases = (
        policy.cases_visible_to(meeting.chair)
        .filter(forum=meeting.forum)
        .exclude(status=cc.CaseStatus.CLOSED)
        .annotate(
            carried=Exists(open_actions.filter(meeting__isnull=False).exclude(meeting=meeting.pk)),
            overdue=Exists(open_actions.filter(due_on__lt=on)),
        )
        .filter(
            Q(next_review_on__lte=on) | Q(carried=True) | Q(overdue=True) | Q(status=cc.CaseStatus.REFERRED)
        )
        .select_related("nominal")
        .order_by("next_review_on", "created_at")
    )
    proposals = []
    for case in cases:
        reasons = set()
        if case.carried:
            reasons.add(AgendaReason.CARRIED_FORWARD)
        if case.overdue:
            reasons.add(AgendaReason.OVERDUE_ACTIONS)
        if case.next_review_on is not None and case.next_review_on <= on:
            reasons.add(AgendaReason.DUE_FOR_REVIEW)
        if case.status == cc.CaseStatus.REFERRED:
            reasons.add(AgendaReason.NEW_REFERRAL)
        reason = next(r for r in REASON_PRIORITY if r in reasons)
        proposals.append(Proposal(case, reason))
    return proposals


def _next_order(meeting: Meeting) -> int:
    last = meeting.items.order_by("-order").values_list("order", flat=True).first()
    return (last or 0) + 1


@transaction.atomic
def do_propose_agenda(*, meeting: Meeting, acting_user: User) -> list[AgendaItem]:
    """Add every proposed case not already on the agenda; returns the items added."""
    _lock_meeting(meeting)
    _not_signed_off(meeting, "agenda")
    present = set(meeting.items.values_list("case_id", flat=True))
    order = _next_order(meeting)
    added = []
    for proposal in propose_agenda(meeting):
        if proposal.case.pk in present:
            continue
        added.append(
            AgendaItem.objects.create(
                meeting=meeting, case=proposal.case, order=order, reason=proposal.reason
            )
        )
        order += 1
    if added:
        _bump(meeting)
        for item in added:
            _audit(
                Op.COLLECT, meeting=meeting, acting_user=acting_user, obj=item, item=item, reason=item.reason
            )
        broadcast(meeting, "agenda")
    return added


@transaction.atomic
def do_add_agenda_item(
    *, meeting: Meeting, case: Case, acting_user: User, reason: str = AgendaReason.ADDED_BY_CHAIR
) -> AgendaItem:
    _lock_meeting(meeting)
    _not_signed_off(meeting, "case")
    if reason not in AgendaReason.values:
        raise DomainError("Choose why the case is on the agenda.", field="reason")
    if meeting.items.filter(case=case).exists():
        raise DomainError("This case is already on the agenda.", field="case")
    item = AgendaItem.objects.create(meeting=meeting, case=case, order=_next_order(meeting), reason=reason)
    _change_meeting(
        meeting, acting_user=acting_user, op=Op.COLLECT, kind="agenda", obj=item, item=item, reason=reason
    )
    notifications.notify_agenda_changed(meeting, acting_user)
    return item


@transaction.atomic
def do_remove_agenda_item(*, item: AgendaItem, version: int | None, acting_user: User) -> None:
    meeting = item.meeting
    _lock_meeting(meeting)
    check_version(meeting.version, version, "meeting")
    _not_signed_off(meeting, "agenda")
    if item.decisions.exists() or MinuteEntry.objects.filter(item=item).exists():
        raise DomainError("This item has minutes or decisions; it cannot be removed.", field="agenda")
    if meeting.current_item_id == item.pk:
        meeting.current_item = None
        _bump(meeting, current_item=None)
    else:
        _bump(meeting)
    _audit(Op.ALTER, meeting=meeting, acting_user=acting_user, obj=item, item=item, removed=True)
    item_id, case_id = str(item.pk), str(item.case_id)
    item.delete()
    send_on_commit(
        f"meeting.{meeting.pk}",
        {
            "type": "meeting.changed",
            "meeting_id": str(meeting.pk),
            "item_id": item_id,
            "case_id": case_id,
            "version": meeting.version,
            "kind": "agenda",
        },
    )
    notifications.notify_agenda_changed(meeting, acting_user)


@transaction.atomic
def do_reorder_agenda(
    *, meeting: Meeting, item_ids: Sequence[Any], version: int | None, acting_user: User
) -> Meeting:
    _lock_meeting(meeting)
    check_version(meeting.version, version, "meeting")
    _not_signed_off(meeting, "agenda")
    items = {str(i.pk): i for i in meeting.items.all()}
    wanted = [str(i) for i in item_ids]
    if sorted(wanted) != sorted(items):
        raise DomainError("List every agenda item exactly once.", field="agenda")
    for number, pk in enumerate(wanted, start=1):
        AgendaItem.objects.filter(pk=pk).update(order=number)
    _change_meeting(meeting, acting_user=acting_user, op=Op.ALTER, kind="agenda", reordered=True)
    return meeting


# --- attendees ------------------------------------------------------------------------------
@transaction.atomic
def do_invite(
    *,
    meeting: Meeting,
    agency: Agency,
    acting_user: User,
    user: User | None = None,
    role: str = AttendeeRole.MEMBER,
) -> Attendee:
    """Invite an agency (no ``user``) or a named person attending for an agency. Idempotent."""
    _not_signed_off(meeting, "agency")
    if role not in AttendeeRole.values or role == AttendeeRole.CHAIR:
        raise DomainError("Choose the attendee's role.", field="role")
    if user is not None and not Membership.objects.active().filter(user=user, agency=agency).exists():
        raise DomainError("The person must be an active member of the agency they attend for.", field="user")
    existing = meeting.attendees.filter(
        Q(user=user) if user is not None else Q(user__isnull=True, agency=agency)
    ).first()
    if existing is not None:
        return existing
    attendee = Attendee.objects.create(meeting=meeting, user=user, agency=agency, role=role)
    _audit(Op.ALTER, meeting=meeting, acting_user=acting_user, obj=attendee, invited=True)
    broadcast(meeting, "attendance", version=attendee.version)
    if user is not None:
        send_on_commit(f"user.{user.pk}", {"type": "meeting.invited", "meeting_id": str(meeting.pk)})
    notifications.notify_meeting_invited(attendee)
    return attendee


@transaction.atomic
def do_mark_attendance(
    *, attendee: Attendee, attendance: str, acting_user: User, version: int | None = None
) -> Attendee:
    if attendance not in Attendance.values:
        raise DomainError("Choose present, apologies or invited.", field="attendance")
    current = (
        Attendee.objects.select_for_update().filter(pk=attendee.pk).values_list("version", flat=True).get()
    )
    if version is not None:
        check_version(current, version, "attendance record")
    meeting = attendee.meeting
    _not_signed_off(meeting, "attendance")
    attendee.attendance = attendance
    attendee.version = current + 1
    attendee.save(update_fields=["attendance", "version"])
    _audit(Op.ALTER, meeting=meeting, acting_user=acting_user, obj=attendee, attendance=attendance)
    broadcast(meeting, "attendance", version=attendee.version)
    return attendee


@transaction.atomic
def do_acknowledge_confidentiality(*, attendee: Attendee, acting_user: User) -> Attendee:
    """The attendee confirms the confidentiality statement (MAPPA D) before seeing any item."""
    if attendee.acknowledged_confidentiality_at is None:
        attendee.acknowledged_confidentiality_at = timezone.now()
        attendee.version += 1
        attendee.save(update_fields=["acknowledged_confidentiality_at", "version"])
        _audit(Op.ALTER, meeting=attendee.meeting, acting_user=acting_user, obj=attendee, acknowledged=True)
        broadcast(attendee.meeting, "attendance", version=attendee.version)
    return attendee


@transaction.atomic
def do_exclude_agency(
    *, item: AgendaItem, agency: Agency, acting_user: User, exclude: bool = True, version: int | None = None
) -> AgendaItem:
    """Exclude an agency from one item (or re-admit it); its open sockets re-check at once."""
    current = (
        AgendaItem.objects.select_for_update().filter(pk=item.pk).values_list("version", flat=True).get()
    )
    if version is not None:
        check_version(current, version, "agenda item")
    if exclude and agency.pk == item.meeting.chair_agency_id:
        raise DomainError("The chairing agency cannot be excluded.", field="agency")
    if exclude:
        item.excluded_agencies.add(agency)
    else:
        item.excluded_agencies.remove(agency)
    item.version = current + 1
    item.save(update_fields=["version"])
    meeting = item.meeting
    _audit(
        Op.ALTER,
        meeting=meeting,
        acting_user=acting_user,
        obj=item,
        item=item,
        excluded_agency=agency.pk,
        excluded=exclude,
    )
    send_on_commit(f"agency.{agency.pk}", {"type": "authz.changed"})
    broadcast(meeting, "exclusion", item=item, version=item.version)
    return item


# --- running the meeting --------------------------------------------------------------------
@transaction.atomic
def do_start_meeting(*, meeting: Meeting, version: int | None, acting_user: User) -> Meeting:
    _lock_meeting(meeting)
    check_version(meeting.version, version, "meeting")
    if meeting.status != MeetingStatus.SCHEDULED:
        raise DomainError("Only a scheduled meeting can be started.", field="status")
    first = meeting.items.order_by("order").first()
    _change_meeting(
        meeting,
        acting_user=acting_user,
        op=Op.ALTER,
        kind="started",
        changes={"status": MeetingStatus.IN_PROGRESS, "started_at": timezone.now(), "current_item": first},
        room_item=first,
        status=MeetingStatus.IN_PROGRESS,
    )
    return meeting


@transaction.atomic
def do_move_to_item(*, meeting: Meeting, item: AgendaItem, version: int | None, acting_user: User) -> Meeting:
    """The chair moves the room to an agenda item; every attendee's page follows."""
    _lock_meeting(meeting)
    check_version(meeting.version, version, "meeting")
    if meeting.status != MeetingStatus.IN_PROGRESS:
        raise DomainError("Start the meeting before moving through the agenda.", field="item")
    if item.meeting_id != meeting.pk:
        raise DomainError("That item is not on this meeting's agenda.", field="item")
    previous = meeting.current_item_id
    if previous and previous != item.pk:
        AgendaItem.objects.filter(pk=previous, status=ItemStatus.PENDING).update(status=ItemStatus.DISCUSSED)
    _change_meeting(
        meeting,
        acting_user=acting_user,
        op=Op.ALTER,
        kind="current_item",
        changes={"current_item": item},
        obj=meeting,
        item=item,
        current_item=str(item.pk),
    )
    return meeting


def _item_for_writing(item: AgendaItem) -> Meeting:
    meeting = item.meeting
    _lock_meeting(meeting)
    _not_signed_off(meeting)
    if meeting.status != MeetingStatus.IN_PROGRESS:
        raise DomainError("Start the meeting before recording its minutes.", field="body")
    return meeting


@transaction.atomic
def do_record_minutes(
    *,
    item: AgendaItem,
    body: str | None,
    acting_user: User,
    version: int | None,
    victim_safety_minutes: str | None = None,
    executive_summary: str | None = None,
) -> MinuteEntry:
    """Write an item's minutes. ``version`` is the minutes version edited (0 when none existed)."""
    meeting = _item_for_writing(item)
    body = _text(body, "body", "Write the minutes of this item.")
    victim = _text(victim_safety_minutes, "victim_safety_minutes", "", required=False)
    summary = _text(executive_summary, "executive_summary", "", required=False)
    entry = MinuteEntry.objects.select_for_update().filter(item=item).first()
    if entry is None:
        check_version(0, version, "minutes")
        entry = MinuteEntry(
            item=item,
            owner_agency=meeting.chair_agency,
            created_by=acting_user,
            updated_by=acting_user,
        )
        op = Op.COLLECT
    else:
        check_version(entry.version, version, "minutes", changed_by=entry.updated_by.get_username())
        entry.version += 1
        entry.updated_by = acting_user
        op = Op.ALTER
    entry.item = item
    entry.body = body
    entry.victim_safety_minutes = victim
    entry.executive_summary = summary
    entry.save()
    categories = ["C10", "C7"] if victim else ["C10"]
    _audit(op, meeting=meeting, acting_user=acting_user, obj=entry, item=item, categories=categories)
    broadcast(meeting, "minutes", item=item, version=entry.version)
    return entry


def _case_agency(meeting: Meeting) -> Agency:
    return meeting.chair_agency


@transaction.atomic
def do_record_decision(
    *,
    item: AgendaItem,
    text: str,
    acting_user: User,
    kind: str = DecisionKind.GENERAL,
    rationale: str | None = None,
    to_level: int | None = None,
    review_on: date | None = None,
    plan_items: Any = None,
    plan_base_number: int | None = None,
    plan_contingency: str | None = None,
) -> Decision:
    """Record a decision and apply it to the case through cases.services.

    A level change sets the case's MAPPA level; a review date sets its next review; an RMP change
    writes a new plan version (refused as a conflict if the plan changed since ``plan_base_number``).
    """
    meeting = _item_for_writing(item)
    if kind not in DecisionKind.values:
        raise DomainError("Choose the kind of decision.", field="kind")
    text = _text(text, "text", "Write the decision.") or ""
    rationale = _text(rationale, "rationale", "Give the rationale for the decision.", required=True)
    case = Case.objects.get(pk=item.case_id)
    decision = Decision(
        item=item,
        kind=kind,
        owner_agency=meeting.chair_agency,
        created_by=acting_user,
        text=text,
        rationale=rationale,
    )
    agency = _case_agency(meeting)
    if kind == DecisionKind.LEVEL_CHANGE:
        if to_level not in cc.MappaLevel.values:
            raise DomainError("Choose the new MAPPA level.", field="to_level")
        if to_level == case.mappa_level:
            raise DomainError("The case is already at that level.", field="to_level")
        decision.from_level, decision.to_level = case.mappa_level, to_level
        case_services.do_update_case(
            case=case,
            version=case.version,
            agency=agency,
            acting_user=acting_user,
            changes={"mappa_level": to_level},
        )
    elif kind == DecisionKind.REVIEW_DATE:
        if review_on is None:
            raise DomainError("Give the next review date.", field="review_on")
        if review_on <= timezone.localdate(meeting.scheduled_for):
            raise DomainError("The next review must be after this meeting.", field="review_on")
        decision.review_on = review_on
        case_services.do_update_case(
            case=case,
            version=case.version,
            agency=agency,
            acting_user=acting_user,
            changes={"next_review_on": review_on},
        )
    elif kind == DecisionKind.RMP_CHANGE:
        plan = case_services.do_save_plan(
            case=case,
            base_number=plan_base_number,
            agency=agency,
            acting_user=acting_user,
            items=plan_items,
            contingency=plan_contingency,
            change_summary=f"Agreed at {meeting.title}"[:200],
            agreed_at_meeting=meeting.pk,
        )
        decision.plan_number = plan.number
    decision.save()
    _audit(
        Op.COLLECT,
        meeting=meeting,
        acting_user=acting_user,
        obj=decision,
        item=item,
        categories=["C10"],
        kind=kind,
    )
    broadcast(meeting, "decision", item=item)
    return decision


@transaction.atomic
def do_record_dissent(
    *, decision: Decision, name: str, agency: Agency, view: str, acting_user: User
) -> Dissent:
    """Record a differing view on a decision, by name and agency (MAPPA C: record dissent)."""
    item = decision.item
    meeting = _item_for_writing(item)
    name = _text(name, "name", "Give the name of the person who disagrees.") or ""
    view = _text(view, "view", "Record the differing view.") or ""
    if len(name) > 200:
        raise DomainError("At most 200 characters.", field="name")
    dissent = Dissent(
        decision=decision,
        agency=agency,
        owner_agency=meeting.chair_agency,
        created_by=acting_user,
        name=name,
        view=view,
    )
    dissent.save()
    _audit(Op.COLLECT, meeting=meeting, acting_user=acting_user, obj=dissent, item=item, categories=["C10"])
    broadcast(meeting, "dissent", item=item)
    return dissent


@transaction.atomic
def do_add_meeting_action(
    *,
    item: AgendaItem,
    pillar: str,
    text: str,
    owner: User | None,
    action_agency: Agency,
    due_on: date,
    acting_user: User,
) -> Action:
    """An action agreed at the meeting: a case action (cases.services) carrying the meeting's id."""
    meeting = _item_for_writing(item)
    case = Case.objects.get(pk=item.case_id)
    action = case_services.do_add_action(
        case=case,
        agency=_case_agency(meeting),
        acting_user=acting_user,
        pillar=pillar,
        text=text,
        owner=owner,
        action_agency=action_agency,
        due_on=due_on,
        meeting=meeting.pk,
    )
    _audit(Op.ALTER, meeting=meeting, acting_user=acting_user, obj=item, item=item, action=str(action.pk))
    broadcast(meeting, "action", item=item)
    return action


def carried_forward_actions(item: AgendaItem) -> list[Action]:
    """Open actions on the item's case agreed at earlier reviews (shown on this item)."""
    return list(
        _open_actions()
        .filter(case_id=item.case_id, meeting__isnull=False)
        .exclude(meeting=item.meeting_id)
        .select_related("owner", "agency")
    )


def _carry_forward(meeting: Meeting, acting_user: User) -> list[AgendaItem]:
    """Put each case with open actions onto the forum's next scheduled review, if one exists."""
    cases = list(
        Case.objects.filter(pk__in=meeting.items.values("case_id")).filter(
            Exists(_open_actions().filter(case_id=OuterRef("pk")))
        )
    )
    added = []
    for case in cases:
        upcoming = (
            Meeting.objects.filter(
                forum=meeting.forum,
                chair_agency=meeting.chair_agency,
                status=MeetingStatus.SCHEDULED,
                scheduled_for__gt=meeting.scheduled_for,
            )
            .exclude(pk=meeting.pk)
            .order_by("scheduled_for")
            .first()
        )
        if upcoming is None or upcoming.items.filter(case=case).exists():
            continue
        item = AgendaItem.objects.create(
            meeting=upcoming, case=case, order=_next_order(upcoming), reason=AgendaReason.CARRIED_FORWARD
        )
        Meeting.objects.filter(pk=upcoming.pk).update(version=upcoming.version + 1)
        upcoming.version += 1
        _audit(Op.COLLECT, meeting=upcoming, acting_user=acting_user, obj=item, item=item, reason=item.reason)
        broadcast(upcoming, "agenda", item=item)
        added.append(item)
    return added


@transaction.atomic
def do_sign_off(*, meeting: Meeting, version: int | None, acting_user: User) -> Meeting:
    """The chair signs the minutes off: they are locked; corrections become addenda.

    Cases with actions still open are carried forward to the forum's next scheduled review.
    """
    _lock_meeting(meeting)
    check_version(meeting.version, version, "meeting")
    if meeting.status != MeetingStatus.IN_PROGRESS:
        raise DomainError("Only a meeting in progress can be signed off.", field="status")
    meeting.items.filter(status=ItemStatus.PENDING).update(status=ItemStatus.DISCUSSED)
    _change_meeting(
        meeting,
        acting_user=acting_user,
        op=Op.ALTER,
        kind="signed_off",
        changes={
            "status": MeetingStatus.SIGNED_OFF,
            "signed_off_at": timezone.now(),
            "signed_off_by": acting_user,
        },
        status=MeetingStatus.SIGNED_OFF,
    )
    _carry_forward(meeting, acting_user)
    notifications.notify_minutes_ready(meeting)
    return meeting


@transaction.atomic
def do_add_addendum(*, item: AgendaItem, text: str, acting_user: User, category: str = "C10") -> Addendum:
    """A correction to signed-off minutes. Victim-location corrections go in category C7."""
    meeting = item.meeting
    _lock_meeting(meeting)
    if meeting.status != MeetingStatus.SIGNED_OFF:
        raise DomainError("Addenda are for signed-off minutes; edit the minutes instead.", field="text")
    if category not in ("C10", "C7"):
        raise DomainError("Choose minutes or victim safety.", field="category")
    text = _text(text, "text", "Write the correction.") or ""
    addendum = Addendum(
        item=item, category=category, owner_agency=meeting.chair_agency, created_by=acting_user, text=text
    )
    addendum.save()
    _audit(
        Op.COLLECT, meeting=meeting, acting_user=acting_user, obj=addendum, item=item, categories=[category]
    )
    broadcast(meeting, "addendum", item=item)
    return addendum


# --- overdue actions ------------------------------------------------------------------------
@transaction.atomic
def do_notify_overdue_actions(*, today: date | None = None, acting_user: User | None = None) -> int:
    """Tell each overdue action's owner and the chair of the review that set it (ids only).

    Returns the number of actions notified. Each notification is audited with its recipients.
    """
    today = today or timezone.localdate()
    actions = list(_open_actions().filter(due_on__lt=today).select_related("owner", "case"))
    meeting_ids = {a.meeting for a in actions if a.meeting}
    chairs = dict(Meeting.objects.filter(pk__in=meeting_ids).values_list("pk", "chair_id"))
    from agencies.models import User

    names = dict(
        User.objects.filter(pk__in={a.owner_id for a in actions} | set(chairs.values())).values_list(
            "pk", "username"
        )
    )
    for action in actions:
        recipients = {action.owner_id}
        if action.meeting and action.meeting in chairs:
            recipients.add(chairs[action.meeting])
        consult(
            acting_user,
            action,
            "overdue action notification",
            agency=None,
            case_id=action.case_id,
            categories=["C5"],
            recipients=sorted(names.get(r, str(r)) for r in recipients),
            detail={"event": "action.overdue"},
        )
        notifications.notify_action_overdue(action, recipients)  # once per action and due date
        for user_id in sorted(recipients):
            send_on_commit(
                f"user.{user_id}",
                {
                    "type": "action.overdue",
                    "case_id": str(action.case_id),
                    "object_id": str(action.pk),
                    "meeting_id": str(action.meeting) if action.meeting else None,
                    "version": action.version,
                },
            )
    return len(actions)


def next_review_default(meeting: Meeting, case: Case) -> date:
    """A suggestion for the next review: 16 weeks at level 2, 8 at level 3 (configurable later)."""
    weeks = 8 if case.mappa_level == cc.MappaLevel.L3 else 16
    return timezone.localdate(meeting.scheduled_for) + timedelta(weeks=weeks)
