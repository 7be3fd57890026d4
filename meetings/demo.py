"""Demo content for case reviews (called by ``manage.py seed_demo`` through agencies.demo).

One past MAPPA review, signed off, with minutes, decisions, dissent, an addendum and actions (one
still open, so it is carried forward); and a MAPPA level 2 review tomorrow chaired by police.chair
with its agenda proposed automatically and the five agencies invited. Each is made once
(``ctx.once``), so running the seed again changes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from cases import choices as cc
from cases.services import do_update_action

from . import services as s
from .models import DecisionKind, Meeting

PARTNERS = ("police", "probation", "health", "cps", "isac")


def _invite_all(ctx: Any, meeting: Meeting, acknowledge: bool) -> None:
    chair = ctx.users["police.chair"]
    for key in PARTNERS:
        agency = ctx.agencies[key]
        s.do_invite(meeting=meeting, agency=agency, acting_user=chair)
        person = ctx.users.get(f"{key}.practitioner")
        if person is not None:
            attendee = s.do_invite(meeting=meeting, agency=agency, user=person, acting_user=chair)
            if acknowledge:
                s.do_acknowledge_confidentiality(attendee=attendee, acting_user=person)
    s.do_acknowledge_confidentiality(attendee=meeting.attendees.get(user=chair), acting_user=chair)


def _past_review(ctx: Any) -> Meeting:
    chair = ctx.users["police.chair"]
    police = ctx.agencies["police"]
    when = (timezone.now() - timedelta(days=28)).replace(hour=10, minute=0, second=0, microsecond=0)
    meeting = s.do_schedule_meeting(
        forum=cc.Forum.MAPPA,
        title="MAPPA level 2 review (last month)",
        scheduled_for=when,
        chair=chair,
        chair_agency=police,
        acting_user=chair,
        location="Northtown police station, conference room 2",
    )
    for key in ("marsh", "hollis"):
        case = ctx.cases.get(key)
        if case is not None:
            s.do_add_agenda_item(meeting=meeting, case=case, acting_user=chair, reason="due_review")
    _invite_all(ctx, meeting, acknowledge=True)
    for attendee in meeting.attendees.filter(user__isnull=False):
        status = "apologies" if attendee.agency_id == ctx.agencies["cps"].pk else "present"
        s.do_mark_attendance(attendee=attendee, attendance=status, acting_user=chair)
    meeting.refresh_from_db()
    s.do_start_meeting(meeting=meeting, version=meeting.version, acting_user=chair)
    for item in meeting.items.select_related("case"):
        meeting.refresh_from_db()
        s.do_move_to_item(meeting=meeting, item=item, version=meeting.version, acting_user=chair)
        s.do_record_minutes(
            item=item,
            version=0,
            acting_user=chair,
            body=(
                "Police reported two further sightings near the victim's workplace. Probation confirmed "
                "licence compliance at supervision. Health gave a view on fixation: no treatable illness "
                "identified; engagement with the clinic offered."
            ),
            victim_safety_minutes=(
                "ISAC reported the victim has changed her route to work; a new alarm is fitted at her home."
            ),
            executive_summary="Risk remains high. Agencies agreed the plan and a review in four weeks.",
        )
        decision = s.do_record_decision(
            item=item,
            kind=DecisionKind.GENERAL,
            text="Remain at the current MAPPA level; police to apply for a Stalking Protection Order.",
            rationale="Continuing contact despite warnings; an SPO gives enforceable prohibitions.",
            acting_user=chair,
        )
        s.do_record_dissent(
            decision=decision,
            name="Jo Reid",
            agency=ctx.agencies["health"],
            view="Would prefer a clinic referral before any court application.",
            acting_user=chair,
        )
        s.do_record_decision(
            item=item,
            kind=DecisionKind.REVIEW_DATE,
            text="Review at the next level 2 meeting.",
            rationale="Risk high; review within four weeks.",
            review_on=timezone.localdate() + timedelta(days=1),
            acting_user=chair,
        )
        s.do_add_meeting_action(
            item=item,
            pillar=cc.Pillar.MONITORING,
            text="Apply for a Stalking Protection Order.",
            owner=ctx.users["police.practitioner"],
            action_agency=police,
            due_on=timezone.localdate() - timedelta(days=7),
            acting_user=chair,
        )
        done = s.do_add_meeting_action(
            item=item,
            pillar=cc.Pillar.VICTIM_SAFETY,
            text="Review the victim's safety plan and alarm.",
            owner=ctx.users["isac.practitioner"],
            action_agency=ctx.agencies["isac"],
            due_on=timezone.localdate() - timedelta(days=14),
            acting_user=chair,
        )
        do_update_action(
            action=done,
            version=done.version,
            agency=ctx.agencies["isac"],
            acting_user=ctx.users["isac.practitioner"],
            status=cc.ActionStatus.DONE,
        )
    meeting.refresh_from_db()
    s.do_sign_off(meeting=meeting, version=meeting.version, acting_user=chair)
    first = meeting.items.order_by("order").first()
    if first is not None:
        s.do_add_addendum(
            item=first,
            text="Correction: the second sighting was on the Thursday, not the Wednesday.",
            acting_user=chair,
        )
    return meeting


def _upcoming_review(ctx: Any) -> Meeting:
    chair = ctx.users["police.chair"]
    when = (timezone.now() + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    meeting = s.do_schedule_meeting(
        forum=cc.Forum.MAPPA,
        title="MAPPA level 2 review",
        scheduled_for=when,
        chair=chair,
        chair_agency=ctx.agencies["police"],
        acting_user=chair,
        location="Northtown police station, conference room 2",
        virtual_link="https://meet.example.invalid/northshire-mappa",
    )
    s.do_propose_agenda(meeting=meeting, acting_user=chair)
    _invite_all(ctx, meeting, acknowledge=False)
    return meeting


def seed(ctx: Any) -> None:
    if "police.chair" not in ctx.users:
        return
    ctx.once("meeting:past-review", lambda: _past_review(ctx))
    upcoming = ctx.once("meeting:upcoming-review", lambda: _upcoming_review(ctx))
    ctx.log(
        f"  case review tomorrow: /meetings/{upcoming.pk}/ ({upcoming.items.count()} cases on the agenda)"
    )
