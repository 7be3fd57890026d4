"""The live room and the live feed over Channels, against the full ASGI stack (origin, session, OTP).

Runs on the in-memory layer by default and on Redis (RedisPubSubChannelLayer) when REDIS_URL is set.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings

from agencies.services import do_end_membership
from cases import choices as cc
from cases.services import do_add_note
from core.events import ALLOWED_KEYS
from meetings import services
from meetings.models import DecisionKind
from sharing.models import CaseShare
from sharing.services import do_revoke_share
from tests.waiting import NotYet

from .helpers import MINUTES_BODY, SUMMARY, VICTIM_LOCATION, schedule, start

ORIGIN = b"http://localhost"
pytestmark = pytest.mark.django_db(transaction=True)


def asgi_application() -> Any:
    """The project's ASGI app (imported late: importing it checks the master keys in the database)."""
    from config.asgi import application

    return application


class Socket(WebsocketCommunicator):
    """A test's socket, which knows whose it is and which room it is in (for ``drain``'s marker)."""

    user_id: int
    meeting_id: str | None


async def open_socket(
    signed_in: Any, user: Any, path: str, origin: bytes = ORIGIN, client: Any = None
) -> tuple[Socket, bool, Any]:
    application = await sync_to_async(asgi_application)()
    client = client or await sync_to_async(signed_in)(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    comm = Socket(
        application,
        path,
        headers=[(b"origin", origin), (b"host", b"localhost"), (b"cookie", cookie.encode())],
    )
    comm.user_id = user.pk
    room = path.removeprefix("/ws/meetings/")
    comm.meeting_id = room.strip("/") if room != path else None
    connected, code = await comm.connect(timeout=5)
    return comm, connected, code


_MARKERS: set[str] = set()  # every marker sent in this process (a room's sockets all hear each one)


async def send_marker(comm: Socket) -> str:
    """Send the socket an event of no consequence behind everything sent to it so far.

    In the room it is a ``meeting.changed`` of a kind no page knows, which a current verdict forwards
    without asking the policy again (so tests that count the policy's calls are not disturbed); on
    the live feed it is a ``meeting.invited`` to the person's own group.
    """
    marker = str(uuid.uuid4())
    _MARKERS.add(marker)
    layer = get_channel_layer()
    if comm.meeting_id:
        event = {"type": "meeting.changed", "meeting_id": comm.meeting_id, "version": 0, "kind": marker}
        await layer.group_send(f"meeting.{comm.meeting_id}", event)
    else:
        await layer.group_send(f"user.{comm.user_id}", {"type": "meeting.invited", "meeting_id": marker})
    return marker


async def drain(comm: Socket, within: float = 30.0) -> list[dict[str, Any]]:
    """Every message the socket received before a marker sent now, or up to its close.

    A consumer handles its events one at a time in the order they were sent, so once the marker
    comes back every earlier event has been forwarded or withheld: a test can say what did *not*
    arrive without waiting for a silence. ``within`` bounds a hang; it is no performance claim.
    """
    marker = await send_marker(comm)
    received: list[dict[str, Any]] = []
    while True:
        try:
            output = await comm.receive_output(timeout=within)
        except TimeoutError as exc:
            raise NotYet(
                f"the marker sent behind the socket's events did not come back in {within:g} s"
            ) from exc
        if output["type"] == "websocket.close":
            received.append({"__closed__": output.get("code")})
            return received
        message = json.loads(output["text"])
        if marker in message.values():
            return received
        if not _MARKERS & set(map(str, message.values())):  # another socket's marker in the same room
            received.append(message)


async def drain_until(comm: Socket, last_kind: str, limit: float = 30.0) -> list[dict[str, Any]]:
    """Every message up to and including the first of ``last_kind`` (however slow the machine), and
    any that follow it before a marker sent once it arrived."""
    received: list[dict[str, Any]] = []
    while not received or received[-1].get("kind") != last_kind:
        message = await comm.receive_json_from(timeout=limit)
        if not _MARKERS & set(map(str, message.values())):  # another socket's marker in the same room
            received.append(message)
    return received + await drain(comm)


async def get(signed_in: Any, user: Any, url: str) -> Any:
    client = await sync_to_async(signed_in)(user)
    return await sync_to_async(client.get)(url)


async def test_chair_decision_reaches_practitioner_and_refetch_shows_it(world, signed_in):
    # given a running meeting with the chair and the probation practitioner connected
    meeting = await sync_to_async(lambda: start(schedule(world)))()
    item = await sync_to_async(lambda: meeting.items.get())()
    path = f"/ws/meetings/{meeting.pk}/"
    chair_ws, ok_chair, _ = await open_socket(signed_in, world.police_chair, path)
    prac_ws, ok_prac, _ = await open_socket(signed_in, world.probation_practitioner, path)
    assert ok_chair and ok_prac
    # when the chair records a decision through the service
    await sync_to_async(services.do_record_decision)(
        item=item,
        text="Refer for SPO application",
        rationale="Escalating contact",
        acting_user=world.police_chair,
    )
    # then the practitioner is told, by ids only (the deadline bounds a hang; speed is make bench's)
    message = await prac_ws.receive_json_from(timeout=30)
    assert message == {
        "type": "meeting.changed",
        "meeting_id": str(meeting.pk),
        "item_id": str(item.pk),
        "case_id": str(item.case_id),
        "version": message["version"],
        "kind": "decision",
    }
    # and the fragment they re-fetch shows the decision
    response = await get(signed_in, world.probation_practitioner, f"/meetings/{meeting.pk}/items/{item.pk}/")
    assert response.status_code == 200
    assert "Refer for SPO application" in response.content.decode()
    await chair_ws.disconnect()
    await prac_ws.disconnect()


async def test_scripted_meeting_sends_no_case_value_and_health_never_sees_victim_location(world, signed_in):
    # given a meeting, the chair and four practitioners connected, and a live feed on the case
    meeting = await sync_to_async(lambda: schedule(world))()
    item = await sync_to_async(lambda: meeting.items.get())()
    path = f"/ws/meetings/{meeting.pk}/"
    sockets = {}
    for name in ("police_chair", "police_practitioner", "probation_practitioner", "health_practitioner"):
        comm, ok, _ = await open_socket(signed_in, getattr(world, name), path)
        assert ok, name
        sockets[name] = comm
    feed, ok, _ = await open_socket(signed_in, world.health_practitioner, "/ws/live/")
    assert ok
    await feed.send_json_to({"subscribe": str(world.case.pk)})
    assert await feed.receive_json_from() == {"type": "subscribed", "case_id": str(world.case.pk)}
    secrets = [MINUTES_BODY, VICTIM_LOCATION, SUMMARY, "Dissenting view text", "Ms Dissenter", "Plan text"]
    chair = world.police_chair

    # when the chair runs the whole meeting
    def script() -> None:
        m = start(meeting)
        services.do_record_minutes(
            item=item,
            body=MINUTES_BODY,
            victim_safety_minutes=VICTIM_LOCATION,
            executive_summary=SUMMARY,
            version=0,
            acting_user=chair,
        )
        decision = services.do_record_decision(
            item=item,
            kind=DecisionKind.LEVEL_CHANGE,
            text="Level 3",
            rationale="Plan text",
            to_level=3,
            acting_user=chair,
        )
        services.do_record_dissent(
            decision=decision,
            name="Ms Dissenter",
            agency=world.agencies["probation"],
            view="Dissenting view text",
            acting_user=chair,
        )
        services.do_add_meeting_action(
            item=item,
            pillar=cc.Pillar.SUPERVISION,
            text="Plan text",
            owner=world.probation_practitioner,
            action_agency=world.agencies["probation"],
            due_on=m.scheduled_for.date(),
            acting_user=chair,
        )
        for attendee in m.attendees.filter(user__isnull=False):
            services.do_mark_attendance(attendee=attendee, attendance="present", acting_user=chair)
        m.refresh_from_db()
        services.do_sign_off(meeting=m, version=m.version, acting_user=chair)
        services.do_add_addendum(item=item, text="Correction: Plan text", acting_user=chair)

    await sync_to_async(script)()
    # then every message on every socket carries only ids, versions and kinds
    messages = []
    for comm in sockets.values():
        messages.extend(await drain_until(comm, "addendum"))
    messages.extend(await drain(feed))
    assert len(messages) > 10
    for message in messages:
        assert set(message) <= ALLOWED_KEYS, message
        dumped = json.dumps(message)
        for secret in secrets:
            assert secret not in dumped
    # and the health attendee's fetched fragments never include the victim location
    for url in (
        f"/meetings/{meeting.pk}/",
        f"/meetings/{meeting.pk}/room/",
        f"/meetings/{meeting.pk}/items/{item.pk}/",
        f"/meetings/{meeting.pk}/minutes/",
        f"/meetings/{meeting.pk}/minutes/?format=txt",
        f"/meetings/{meeting.pk}/summary/",
    ):
        body = (await get(signed_in, world.health_practitioner, url)).content.decode()
        assert VICTIM_LOCATION not in body, url
    health_minutes = (
        await get(signed_in, world.health_practitioner, f"/meetings/{meeting.pk}/minutes/")
    ).content
    assert MINUTES_BODY in health_minutes.decode()
    # while the police practitioner's copy has it
    police = (
        await get(signed_in, world.police_practitioner, f"/meetings/{meeting.pk}/minutes/")
    ).content.decode()
    assert VICTIM_LOCATION in police
    for comm in [*sockets.values(), feed]:
        await comm.disconnect()


async def test_ended_membership_closes_the_socket_before_the_next_event(world, signed_in):
    # given the probation practitioner in a running meeting
    meeting = await sync_to_async(lambda: start(schedule(world)))()
    item = await sync_to_async(lambda: meeting.items.get())()
    comm, ok, _ = await open_socket(signed_in, world.probation_practitioner, f"/ws/meetings/{meeting.pk}/")
    assert ok
    # when their membership is ended, then the chair records a decision
    membership = world.memberships["probation_practitioner"]
    await sync_to_async(do_end_membership)(membership=membership, acting_user=world.probation_admin)
    await sync_to_async(services.do_record_decision)(
        item=item, text="After revocation", rationale="r", acting_user=world.police_chair
    )
    # then the socket is closed with 4403 and no event reached it first
    output = await comm.receive_output(timeout=2)
    assert output == {"type": "websocket.close", "code": 4403}


async def test_revoked_share_unsubscribes_the_live_feed(world, signed_in):
    # given health subscribed to the case's live feed
    feed, ok, _ = await open_socket(signed_in, world.health_practitioner, "/ws/live/")
    assert ok
    await feed.send_json_to({"subscribe": str(world.case.pk)})
    assert (await feed.receive_json_from())["type"] == "subscribed"
    # when the share with health is revoked, then the case changes
    share = await sync_to_async(
        lambda: CaseShare.objects.get(case=world.case, agency=world.agencies["health"])
    )()
    await sync_to_async(do_revoke_share)(
        share=share, reason="No longer needed", acting_user=world.police_practitioner
    )
    await sync_to_async(do_add_note)(
        case=world.case,
        agency=world.agencies["police"],
        acting_user=world.police_practitioner,
        body="Note after revocation",
        category="C2",
    )
    # then health is unsubscribed and receives nothing about the later change
    messages = await drain(feed)
    assert {"type": "unsubscribed", "case_id": str(world.case.pk)} in messages
    unsubscribed_at = messages.index({"type": "unsubscribed", "case_id": str(world.case.pk)})
    assert not [m for m in messages[unsubscribed_at:] if m.get("type") == "case.changed"]
    await feed.disconnect()


async def test_exclusion_from_the_current_item_narrows_the_room(world, signed_in):
    # given probation in a running meeting on the current item
    meeting = await sync_to_async(lambda: start(schedule(world)))()
    item = await sync_to_async(lambda: meeting.items.get())()
    comm, ok, _ = await open_socket(signed_in, world.probation_practitioner, f"/ws/meetings/{meeting.pk}/")
    assert ok
    # when the chair excludes probation from the item and then minutes it
    await sync_to_async(services.do_exclude_agency)(
        item=item, agency=world.agencies["probation"], acting_user=world.police_chair
    )
    await sync_to_async(services.do_record_minutes)(
        item=item, body=MINUTES_BODY, version=0, acting_user=world.police_chair
    )
    # then probation is told to re-fetch, gets no event about the item's content, and sees "excluded"
    messages = await drain(comm)
    assert {"type": "authz.changed", "meeting_id": str(meeting.pk)} in messages
    assert not [m for m in messages if m.get("kind") == "minutes"]
    body = (
        await get(signed_in, world.probation_practitioner, f"/meetings/{meeting.pk}/room/")
    ).content.decode()
    assert "excluded from this item" in body and MINUTES_BODY not in body
    await comm.disconnect()


async def test_another_origin_is_refused(world, signed_in):
    meeting = await sync_to_async(lambda: schedule(world))()
    comm, ok, _ = await open_socket(
        signed_in, world.police_practitioner, f"/ws/meetings/{meeting.pk}/", origin=b"https://evil.example"
    )
    assert not ok


async def test_session_without_second_factor_is_refused(world, client):
    # given a session that passed the password but not the second factor
    meeting = await sync_to_async(lambda: schedule(world))()
    await sync_to_async(client.force_login)(world.police_practitioner)
    for path in (f"/ws/meetings/{meeting.pk}/", "/ws/live/"):
        comm, ok, code = await open_socket(None, world.police_practitioner, path, client=client)
        # then the socket is refused
        assert not ok and code == 4403


async def test_signed_out_everywhere_session_is_refused_and_open_socket_closed(world, signed_in):
    client = await sync_to_async(signed_in)(world.police_practitioner)
    comm, ok, _ = await open_socket(None, world.police_practitioner, "/ws/live/", client=client)
    assert ok
    # when the person signs out everywhere (from another session)
    other = await sync_to_async(signed_in)(world.police_practitioner)
    await sync_to_async(other.post)("/signout/everywhere/")
    # then the open socket is closed as signed out (4401) and the old session cannot reconnect
    output = await comm.receive_output(timeout=2)
    assert output == {"type": "websocket.close", "code": 4401}
    _again, ok, code = await open_socket(None, world.police_practitioner, "/ws/live/", client=client)
    assert not ok and code == 4401


async def test_non_attendee_is_refused_and_forbidden_case_subscription_refused(world, signed_in):
    meeting = await sync_to_async(lambda: schedule(world))()
    _comm, ok, code = await open_socket(signed_in, world.outsider_practitioner, f"/ws/meetings/{meeting.pk}/")
    assert not ok and code == 4403
    feed, ok, _ = await open_socket(signed_in, world.outsider_practitioner, "/ws/live/")
    assert ok
    await feed.send_json_to({"subscribe": str(world.case.pk)})
    assert await feed.receive_json_from() == {"type": "subscribe.refused", "case_id": str(world.case.pk)}
    await feed.disconnect()


async def test_membership_reaching_its_end_date_closes_the_socket_without_any_event(
    world, signed_in, monkeypatch
):
    # given a quick periodic re-check and the health practitioner's live feed
    monkeypatch.setattr("meetings.consumers.REVALIDATE_SECONDS", 0.2)
    feed, ok, _ = await open_socket(signed_in, world.health_practitioner, "/ws/live/")
    assert ok
    # when their membership's end date passes (time-based: no authz.changed is sent)
    from django.utils import timezone

    from agencies.models import Membership

    await sync_to_async(
        lambda: Membership.objects.filter(user=world.health_practitioner).update(valid_to=timezone.now())
    )()
    # then the periodic re-check closes the socket
    output = await feed.receive_output(timeout=3)
    assert output == {"type": "websocket.close", "code": 4403}


async def test_a_deeply_nested_or_broken_message_leaves_the_live_feed_working(world, signed_in):
    # given a partner's open live feed
    feed, ok, _ = await open_socket(signed_in, world.health_practitioner, "/ws/live/")
    assert ok
    # when it sends JSON nested 5000 deep, and text that is not JSON at all
    await feed.send_to(text_data="[" * 5000 + "]" * 5000)
    await feed.send_to(text_data="{not json")
    # then the socket is still open and the next subscription is answered
    await feed.send_json_to({"subscribe": str(world.case.pk)})
    assert await feed.receive_json_from(timeout=10) == {"type": "subscribed", "case_id": str(world.case.pk)}
    await feed.disconnect()
