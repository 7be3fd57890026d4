"""Every event sent to a group is a declared type, and every consumer joining that group handles it.

Channels closes a socket that receives a message type its consumer has no handler for, so an event
sent to a group that some consumer lacks a handler for would kill every such live socket (issue 14:
``disclosure.recorded`` did, on the live feed).
"""

from __future__ import annotations

from typing import Any, get_args

import pytest
from asgiref.sync import sync_to_async
from channels.consumer import get_handler_name
from django.db import transaction
from django.utils import timezone

from cases.services import do_add_note
from config.routing import websocket_urlpatterns
from core.events import (
    ALLOWED_KEYS,
    EVENT_TYPES,
    GROUP_KINDS,
    AuthzEvent,
    Event,
    LiveEvent,
    Reply,
    RoomEvent,
    send_on_commit,
)
from sharing.services import do_record_disclosure

from .test_consumers import open_socket


def consumer_classes() -> list[Any]:
    return [pattern.callback.consumer_class for pattern in websocket_urlpatterns]  # type: ignore[attr-defined]


@pytest.mark.parametrize("consumer", consumer_classes(), ids=lambda c: c.__name__)
def test_every_event_type_a_consumer_can_receive_has_a_handler(consumer: Any) -> None:
    # given the kinds of group the consumer joins
    assert consumer.GROUP_KINDS <= GROUP_KINDS
    # then every declared event sent to one of those kinds has a handler on the consumer
    missing = [
        name
        for name, event in EVENT_TYPES.items()
        if event.groups & consumer.GROUP_KINDS
        and not callable(getattr(consumer, get_handler_name({"type": name}), None))
    ]
    assert missing == []


def test_every_declared_event_goes_to_some_consumer() -> None:
    joined = set().union(*(c.GROUP_KINDS for c in consumer_classes()))
    assert {name for name, event in EVENT_TYPES.items() if not event.groups & joined} == set()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("group", "payload", "complaint"),
    [
        ("case.1", {"type": "case.deleted", "case_id": "1"}, "Undeclared event type"),
        (
            "user.1",
            {"type": "case.changed", "case_id": "1", "version": 1, "kind": "note"},
            "not sent to user",
        ),
        (
            "case.1",
            {"type": "case.changed", "case_id": "1", "version": 1, "kind": "x", "body": "y"},
            "unexpected",
        ),
        ("case.1", {"type": "case.changed", "case_id": "1"}, "needs"),
    ],
)
def test_only_declared_events_with_their_declared_keys_are_sent(
    group: str, payload: Any, complaint: str
) -> None:
    with transaction.atomic(), pytest.raises(ValueError, match=complaint):
        send_on_commit(group, payload)


@pytest.mark.django_db(transaction=True)
async def test_a_disclosure_keeps_an_open_live_feed_alive(world: Any, signed_in: Any) -> None:
    # given the police practitioner's live feed subscribed to the case
    feed, ok, _ = await open_socket(signed_in, world.police_practitioner, "/ws/live/")
    assert ok
    await feed.send_json_to({"subscribe": str(world.case.pk)})
    assert await feed.receive_json_from(timeout=5) == {"type": "subscribed", "case_id": str(world.case.pk)}
    # when a disclosure is recorded on the case
    await sync_to_async(do_record_disclosure)(
        case=world.case,
        agency=world.agencies["police"],
        recipient="Employer HR manager",
        recipient_kind="employer",
        categories=["C4"],
        summary="Restraining order exists with workplace exclusion zone.",
        justification="Victim's workplace must enforce the exclusion zone.",
        undertaking=True,
        approved_by=world.police_chair,
        disclosed_on=timezone.localdate(),
        acting_user=world.police_practitioner,
    )
    # then the feed is told, by type and id only
    assert await feed.receive_json_from(timeout=5) == {
        "type": "disclosure.recorded",
        "case_id": str(world.case.pk),
    }
    # and the socket is still open: the next change reaches it too
    note = await sync_to_async(do_add_note)(
        case=world.case,
        agency=world.agencies["police"],
        acting_user=world.police_practitioner,
        body="After the disclosure",
        category="C2",
    )
    message = await feed.receive_json_from(timeout=5)
    assert message["type"] == "case.changed" and message["object_id"] == str(note.pk)
    await feed.disconnect()


def test_every_declared_event_belongs_to_one_family_of_the_event_type() -> None:
    # given the payload classes declared for groups
    declared = {event.payload for event in EVENT_TYPES.values()}
    # then the Event type send_on_commit accepts is exactly them, split into three families
    families = [set(get_args(family)) or {family} for family in (AuthzEvent, RoomEvent, LiveEvent)]
    assert set(get_args(Event)) == declared
    assert sum(len(family) for family in families) == len(declared)
    assert set().union(*families) == declared


def test_what_a_socket_says_to_its_page_carries_ids_only() -> None:
    # given every reply a consumer sends its page besides forwarded events
    for reply in get_args(Reply):
        # then its keys are the type and keys a declared event may carry (ids and versions)
        keys = reply.__required_keys__ | reply.__optional_keys__
        assert keys <= ALLOWED_KEYS, reply.__name__
