"""The live nudge over the existing socket: a new notice reaches the person's open page as
``{"type": "notification.new"}`` (no content, no count), and nobody else's."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async

from meetings.tests.test_consumers import drain, open_socket
from tests.world import make_case

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_new_share_nudges_the_partners_open_page_and_no_one_elses(world: Any, signed_in: Any) -> None:
    # given probation's practitioner and the outsider police practitioner with ws/live/ open
    partner, partner_ok, _ = await open_socket(signed_in, world.probation_practitioner, "/ws/live/")
    outsider, outsider_ok, _ = await open_socket(signed_in, world.outsider_practitioner, "/ws/live/")
    assert partner_ok and outsider_ok
    # when the police practitioner shares a new case with probation
    from sharing.services import do_share_case

    def share() -> None:
        case = make_case(world, family="Nudged")
        do_share_case(
            case=case,
            agency=world.agencies["probation"],
            agreement=world.agreement,
            categories=["C1"],
            purpose="Joint risk management.",
            acting_user=world.police_practitioner,
            acting_agency=world.agencies["police"],
        )

    await sync_to_async(share)()
    # then the partner's page is nudged with the type alone, and the outsider hears nothing
    message = await partner.receive_json_from(timeout=30)
    assert message == {"type": "notification.new"}
    assert not [m for m in await drain(outsider) if m.get("type") == "notification.new"]
    await partner.disconnect()
    await outsider.disconnect()
