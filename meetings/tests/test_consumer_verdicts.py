"""The room's cached verdicts (meetings.consumers): cheap per event, never weaker than a re-check.

A socket's verdict (session, second factor, memberships, named attendee) and its per-item verdicts
(``policy.agenda_item_view``) are reused for consecutive events; ``authz.changed``, a room event that
changes who sees what, and the verdict's lapse each force a real re-check first.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from agencies.models import Membership
from agencies.services import do_end_membership
from meetings import consumers, services
from sharing import policy
from sharing.models import CaseShare
from sharing.services import do_revoke_share

from .helpers import schedule, start
from .test_consumers import drain, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_timer(monkeypatch: Any) -> None:
    """No periodic re-validation during these tests: what they observe is the per-event rule alone."""
    monkeypatch.setattr(consumers, "REVALIDATE_SECONDS", 3600.0)


async def decide(world: Any, item: Any, text: str) -> None:
    await sync_to_async(services.do_record_decision)(
        item=item, text=text, rationale="Escalating contact", acting_user=world.police_chair
    )


async def running_meeting(world: Any, acknowledge: bool = True) -> tuple[Any, Any, str]:
    def build() -> tuple[Any, Any]:
        meeting = start(schedule(world, acknowledge=acknowledge))
        return meeting, meeting.items.get()

    meeting, item = await sync_to_async(build)()
    return meeting, item, f"/ws/meetings/{meeting.pk}/"


def kinds(messages: list[dict[str, Any]]) -> list[Any]:
    return [m.get("kind") or m.get("type") or m for m in messages]


async def test_consecutive_events_use_the_cached_verdicts_without_asking_the_policy_again(
    world, signed_in, monkeypatch
):
    # given the probation practitioner in a running meeting, with the policy's answers counted
    meeting, item, path = await running_meeting(world)
    calls = {"session": 0, "item": 0}
    real_session, real_item_view = consumers.session_is_current, policy.agenda_item_view
    me = world.probation_practitioner.pk

    def counted_session(session: Any) -> Any:
        user = real_session(session)
        if user is not None and user.pk == me:
            calls["session"] += 1
        return user

    def counted_item_view(user: Any, meeting: Any, item: Any) -> Any:
        if user.pk == me:
            calls["item"] += 1
        return real_item_view(user, meeting, item)

    monkeypatch.setattr(consumers, "session_is_current", counted_session)
    monkeypatch.setattr(policy, "agenda_item_view", counted_item_view)
    comm, ok, _ = await open_socket(signed_in, world.probation_practitioner, path)
    assert ok
    assert calls == {"session": 1, "item": 0}  # the connect's own check
    # when the chair records three decisions on the same item
    for n in range(3):
        await decide(world, item, f"Decision {n}")
    # then all three arrive, the session was not checked again, and the item was judged once
    messages = await drain(comm)
    assert kinds(messages) == ["decision", "decision", "decision"]
    assert calls == {"session": 1, "item": 1}
    await comm.disconnect()


async def test_ended_membership_after_cached_events_gets_nothing_more(world, signed_in):
    # given the probation practitioner already receiving decisions on a cached verdict
    meeting, item, path = await running_meeting(world)
    comm, ok, _ = await open_socket(signed_in, world.probation_practitioner, path)
    assert ok
    await decide(world, item, "Before")
    assert kinds(await drain(comm)) == ["decision"]
    # when their membership is ended (authz.changed) and the chair records another decision
    await sync_to_async(do_end_membership)(
        membership=world.memberships["probation_practitioner"], acting_user=world.probation_admin
    )
    await decide(world, item, "After")
    # then the socket is closed with 4403 and the later decision never reached it
    assert await comm.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}


async def test_revoked_share_withholds_item_events_though_the_item_verdict_was_cached(world, signed_in):
    # given health (seeing the case through a share) and police both in the room, both told of a decision
    meeting, item, path = await running_meeting(world)
    health, ok_h, _ = await open_socket(signed_in, world.health_practitioner, path)
    police, ok_p, _ = await open_socket(signed_in, world.police_practitioner, path)
    assert ok_h and ok_p
    await decide(world, item, "Before")
    assert kinds(await drain(health)) == ["decision"]
    assert kinds(await drain(police)) == ["decision"]
    # when the share with health is revoked (authz.changed to health) and another decision is recorded
    share = await sync_to_async(
        lambda: CaseShare.objects.get(case=world.case, agency=world.agencies["health"])
    )()
    await sync_to_async(do_revoke_share)(
        share=share, reason="No longer needed", acting_user=world.police_practitioner
    )
    await decide(world, item, "After")
    # then police is told and health is not (health only hears that its access changed)
    assert "decision" in kinds(await drain(police))
    health_messages = await drain(health)
    assert "decision" not in kinds(health_messages)
    assert {"type": "authz.changed", "meeting_id": str(meeting.pk)} in health_messages
    await health.disconnect()
    await police.disconnect()


async def test_lapsed_verdict_rechecks_and_refuses_an_access_that_ended_without_any_event(
    world, signed_in, monkeypatch
):
    # given the probation practitioner receiving decisions on a cached verdict
    meeting, item, path = await running_meeting(world)
    comm, ok, _ = await open_socket(signed_in, world.probation_practitioner, path)
    assert ok
    await decide(world, item, "Before")
    assert kinds(await drain(comm)) == ["decision"]
    # when their membership reaches its end date (no authz.changed is sent) and the verdict lapses
    await sync_to_async(
        lambda: Membership.objects.filter(user=world.probation_practitioner).update(valid_to=timezone.now())
    )()
    real_clock = consumers._clock
    monkeypatch.setattr(consumers, "_clock", lambda: real_clock() + consumers.VERDICT_SECONDS + 1)
    await decide(world, item, "After")
    # then the next event triggers a real re-check, which closes the socket before forwarding anything
    assert await comm.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}


async def test_membership_end_date_bounds_the_verdict(world, signed_in, monkeypatch):
    # given a verdict lifetime far longer than usual, a membership ending in ten minutes, and a socket
    monkeypatch.setattr(consumers, "VERDICT_SECONDS", 24 * 3600.0)
    ends = timezone.now() + timedelta(minutes=10)
    await sync_to_async(
        lambda: Membership.objects.filter(user=world.probation_practitioner).update(valid_to=ends)
    )()
    meeting, item, path = await running_meeting(world)
    comm, ok, _ = await open_socket(signed_in, world.probation_practitioner, path)
    assert ok
    # when both clocks pass the membership's end (no event is sent) and the chair records a decision
    monkeypatch.setattr(timezone, "now", lambda: ends + timedelta(seconds=1))
    real_clock = consumers._clock
    monkeypatch.setattr(consumers, "_clock", lambda: real_clock() + 601)
    await decide(world, item, "After the end")
    # then the verdict has lapsed at the end date: the re-check refuses and closes before forwarding
    assert await comm.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}


async def test_unacknowledged_attendee_gets_item_events_only_after_acknowledging(world, signed_in):
    # given the probation practitioner in the room without having acknowledged the statement
    meeting, item, path = await running_meeting(world, acknowledge=False)
    comm, ok, _ = await open_socket(signed_in, world.probation_practitioner, path)
    assert ok
    await decide(world, item, "Before acknowledging")
    assert "decision" not in kinds(await drain(comm))
    # when they acknowledge it (an attendance event re-judges the room) and a decision follows
    attendee = await sync_to_async(lambda: meeting.attendees.get(user=world.probation_practitioner))()
    await sync_to_async(services.do_acknowledge_confidentiality)(
        attendee=attendee, acting_user=world.probation_practitioner
    )
    await decide(world, item, "After acknowledging")
    # then the later decision reaches them (the withheld verdict was not kept)
    assert kinds(await drain(comm)) == ["attendance", "decision"]
    await comm.disconnect()


async def test_an_agency_joined_after_connect_brings_its_authz_changes_to_the_socket(world, signed_in):
    from channels.layers import get_channel_layer

    from agencies.models import Role
    from agencies.services import do_add_membership

    # given the probation practitioner in the room, who then also becomes a CPS practitioner
    meeting, item, path = await running_meeting(world)
    comm, ok, _ = await open_socket(signed_in, world.probation_practitioner, path)
    assert ok
    await sync_to_async(do_add_membership)(
        user=world.probation_practitioner,
        agency=world.agencies["cps"],
        role=Role.PRACTITIONER,
        acting_user=world.cps_admin,
    )
    assert kinds(await drain(comm)) == ["authz.changed"]  # the re-check after the new membership
    # when an access change is announced to CPS (say, a share to CPS revoked)
    await get_channel_layer().group_send(f"agency.{world.agencies['cps'].pk}", {"type": "authz.changed"})
    # then this socket hears it and re-checks (the room asks the page to re-fetch)
    assert kinds(await drain(comm)) == ["authz.changed"]
    await comm.disconnect()
