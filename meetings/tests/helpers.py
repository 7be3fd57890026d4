"""A scripted meeting for the tests, built through the real services."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from cases import choices as cc
from meetings import services
from meetings.models import Meeting

VICTIM_LOCATION = "Victim lives at 3 Willow Court, Northtown NT1 5AB"
MINUTES_BODY = "Agencies shared recent contact attempts; risk remains high."
SUMMARY = "Risk remains high; plan reviewed; next review set."
ATTENDING = ("police_practitioner", "probation_practitioner", "health_practitioner", "cps_practitioner")


def schedule(
    world: Any, days: int = 1, attendees: tuple[str, ...] = ATTENDING, acknowledge: bool = True
) -> Meeting:
    chair = world.police_chair
    meeting = services.do_schedule_meeting(
        forum=cc.Forum.MAPPA,
        title="MAPPA level 2 review",
        scheduled_for=timezone.now() + timedelta(days=days),
        chair=chair,
        chair_agency=world.agencies["police"],
        acting_user=chair,
        location="Northtown police station, room 4",
    )
    services.do_propose_agenda(meeting=meeting, acting_user=chair)
    for key in ("police", "probation", "health", "cps", "isac"):
        services.do_invite(meeting=meeting, agency=world.agencies[key], acting_user=chair)
    for username in attendees:
        user = getattr(world, username)
        agency = world.agencies[username.split("_")[0]]
        attendee = services.do_invite(meeting=meeting, agency=agency, user=user, acting_user=chair)
        if acknowledge:
            services.do_acknowledge_confidentiality(attendee=attendee, acting_user=user)
    chair_attendee = meeting.attendees.get(user=chair)
    services.do_acknowledge_confidentiality(attendee=chair_attendee, acting_user=chair)
    meeting.refresh_from_db()
    return meeting


def start(meeting: Meeting) -> Meeting:
    meeting.refresh_from_db()
    return services.do_start_meeting(meeting=meeting, version=meeting.version, acting_user=meeting.chair)
