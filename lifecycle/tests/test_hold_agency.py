"""The agency a legal hold is placed for: the lead agency if the DPO or admin acts for it, else an
agency of theirs the case is shared with NOW (a live share). Never an agency whose share was
revoked, and never a guess such as the user's lowest-numbered agency (policy.legal_hold_placing_agency_id)."""

from __future__ import annotations

from typing import Any

from agencies.models import Role
from agencies.services import do_add_membership
from lifecycle.models import LegalHold
from sharing import policy
from sharing.services import do_revoke_share


def _dpo_of_health_and_probation(world: Any) -> Any:
    """probation_dpo is also health's DPO; the case's share with health is then revoked."""
    user = world.probation_dpo
    do_add_membership(
        user=user, agency=world.agencies["health"], role=Role.DPO, acting_user=world.police_admin
    )
    share = world.case.shares.get(agency=world.agencies["health"])
    do_revoke_share(share=share, reason="Treatment ended", acting_user=world.police_chair)
    policy.forget(user)
    return user


def test_a_hold_is_placed_for_the_agency_with_the_live_share(world: Any, api: Any) -> None:
    # given a DPO of two agencies, one of whose shares of the case was revoked
    user = _dpo_of_health_and_probation(world)
    # when they place a hold through the API
    response = api(user).post(
        "/api/v1/lifecycle/holds/", {"case": world.case.reference, "reason": "Appeal pending"}, format="json"
    )
    # then the hold is the live-share agency's (probation), not the revoked one's (health)
    assert response.status_code == 201
    assert LegalHold.objects.get(case=world.case).agency == world.agencies["probation"]


def test_a_hold_is_placed_for_the_live_share_agency_on_the_page(world: Any, signed_in: Any) -> None:
    user = _dpo_of_health_and_probation(world)
    response = signed_in(user).post(
        "/lifecycle/holds/", {"case": world.case.reference, "reason": "Appeal pending"}
    )
    assert response.status_code == 302
    assert LegalHold.objects.get(case=world.case).agency == world.agencies["probation"]


def test_the_placing_agency_agrees_with_can_set_legal_hold(world: Any) -> None:
    user = _dpo_of_health_and_probation(world)
    assert policy.legal_hold_placing_agency_id(user, world.case) == world.agencies["probation"].pk
    for other in world.users.values():
        policy.forget(other)
        placing = policy.legal_hold_placing_agency_id(other, world.case)
        assert (placing is not None) == policy.can_set_legal_hold(other, world.case), other
        if placing is not None:
            assert placing in policy.lifecycle_agency_ids(other)
