"""Deactivating an agency closes its people's live connections at once (authz.changed → 4403)."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async

from agencies.services import do_deactivate_agency
from meetings import services
from meetings.tests.helpers import schedule, start
from meetings.tests.test_consumers import open_socket

pytestmark = pytest.mark.django_db(transaction=True)


async def test_deactivating_an_agency_closes_its_members_sockets_before_the_next_event(
    world: Any, signed_in: Any
) -> None:
    # given the probation practitioner in a running meeting
    meeting = await sync_to_async(lambda: start(schedule(world)))()
    item = await sync_to_async(lambda: meeting.items.get())()
    comm, ok, _ = await open_socket(signed_in, world.probation_practitioner, f"/ws/meetings/{meeting.pk}/")
    assert ok
    # when an operator deactivates probation, then the chair records a decision
    await sync_to_async(do_deactivate_agency)(agency=world.agencies["probation"], acting_user=None)
    await sync_to_async(services.do_record_decision)(
        item=item, text="After deactivation", rationale="r", acting_user=world.police_chair
    )
    # then the socket is closed with 4403 and no event reached it first
    output = await comm.receive_output(timeout=5)
    assert output == {"type": "websocket.close", "code": 4403}
