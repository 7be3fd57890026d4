"""Room events carry what each attendee may know of an item, nothing more (issue 14).

An agency excluded from an agenda item still follows the room (which item is current), but never
learns which case the item is about: the case id goes only to attendees who see the item's content.
"""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async

from meetings import services
from sharing import policy

from .helpers import schedule, start
from .test_consumers import drain_until, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


async def test_an_excluded_attendee_follows_the_room_without_learning_the_case(
    world: Any, signed_in: Any
) -> None:
    # given a running meeting whose item health is excluded from, with the chair and health connected
    def build() -> tuple[Any, Any]:
        meeting = start(schedule(world))
        item = meeting.items.get()
        services.do_exclude_agency(item=item, agency=world.agencies["health"], acting_user=world.police_chair)
        meeting.refresh_from_db()
        return meeting, item

    meeting, item = await sync_to_async(build)()
    path = f"/ws/meetings/{meeting.pk}/"
    chair, ok_chair, _ = await open_socket(signed_in, world.police_chair, path)
    health, ok_health, _ = await open_socket(signed_in, world.health_practitioner, path)
    assert ok_chair and ok_health
    # when the chair moves the room to the item
    await sync_to_async(services.do_move_to_item)(
        meeting=meeting, item=item, version=meeting.version, acting_user=world.police_chair
    )
    # then health is told the room moved, and to which item, but not the item's case
    to_health = (await drain_until(health, "current_item", limit=10))[-1]
    assert to_health["kind"] == "current_item" and to_health["item_id"] == str(item.pk)
    assert "case_id" not in to_health
    # while the chair, who sees the item, gets its case too
    to_chair = (await drain_until(chair, "current_item", limit=10))[-1]
    assert to_chair["case_id"] == str(item.case_id)
    await chair.disconnect()
    await health.disconnect()


async def test_an_excluded_attendee_gets_no_item_event_at_all(world: Any, signed_in: Any) -> None:
    # given health excluded from the current item of a running meeting
    def build() -> tuple[Any, Any]:
        meeting = start(schedule(world))
        item = meeting.items.get()
        services.do_exclude_agency(item=item, agency=world.agencies["health"], acting_user=world.police_chair)
        return meeting, item

    meeting, item = await sync_to_async(build)()
    health, ok, _ = await open_socket(signed_in, world.health_practitioner, f"/ws/meetings/{meeting.pk}/")
    assert ok
    # when the chair records a decision on it, then moves the room on (a marker event)
    await sync_to_async(services.do_record_decision)(
        item=item, text="Refer for SPO application", rationale="r", acting_user=world.police_chair
    )
    meeting_now = await sync_to_async(lambda: type(meeting).objects.get(pk=meeting.pk))()
    await sync_to_async(services.do_move_to_item)(
        meeting=meeting_now, item=item, version=meeting_now.version, acting_user=world.police_chair
    )
    # then health received the move but never the decision nor a case id
    received = await drain_until(health, "current_item", limit=10)
    assert not [m for m in received if m.get("kind") == "decision"]
    assert not [m for m in received if "case_id" in m]
    await health.disconnect()


def test_room_event_keeps_the_case_id_for_those_who_see_the_item() -> None:
    event = {"type": "meeting.changed", "meeting_id": "m", "item_id": "i", "case_id": "c", "version": 1}
    assert policy.room_event(event, sees_content=True, meeting_wide=True) == event
    assert policy.room_event(event, sees_content=False, meeting_wide=True) == {
        "type": "meeting.changed",
        "meeting_id": "m",
        "item_id": "i",
        "version": 1,
    }
    assert policy.room_event(event, sees_content=False, meeting_wide=False) is None
