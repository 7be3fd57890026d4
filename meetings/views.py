"""Meeting pages: list, schedule, confidentiality, the live room and its fragments, minutes, summary.

Thin: parse, ask sharing.policy, call a service, respond. A meeting the user may not see (or that
does not exist) is a 404; chair controls are a 404 for anyone but the chair.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from agencies.models import Agency, User
from agencies.requests import MemberRequest
from audit.models import Op
from audit.services import record_event
from core.errors import ConflictError, DomainError
from core.parsing import posted
from sharing import copies, denials, policy

from . import forms, services
from .models import AgendaItem, Attendee, Meeting, MeetingStatus
from .presenters import executive_summaries, last_consulted, minutes_sections, present_agenda, present_item

# --- access helpers (the rules are sharing.policy's) -------------------------------------------
access_meeting = policy.access_meeting
chaired_meeting = policy.access_chaired_meeting


def my_attendee(user: Any, meeting: Meeting) -> Attendee:
    """The user's attendee row for a meeting ``access_meeting`` gave them (it admits attendees only)."""
    attendee = policy.meeting_attendee(user, meeting)
    if attendee is None:  # not reached after access_meeting; forbidden still looks like missing
        raise Http404("No such meeting.")
    return attendee


def _item(meeting: Meeting, item_id: Any) -> AgendaItem:
    """An agenda item of a meeting the user was let into; Http404 if it is not on this agenda."""
    try:
        item_uuid = uuid.UUID(str(item_id))
    except ValueError as exc:
        raise Http404("No such agenda item.") from exc
    item = meeting.items.select_related("case", "meeting").filter(pk=item_uuid).first()
    if item is None:
        raise Http404("No such agenda item.")
    item.meeting = meeting
    return item


def _apply_error(form: Any, exc: DomainError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


# --- list and scheduling --------------------------------------------------------------------
@require_safe
def meeting_list(request: MemberRequest) -> HttpResponse:
    visible = policy.meetings_visible_to(request.user).select_related("chair_agency", "chair")
    upcoming = list(visible.exclude(status=MeetingStatus.SIGNED_OFF).order_by("scheduled_for"))
    past = list(visible.filter(status=MeetingStatus.SIGNED_OFF).order_by("-scheduled_for")[:50])
    chair_agencies = [m.agency for m in policy.meeting_chair_memberships(request.user)]
    return render(
        request,
        "meetings/list.html",
        {"upcoming": upcoming, "past": past, "can_schedule": bool(chair_agencies)},
    )


@require_http_methods(["GET", "POST"])
def meeting_schedule(request: MemberRequest) -> HttpResponse:
    chair_memberships = policy.meeting_chair_memberships(request.user)
    if not chair_memberships:
        raise Http404("No such page.")
    form = forms.ScheduleForm(posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            meeting = services.do_schedule_meeting(
                forum=data["forum"],
                title=data["title"],
                scheduled_for=data["scheduled_for"],
                chair=request.user,
                chair_agency=chair_memberships[0].agency,
                acting_user=request.user,
                location=data["location"],
                virtual_link=data["virtual_link"],
            )
            services.do_propose_agenda(meeting=meeting, acting_user=request.user)
        except DomainError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, "Meeting scheduled; the agenda has been proposed.")
            return redirect("meetings:detail", pk=meeting.pk)
    return render(request, "meetings/schedule.html", {"form": form}, status=400 if form.errors else 200)


# --- confidentiality ------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def acknowledge(request: MemberRequest, pk: Any) -> HttpResponse:
    meeting = access_meeting(request.user, pk)
    attendee = my_attendee(request.user, meeting)
    if request.method == "POST":
        if request.POST.get("confirm") != "yes":
            return render(
                request,
                "meetings/acknowledge.html",
                {"meeting": meeting, "error": "Confirm that you have read the statement."},
                status=400,
            )
        services.do_acknowledge_confidentiality(attendee=attendee, acting_user=request.user)
        return redirect("meetings:detail", pk=meeting.pk)
    return render(request, "meetings/acknowledge.html", {"meeting": meeting, "attendee": attendee})


# --- the room -------------------------------------------------------------------------------
def _room_context(request: MemberRequest, meeting: Meeting) -> dict[str, Any]:
    attendee = policy.meeting_attendee(request.user, meeting)
    is_chair = policy.can_chair_meeting(request.user, meeting)
    items = present_agenda(request.user, meeting)
    attendees = list(meeting.attendees.select_related("user", "agency"))
    context: dict[str, Any] = {
        "meeting": meeting,
        "attendee": attendee,
        "is_chair": is_chair,
        "items": items,
        "attendees": attendees,
        "in_progress": meeting.status == MeetingStatus.IN_PROGRESS,
        "signed_off": meeting.status == MeetingStatus.SIGNED_OFF,
    }
    if is_chair:
        agencies = list(Agency.objects.filter(pk__in={a.agency_id for a in attendees}))
        context["agency_choices"] = [(a.pk, a.name) for a in agencies]
        owners = policy.meeting_action_owners(meeting)
        context["owner_choices"] = [(m.user_id, f"{m.user} ({m.agency})") for m in owners]
    return context


def meeting_detail(request: MemberRequest, pk: Any) -> HttpResponse:
    meeting = access_meeting(request.user, pk)
    attendee = my_attendee(request.user, meeting)
    if attendee.acknowledged_confidentiality_at is None:
        return redirect("meetings:acknowledge", pk=meeting.pk)
    context = _room_context(request, meeting)
    context["ws_path"] = f"/ws/meetings/{meeting.pk}/"
    return render(request, "meetings/room.html", context)


def room_fragment(request: MemberRequest, pk: Any) -> HttpResponse:
    """The room's live part, re-fetched on every event (htmx)."""
    meeting = access_meeting(request.user, pk)
    return render(request, "meetings/_room.html", _room_context(request, meeting))


def item_fragment(request: MemberRequest, pk: Any, item_id: Any) -> HttpResponse:
    meeting = access_meeting(request.user, pk)
    item = _item(meeting, item_id)
    view = policy.agenda_item_view(request.user, meeting, item)
    if view is None:
        raise Http404("No such meeting.")
    presented = present_item(
        request.user, meeting, item, view, last_shown=last_consulted(request.user, [item])
    )
    return render(
        request,
        "meetings/_item.html",
        {"p": presented, "meeting": meeting, "is_chair": policy.can_chair_meeting(request.user, meeting)},
    )


def _chair_response(
    request: MemberRequest, meeting: Meeting, form: Any = None, status: int = 200
) -> HttpResponse:
    if form is not None and form.errors:
        context = _room_context(request, meeting)
        context.update({"ws_path": f"/ws/meetings/{meeting.pk}/", "form": form, "error_form": form})
        return render(request, "meetings/room.html", context, status=status)
    return redirect("meetings:detail", pk=meeting.pk)


def _run(request: MemberRequest, meeting: Meeting, form: Any, call: Any) -> HttpResponse:
    """Validate the form, call the service; field errors 400, version conflicts 409, both shown."""
    if not form.is_valid():
        return _chair_response(request, meeting, form, 400)
    try:
        call(form.cleaned_data)
    except ConflictError as exc:
        form.add_error(None, exc.message)
        return _chair_response(request, meeting, form, 409)
    except DomainError as exc:
        _apply_error(form, exc)
        return _chair_response(request, meeting, form, 400)
    return _chair_response(request, meeting)


@require_POST
def start(request: MemberRequest, pk: Any) -> HttpResponse:
    meeting = chaired_meeting(request.user, pk)
    return _run(
        request,
        meeting,
        forms.VersionForm(request.POST),
        lambda d: services.do_start_meeting(meeting=meeting, version=d["version"], acting_user=request.user),
    )


@require_POST
def move(request: MemberRequest, pk: Any) -> HttpResponse:
    meeting = chaired_meeting(request.user, pk)
    form = forms.MoveForm(request.POST)
    return _run(
        request,
        meeting,
        form,
        lambda d: services.do_move_to_item(
            meeting=meeting, item=_item(meeting, d["item"]), version=d["version"], acting_user=request.user
        ),
    )


@require_POST
def sign_off(request: MemberRequest, pk: Any) -> HttpResponse:
    meeting = chaired_meeting(request.user, pk)
    return _run(
        request,
        meeting,
        forms.VersionForm(request.POST),
        lambda d: services.do_sign_off(meeting=meeting, version=d["version"], acting_user=request.user),
    )


@require_POST
def propose(request: MemberRequest, pk: Any) -> HttpResponse:
    meeting = chaired_meeting(request.user, pk)
    try:
        services.do_propose_agenda(meeting=meeting, acting_user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("meetings:detail", pk=meeting.pk)


@require_POST
def add_case(request: MemberRequest, pk: Any) -> HttpResponse:
    meeting = chaired_meeting(request.user, pk)
    try:
        case, _access = policy.access_case(request.user, request.POST.get("case", ""))
        services.do_add_agenda_item(meeting=meeting, case=case, acting_user=request.user)
    except Http404 as refused:
        denials.record(refused)  # a refused case id is recorded as on any other surface
        messages.error(request, "No case with that identifier is visible to you.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("meetings:detail", pk=meeting.pk)


@require_POST
def remove_item(request: MemberRequest, pk: Any, item_id: Any) -> HttpResponse:
    meeting = chaired_meeting(request.user, pk)
    item = _item(meeting, item_id)
    return _run(
        request,
        meeting,
        forms.VersionForm(request.POST),
        lambda d: services.do_remove_agenda_item(item=item, version=d["version"], acting_user=request.user),
    )


@require_POST
def record_minutes(request: MemberRequest, pk: Any, item_id: Any) -> HttpResponse:
    meeting = chaired_meeting(request.user, pk)
    item = _item(meeting, item_id)
    return _run(
        request,
        meeting,
        forms.MinutesForm(request.POST),
        lambda d: services.do_record_minutes(
            item=item,
            body=d["body"],
            victim_safety_minutes=d["victim_safety_minutes"],
            executive_summary=d["executive_summary"],
            version=d["version"],
            acting_user=request.user,
        ),
    )


@require_POST
def record_decision(request: MemberRequest, pk: Any, item_id: Any) -> HttpResponse:
    meeting = chaired_meeting(request.user, pk)
    item = _item(meeting, item_id)
    return _run(
        request,
        meeting,
        forms.DecisionForm(request.POST),
        lambda d: services.do_record_decision(
            item=item,
            kind=d["kind"],
            text=d["text"],
            rationale=d["rationale"],
            to_level=d.get("to_level") or None,
            review_on=d.get("review_on"),
            acting_user=request.user,
        ),
    )


@require_POST
def record_dissent(request: MemberRequest, pk: Any, item_id: Any) -> HttpResponse:
    meeting = chaired_meeting(request.user, pk)
    item = _item(meeting, item_id)

    def call(d: dict[str, Any]) -> Any:
        decision = item.decisions.filter(pk=d["decision"]).first()
        agency = Agency.objects.filter(pk=d["agency"]).first()
        if decision is None:
            raise DomainError("Choose the decision.", field="decision")
        if agency is None:
            raise DomainError("Choose the agency.", field="agency")
        return services.do_record_dissent(
            decision=decision, name=d["name"], agency=agency, view=d["view"], acting_user=request.user
        )

    return _run(request, meeting, forms.DissentForm(request.POST), call)


@require_POST
def add_action(request: MemberRequest, pk: Any, item_id: Any) -> HttpResponse:
    meeting = chaired_meeting(request.user, pk)
    item = _item(meeting, item_id)

    def call(d: dict[str, Any]) -> Any:
        membership = policy.meeting_action_owners(meeting).filter(user_id=d["owner"]).first()
        if membership is None:
            raise DomainError("Choose who owns the action.", field="owner")
        return services.do_add_meeting_action(
            item=item,
            pillar=d["pillar"],
            text=d["text"],
            owner=membership.user,
            action_agency=membership.agency,
            due_on=d["due_on"],
            acting_user=request.user,
        )

    return _run(request, meeting, forms.ActionForm(request.POST), call)


@require_POST
def exclude(request: MemberRequest, pk: Any, item_id: Any) -> HttpResponse:
    meeting = chaired_meeting(request.user, pk)
    item = _item(meeting, item_id)

    def call(d: dict[str, Any]) -> Any:
        agency = Agency.objects.filter(pk=d["agency"]).first()
        if agency is None:
            raise DomainError("Choose the agency.", field="agency")
        return services.do_exclude_agency(
            item=item, agency=agency, exclude=d["exclude"], version=d["version"], acting_user=request.user
        )

    return _run(request, meeting, forms.ExcludeForm(request.POST), call)


@require_POST
def add_addendum(request: MemberRequest, pk: Any, item_id: Any) -> HttpResponse:
    meeting = chaired_meeting(request.user, pk)
    item = _item(meeting, item_id)
    return _run(
        request,
        meeting,
        forms.AddendumForm(request.POST),
        lambda d: services.do_add_addendum(
            item=item, text=d["text"], category=d["category"], acting_user=request.user
        ),
    )


@require_POST
def attendance(request: MemberRequest, pk: Any, attendee_id: Any) -> HttpResponse:
    meeting = chaired_meeting(request.user, pk)
    attendee = meeting.attendees.filter(pk=attendee_id).first()
    if attendee is None:
        raise Http404("No such attendee.")
    return _run(
        request,
        meeting,
        forms.AttendanceForm(request.POST),
        lambda d: services.do_mark_attendance(
            attendee=attendee, attendance=d["attendance"], version=d["version"], acting_user=request.user
        ),
    )


@require_POST
def invite(request: MemberRequest, pk: Any) -> HttpResponse:
    meeting = chaired_meeting(request.user, pk)

    def call(d: dict[str, Any]) -> Any:
        agency = Agency.objects.filter(pk=d["agency"], is_active=True).first()
        if agency is None:
            raise DomainError("Choose the agency.", field="agency")
        user = None
        if d.get("user"):
            member = policy.membership_in(d["user"], agency.pk)
            if member is None:
                raise DomainError("Choose a member of that agency.", field="user")
            user = member.user
        return services.do_invite(
            meeting=meeting, agency=agency, user=user, role=d["role"], acting_user=request.user
        )

    return _run(request, meeting, forms.InviteForm(request.POST), call)


# --- minutes and summary --------------------------------------------------------------------
def _export(request: MemberRequest, meeting: Meeting, text: str, kind: str) -> HttpResponse:
    record_event(
        Op.EXPORT,
        actor=request.user,
        obj=meeting,
        categories=["C10"],
        justification="meeting attendee",
        detail={"export": kind},
    )
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{kind}-{meeting.pk}.txt"'
    return response


def minutes(request: MemberRequest, pk: Any) -> HttpResponse:
    """This attendee's copy of the minutes: each item as the policy issues it to their agency."""
    meeting = access_meeting(request.user, pk)
    attendee = my_attendee(request.user, meeting)
    if attendee.acknowledged_confidentiality_at is None:
        return redirect("meetings:acknowledge", pk=meeting.pk)
    if attendee.role == "third_party":
        return redirect("meetings:summary", pk=meeting.pk)
    items = present_agenda(request.user, meeting)
    context = {
        "meeting": meeting,
        "items": items,
        "attendees": meeting.attendees.select_related("user", "agency"),
    }
    if request.GET.get("format") == "txt":
        from django.template.loader import render_to_string

        return _export(request, meeting, render_to_string("meetings/minutes.txt", context), "minutes")
    return render(request, "meetings/minutes.html", context)


@require_safe
def minutes_pdf(request: MemberRequest, pk: Any) -> HttpResponse:
    """This attendee's copy of the minutes as PDF: the same items the page and .txt give their agency,
    marked on every page with whose copy it is; issuing it is recorded as a disclosure to them."""
    meeting = access_meeting(request.user, pk)
    attendee = my_attendee(request.user, meeting)
    if attendee.acknowledged_confidentiality_at is None:
        return redirect("meetings:acknowledge", pk=meeting.pk)
    if attendee.role == "third_party":
        return redirect("meetings:summary", pk=meeting.pk)
    items = present_agenda(request.user, meeting)
    when = timezone.localtime(meeting.scheduled_for).strftime("%d %b %Y %H:%M")
    if meeting.signed_off_at:
        signed_at = timezone.localtime(meeting.signed_off_at).strftime("%d %b %Y %H:%M")
        signed = f"Signed off by {meeting.signed_off_by} on {signed_at}"
    else:
        signed = "Not yet signed off"
    return copies.issue(
        title=f"Minutes: {meeting.title} ({when})",
        filename=f"minutes-{meeting.pk}.pdf",
        user=cast(User, request.user),  # an attendee: a signed-in member
        agency=attendee.agency,
        preamble=["Your agency's copy, issued under the information-sharing agreement.", signed],
        sections=minutes_sections(items),
        obj=meeting,
        categories=["C10"],
        justification="meeting attendee",
        kind="minutes",
    )


def summary(request: MemberRequest, pk: Any) -> HttpResponse:
    meeting = access_meeting(request.user, pk)
    attendee = my_attendee(request.user, meeting)
    if attendee.acknowledged_confidentiality_at is None:
        return redirect("meetings:acknowledge", pk=meeting.pk)
    rows = executive_summaries(request.user, meeting)
    context = {"meeting": meeting, "rows": rows}
    if request.GET.get("format") == "txt":
        from django.template.loader import render_to_string

        return _export(
            request, meeting, render_to_string("meetings/summary.txt", context), "executive-summary"
        )
    return render(request, "meetings/summary.html", context)
