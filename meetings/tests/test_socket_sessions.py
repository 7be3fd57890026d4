"""A live socket lasts no longer than its session (issue 14).

Signing out, the idle limit and the absolute limit end a session for HTTP; they end its sockets too,
within seconds, with close code 4401 — and only that session's sockets: the person's other sessions
carry on.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from agencies import sessions
from agencies.sessions import SESSION_STARTED, SSO_UNTIL, socket_group, stored_session
from cases.services import do_add_note

from .helpers import schedule, start
from .test_consumers import open_socket

pytestmark = pytest.mark.django_db(transaction=True)
SIGNED_OUT = {"type": "websocket.close", "code": 4401}
DEADLINE = 10.0  # seconds to wait for the close; it comes as soon as the session ends


async def subscribed_feed(client: Any, user: Any, case: Any) -> Any:
    feed, ok, _ = await open_socket(None, user, "/ws/live/", client=client)
    assert ok
    await feed.send_json_to({"subscribe": str(case.pk)})
    assert await feed.receive_json_from(timeout=DEADLINE) == {"type": "subscribed", "case_id": str(case.pk)}
    return feed


async def add_note(world: Any, body: str) -> Any:
    return await sync_to_async(do_add_note)(
        case=world.case,
        agency=world.agencies["police"],
        acting_user=world.police_practitioner,
        body=body,
        category="C2",
    )


def session_key(client: Any) -> str:
    return str(client.cookies[settings.SESSION_COOKIE_NAME].value)


async def test_signing_out_closes_that_sessions_sockets_and_no_other(world: Any, signed_in: Any) -> None:
    # given the police practitioner signed in twice (two devices), each with a live feed on the case
    laptop = await sync_to_async(signed_in)(world.police_practitioner)
    phone = await sync_to_async(signed_in)(world.police_practitioner)
    laptop_feed = await subscribed_feed(laptop, world.police_practitioner, world.case)
    phone_feed = await subscribed_feed(phone, world.police_practitioner, world.case)
    # when they sign out on the laptop
    response = await sync_to_async(laptop.post)("/signout/")
    assert response.status_code == 302
    # then the laptop's socket closes as signed out
    assert await laptop_feed.receive_output(timeout=DEADLINE) == SIGNED_OUT
    # and the laptop's session cannot open another one
    _again, ok, code = await open_socket(None, world.police_practitioner, "/ws/live/", client=laptop)
    assert not ok and code == 4401
    # while the phone's socket still receives the case's changes
    note = await add_note(world, "After signing out on the laptop")
    message = await phone_feed.receive_json_from(timeout=DEADLINE)
    assert message["type"] == "case.changed" and message["object_id"] == str(note.pk)
    await phone_feed.disconnect()


async def test_signing_out_closes_the_meeting_room_socket(world: Any, signed_in: Any) -> None:
    # given the probation practitioner in a running meeting's room
    meeting = await sync_to_async(lambda: start(schedule(world)))()
    client = await sync_to_async(signed_in)(world.probation_practitioner)
    room, ok, _ = await open_socket(
        None, world.probation_practitioner, f"/ws/meetings/{meeting.pk}/", client=client
    )
    assert ok
    # when they sign out
    await sync_to_async(client.post)("/signout/")
    # then the room socket closes as signed out
    assert await room.receive_output(timeout=DEADLINE) == SIGNED_OUT


async def test_a_session_past_its_idle_limit_takes_no_new_subscription(
    world: Any, signed_in: Any, monkeypatch: Any
) -> None:
    # given a subscribed live feed
    client = await sync_to_async(signed_in)(world.police_practitioner)
    feed = await subscribed_feed(client, world.police_practitioner, world.case)
    # when the idle limit passes with no HTTP request (the clock moves past the session's expiry)
    real_now = sessions._now
    monkeypatch.setattr(
        sessions, "_now", lambda: real_now() + timedelta(seconds=settings.SESSION_COOKIE_AGE + 1)
    )
    # and the page asks for another subscription
    await feed.send_json_to({"subscribe": str(world.case.pk)})
    # then the socket closes as signed out instead
    assert await feed.receive_output(timeout=DEADLINE) == SIGNED_OUT


async def test_a_session_past_its_idle_limit_receives_no_further_event(
    world: Any, signed_in: Any, monkeypatch: Any
) -> None:
    # given a subscribed live feed
    client = await sync_to_async(signed_in)(world.police_practitioner)
    feed = await subscribed_feed(client, world.police_practitioner, world.case)
    # when the idle limit passes and then the case changes
    real_now = sessions._now
    monkeypatch.setattr(
        sessions, "_now", lambda: real_now() + timedelta(seconds=settings.SESSION_COOKIE_AGE + 1)
    )
    await add_note(world, "After the idle limit")
    # then the socket closes as signed out, and the change never reaches it
    assert await feed.receive_output(timeout=DEADLINE) == SIGNED_OUT


async def test_the_idle_limit_closes_a_quiet_room_socket_on_time(world: Any, signed_in: Any) -> None:
    # given a room socket whose session idles out in a moment (no event will come)
    meeting = await sync_to_async(lambda: start(schedule(world)))()
    client = await sync_to_async(signed_in)(world.probation_practitioner)
    key = session_key(client)
    await sync_to_async(
        lambda: Session.objects.filter(session_key=key).update(
            expire_date=timezone.now() + timedelta(seconds=1)
        )
    )()
    room, ok, _ = await open_socket(
        None, world.probation_practitioner, f"/ws/meetings/{meeting.pk}/", client=client
    )
    assert ok
    # then, when it idles out, the socket is closed as signed out without any event
    assert await room.receive_output(timeout=DEADLINE) == SIGNED_OUT


def _start_session_at(client: Any, started: float) -> None:
    session = client.session
    session[SESSION_STARTED] = started
    session.save()


async def test_the_absolute_limit_closes_an_open_socket_on_time(world: Any, signed_in: Any) -> None:
    # given a live feed whose session reaches its absolute limit in a moment, however active it is
    client = await sync_to_async(signed_in)(world.police_practitioner)
    limit = settings.CONVENE_SESSION_ABSOLUTE_SECONDS
    await sync_to_async(_start_session_at)(client, time.time() - limit + 1.0)
    feed = await subscribed_feed(client, world.police_practitioner, world.case)
    # then, at the limit, the socket is closed as signed out without any event
    assert await feed.receive_output(timeout=DEADLINE) == SIGNED_OUT
    # and the session opens no new socket
    _again, ok, code = await open_socket(None, world.police_practitioner, "/ws/live/", client=client)
    assert not ok and code == 4401


async def test_an_http_request_past_the_absolute_limit_closes_the_sessions_sockets(
    world: Any, signed_in: Any
) -> None:
    # given an open live feed
    client = await sync_to_async(signed_in)(world.police_practitioner)
    await sync_to_async(_start_session_at)(client, time.time())
    feed = await subscribed_feed(client, world.police_practitioner, world.case)
    # when the session is found past its absolute limit on the next page load
    await sync_to_async(_start_session_at)(
        client, time.time() - settings.CONVENE_SESSION_ABSOLUTE_SECONDS - 60
    )
    response = await sync_to_async(client.get)("/")
    assert response.status_code == 302 and "expired=1" in response["Location"]
    # then the middleware's sign-out closes the socket as signed out
    assert await feed.receive_output(timeout=DEADLINE) == SIGNED_OUT


async def test_access_withdrawn_still_closes_with_4403(world: Any, signed_in: Any) -> None:
    # given a live feed, when the person's memberships all end (their session itself stands)
    from agencies.models import Membership

    client = await sync_to_async(signed_in)(world.health_practitioner)
    feed, ok, _ = await open_socket(None, world.health_practitioner, "/ws/live/", client=client)
    assert ok
    await sync_to_async(
        lambda: Membership.objects.filter(user=world.health_practitioner).update(valid_to=timezone.now())
    )()
    await feed.send_json_to({"subscribe": str(world.case.pk)})
    # then the socket closes as forbidden, not as signed out
    assert await feed.receive_output(timeout=DEADLINE) == {"type": "websocket.close", "code": 4403}


def test_http_use_pushes_the_idle_end_on(world: Any, signed_in: Any) -> None:
    # given a session about to idle out
    client = signed_in(world.police_practitioner)
    key = session_key(client)
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() + timedelta(seconds=5))
    before = stored_session(key)
    assert before is not None
    # when the person loads a page
    assert client.get("/").status_code == 200
    # then the session, as a socket reads it, ends a full idle period later
    after = stored_session(key)
    assert after is not None
    assert after.ends_at >= timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)


def test_a_signed_out_or_unknown_session_is_not_stored(world: Any, signed_in: Any) -> None:
    client = signed_in(world.police_practitioner)
    key = session_key(client)
    assert stored_session(key) is not None
    client.post("/signout/")
    assert stored_session(key) is None
    assert stored_session("") is None and stored_session(None) is None


def test_the_session_group_never_carries_the_session_key() -> None:
    group = socket_group("abc123sessionkey")
    assert "abc123sessionkey" not in group
    assert group.startswith("session.") and len(group) < 100
    assert group == socket_group("abc123sessionkey") != socket_group("another-key")


def _provider_session_until(client: Any, until: float) -> None:
    session = client.session
    session[SESSION_STARTED] = time.time()
    session[SSO_UNTIL] = until
    session.save()


async def test_a_provider_sessions_end_closes_its_open_socket_on_time(world: Any, signed_in: Any) -> None:
    # given a live feed whose session began at an agency's provider, whose ID token runs out in a moment
    client = await sync_to_async(signed_in)(world.police_practitioner)
    await sync_to_async(_provider_session_until)(client, time.time() + 1.0)
    feed = await subscribed_feed(client, world.police_practitioner, world.case)
    # then, when it runs out, the socket is closed as signed out without any event
    assert await feed.receive_output(timeout=DEADLINE) == SIGNED_OUT
    # and the session opens no new socket
    _again, ok, code = await open_socket(None, world.police_practitioner, "/ws/live/", client=client)
    assert not ok and code == 4401
