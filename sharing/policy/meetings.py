"""Meetings (case reviews): who attends, who chairs, and what each attendee sees of each item."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404

from agencies.models import Membership, Role
from cases.models import Case
from sharing.models import CaseShare
from sharing.policy.actions import action_owners
from sharing.policy.cases import Access, can_view_case, case_access
from sharing.policy.fields import visible_fields
from sharing.policy.identity import (
    CONTENT_ROLES,
    Viewer,
    _cache,
    _is_uuid,
    _person_id,
    agency_ids,
    has_role,
    memberships,
)

if TYPE_CHECKING:
    from meetings.models import AgendaItem, Attendee, Meeting


def meeting_chair_memberships(user: Viewer) -> list[Membership]:
    """The memberships in which this user may schedule and chair case reviews."""
    return [m for m in memberships(user) if m.role == Role.CHAIR]


@dataclass(frozen=True)
class ItemView:
    """What one attendee receives of one agenda item.

    ``mode``: "unacknowledged" (confidentiality statement not yet acknowledged), "excluded" (the
    attendee's agency is excluded from this item), "not_shared" (the case is not shared with them),
    "summary" (a third party: the executive summary only) or "minutes" (per ``access`` levels).
    """

    mode: str
    access: Access | None = None

    @property
    def sees_content(self) -> bool:
        return self.mode in ("minutes", "summary")


def meeting_attendee(user: Viewer, meeting: Meeting) -> Attendee | None:
    """The user's own attendee row for this meeting (None if not invited by name or no membership)."""
    if not memberships(user):
        return None
    cache = _cache(user)
    key = ("attendee", meeting.pk)
    if key not in cache:
        cache[key] = meeting.attendees.filter(user_id=_person_id(user)).select_related("agency").first()
    attendee: Attendee | None = cache[key]
    return attendee


def can_view_meeting(user: Viewer, meeting: Meeting) -> bool:
    """Named attendees (and the chair) with an active membership in the agency they attend for."""
    attendee = meeting_attendee(user, meeting)
    return attendee is not None and attendee.agency_id in agency_ids(user)


def can_chair_meeting(user: Viewer, meeting: Meeting) -> bool:
    return meeting.chair_id == getattr(user, "pk", None) and has_role(
        user, Role.CHAIR, meeting.chair_agency_id
    )


def meetings_visible_to(user: Viewer) -> QuerySet[Meeting]:
    """Meetings the user attends by name, for an agency they are an active member of (one query)."""
    from meetings.models import Attendee, Meeting

    mine = agency_ids(user)
    if not mine:
        return Meeting.objects.none()
    attends = Attendee.objects.filter(meeting_id=OuterRef("pk"), user_id=_person_id(user), agency_id__in=mine)
    return Meeting.objects.filter(Exists(attends))


def agenda_item_view(user: Viewer, meeting: Meeting, item: AgendaItem) -> ItemView | None:
    """What this user sees of one agenda item; None if they may not see the meeting at all."""
    if not can_view_meeting(user, meeting):
        return None
    attendee = meeting_attendee(user, meeting)
    assert attendee is not None  # can_view_meeting found it
    if attendee.acknowledged_confidentiality_at is None:
        return ItemView("unacknowledged")
    if attendee.agency_id in {a.pk for a in item.excluded_agencies.all()}:
        return ItemView("excluded")
    if item.case.erased_at is not None:
        return ItemView("not_shared")  # the case key is destroyed: nothing of it can be shown
    access = case_access(user, item.case)
    if attendee.role == "third_party":
        return ItemView("summary", access)
    if access is None:
        return ItemView("not_shared")
    return ItemView("minutes", access)


# A room event about an item names the item (every attendee's room lists every item) and its case;
# the case id reaches only attendees who see the item's content.
ITEM_CONTENT_KEYS = frozenset({"case_id"})


def room_event(event: dict[str, Any], *, sees_content: bool, meeting_wide: bool) -> dict[str, Any] | None:
    """What one attendee receives of a room event about an agenda item; None: nothing at all.

    ``sees_content`` is ``agenda_item_view(...).sees_content`` for that attendee and item (False if
    the item is gone). An item event (minutes, a decision) reaches only attendees who see the item's
    content; a meeting-wide event (the room moved to the item, the agenda changed) reaches every
    attendee, without the case id for those who do not.
    """
    if sees_content:
        return event
    if not meeting_wide:
        return None
    return {key: value for key, value in event.items() if key not in ITEM_CONTENT_KEYS}


def agenda_items_visible_to(user: Viewer, meeting: Meeting) -> list[tuple[AgendaItem, ItemView]]:
    """Every agenda item with what this user sees of it ([] if they may not see the meeting)."""
    if not can_view_meeting(user, meeting):
        return []
    items = meeting.items.select_related("case").prefetch_related("excluded_agencies")
    result = []
    for item in items:
        view = agenda_item_view(user, meeting, item)
        if view is not None:
            result.append((item, view))
    return result


def minute_fields(view: ItemView, obj: Any) -> frozenset[str]:
    """The fields of a minutes record (minutes, decision, dissent, addendum) this attendee receives."""
    if view.mode == "summary":
        return frozenset({"executive_summary"}) & frozenset(getattr(obj, "VISIBILITY", {}))
    if view.mode != "minutes" or view.access is None:
        return frozenset()
    return visible_fields(view.access, obj)


# --- fetching one meeting or case for a page or a socket ---------------------------------------------
def visible_meeting(user: Viewer, pk: Any) -> Meeting | None:
    """The meeting if the user may see it (``can_view_meeting``); None if missing or forbidden."""
    from meetings.models import Meeting

    if not _is_uuid(pk):
        return None
    meeting = Meeting.objects.select_related("chair", "chair_agency", "current_item").filter(pk=pk).first()
    if meeting is None or not can_view_meeting(user, meeting):
        return None
    return meeting


def access_meeting(user: Viewer, pk: Any) -> Meeting:
    """The meeting if the user may see it; Http404 whether it is missing or forbidden."""
    meeting = visible_meeting(user, pk)
    if meeting is None:
        raise Http404("No such meeting.")
    return meeting


def access_chaired_meeting(user: Viewer, pk: Any) -> Meeting:
    """The meeting if the user chairs it; Http404 for everyone else (chair controls are hidden)."""
    meeting = access_meeting(user, pk)
    if not can_chair_meeting(user, meeting):
        raise Http404("No such meeting.")
    return meeting


def visible_case(user: Viewer, pk: Any) -> Case | None:
    """The case if the user may see it now; None if missing or forbidden (a socket's subscribe:
    unlike ``access_case`` nothing is recorded, the refusal is the reply)."""
    if not _is_uuid(pk):
        return None
    case = Case.objects.filter(pk=pk).first()
    return case if case is not None and can_view_case(user, case) else None


def meeting_action_owners(meeting: Meeting) -> QuerySet[Membership]:
    """Active memberships in the agencies attending the meeting: who a meeting's action may go to."""
    agencies = meeting.attendees.values("agency_id")
    return Membership.objects.active().filter(agency_id__in=agencies).select_related("user", "agency")


def meeting_item_action_owners(meeting: Meeting, case: Case) -> QuerySet[Membership]:
    """Who an action agreed on this agenda case may go to: a practitioner or chair of an agency that
    attends the meeting and works on the case now (leads it or holds a live share)."""
    return action_owners(case).filter(agency_id__in=meeting.attendees.values("agency_id"))


def meeting_action_owners_by_case(meeting: Meeting) -> dict[Any, list[Membership]]:
    """``meeting_item_action_owners`` for every case on the agenda at once (three queries)."""
    from meetings.models import AgendaItem

    cases = dict(AgendaItem.objects.filter(meeting=meeting).values_list("case_id", "case__lead_agency_id"))
    working: dict[Any, set[int]] = {case_id: {lead} for case_id, lead in cases.items()}
    for case_id, agency_id in (
        CaseShare.objects.live().filter(case_id__in=cases).values_list("case_id", "agency_id")
    ):
        working[case_id].add(agency_id)
    members = list(
        Membership.objects.active()
        .filter(agency_id__in=meeting.attendees.values("agency_id"), role__in=CONTENT_ROLES)
        .select_related("user", "agency")
        .order_by("agency_id", "user_id", "pk")
    )
    return {case_id: [m for m in members if m.agency_id in agencies] for case_id, agencies in working.items()}


def membership_in(user_id: int, agency_id: int) -> Membership | None:
    """The active membership of a person in an agency (a chair inviting them by name), or None."""
    members = Membership.objects.active().filter(user_id=user_id, agency_id=agency_id)
    return members.select_related("user").first()
