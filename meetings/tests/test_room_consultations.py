"""The live room's refreshes: a refresh that shows nothing new records nothing new; a change does."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent, Op
from meetings import services

from .helpers import MINUTES_BODY, SUMMARY, VICTIM_LOCATION, schedule, start

pytestmark = pytest.mark.django_db


def _consultations(user, item) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(op=Op.CONSULT, actor_id=user.pk, object_id=str(item.pk)).order_by("id")
    )


def _minuted(world, body: str = MINUTES_BODY, version: int = 0):
    meeting = start(schedule(world))
    item = meeting.items.get()
    services.do_record_minutes(
        item=item,
        body=body,
        victim_safety_minutes=VICTIM_LOCATION,
        executive_summary=SUMMARY,
        version=version,
        acting_user=world.police_chair,
    )
    return meeting, item


def test_refreshing_the_room_unchanged_records_one_consultation(world, signed_in) -> None:
    # given an attendee in a minuted room
    meeting, item = _minuted(world)
    client = signed_in(world.health_practitioner)
    # when the live room is re-fetched five times with nothing changed
    for _ in range(5):
        assert client.get(f"/meetings/{meeting.pk}/room/").status_code == 200
    # then one consultation is recorded, carrying a digest of what was shown and no value
    events = _consultations(world.health_practitioner, item)
    assert len(events) == 1
    assert len(events[0].detail["shown"]) == 32
    assert MINUTES_BODY not in str(events[0].detail) and SUMMARY not in str(events[0].detail)


def test_a_refresh_after_a_change_records_a_new_consultation(world, signed_in) -> None:
    # given an attendee who has seen the room once
    meeting, item = _minuted(world)
    client = signed_in(world.health_practitioner)
    client.get(f"/meetings/{meeting.pk}/room/")
    # when the chair edits the minutes and the room refreshes (twice)
    item.refresh_from_db()
    services.do_record_minutes(
        item=item,
        body="Updated minutes.",
        victim_safety_minutes=VICTIM_LOCATION,
        executive_summary=SUMMARY,
        version=item.minutes.version,
        acting_user=world.police_chair,
    )
    client.get(f"/meetings/{meeting.pk}/room/")
    client.get(f"/meetings/{meeting.pk}/room/")
    # then exactly one more consultation is recorded, with a different digest
    events = _consultations(world.health_practitioner, item)
    assert len(events) == 2
    assert events[0].detail["shown"] != events[1].detail["shown"]


def test_the_item_fragment_and_the_room_share_the_last_consultation(world, signed_in) -> None:
    meeting, item = _minuted(world)
    client = signed_in(world.health_practitioner)
    client.get(f"/meetings/{meeting.pk}/room/")
    client.get(f"/meetings/{meeting.pk}/items/{item.pk}/")
    assert len(_consultations(world.health_practitioner, item)) == 1


def test_each_attendee_and_each_sign_in_is_recorded(world, signed_in) -> None:
    # given one attendee has seen the room
    meeting, item = _minuted(world)
    signed_in(world.health_practitioner).get(f"/meetings/{meeting.pk}/room/")
    # when another attendee opens it, and the first signs in again and opens it
    signed_in(world.probation_practitioner).get(f"/meetings/{meeting.pk}/room/")
    signed_in(world.health_practitioner).get(f"/meetings/{meeting.pk}/room/")
    # then every one of those showings is a consultation of its own
    assert len(_consultations(world.probation_practitioner, item)) == 1
    assert len(_consultations(world.health_practitioner, item)) == 2


def test_a_decision_recorded_in_the_room_makes_the_next_refresh_a_consultation(world, signed_in) -> None:
    # given an attendee who has seen the room
    meeting, item = _minuted(world)
    client = signed_in(world.health_practitioner)
    client.get(f"/meetings/{meeting.pk}/room/")
    # when the chair records a decision and the room refreshes
    services.do_record_decision(
        item=item,
        text="Refer to the stalking clinic.",
        rationale="Contact is escalating.",
        acting_user=world.police_chair,
    )
    client.get(f"/meetings/{meeting.pk}/room/")
    client.get(f"/meetings/{meeting.pk}/room/")
    # then the refresh that showed the decision is recorded, the one after it is not
    assert len(_consultations(world.health_practitioner, item)) == 2
