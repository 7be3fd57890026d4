"""Who may lift a legal hold: the placing agency's DPO, or the lead agency's DPO (an override, recorded
with its reason). Everyone else gets 404 on page and API, and nothing is written."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import AuditEvent, Op
from lifecycle.models import LegalHold
from lifecycle.services import do_set_legal_hold
from sharing import policy


def cps_hold(world: Any) -> LegalHold:
    """The CPS DPO holds the police-led case (shared with the CPS) for a prosecution."""
    return do_set_legal_hold(
        case=world.case,
        reason="Trial listed at Northtown Crown Court",
        acting_user=world.cps_dpo,
        agency=world.agencies["cps"],
    )


def lifted_events(hold: LegalHold) -> list[dict[str, Any]]:
    return list(
        AuditEvent.objects.filter(
            op=Op.LEGAL_HOLD, object_id=str(hold.pk), detail__change="lifted"
        ).values_list("detail", flat=True)
    )


OTHERS = [
    "health_admin",
    "health_dpo",
    "probation_dpo",
    "isac_dpo",
    "cps_admin",
    "police_admin",
    "cps_practitioner",
    "outsider_dpo",
]


@pytest.mark.parametrize("persona", OTHERS)
def test_other_agencies_and_admins_cannot_lift_another_agencys_hold_on_the_api(
    world: Any, api: Any, persona: str
) -> None:
    # given a CPS hold on a police-led case
    hold = cps_hold(world)

    # when anyone but the two DPOs tries to lift it through the API
    response = api(world.users[persona]).post(
        f"/api/v1/lifecycle/holds/{hold.pk}/lift/", {"reason": "No longer needed"}, format="json"
    )

    # then it looks exactly like a hold that does not exist, and nothing is written
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    hold.refresh_from_db()
    assert hold.is_active and hold.lifted_by is None
    assert lifted_events(hold) == []
    assert not policy.can_lift_legal_hold(world.users[persona], hold)


@pytest.mark.parametrize("persona", OTHERS)
def test_other_agencies_and_admins_cannot_lift_another_agencys_hold_on_the_page(
    world: Any, signed_in: Any, persona: str
) -> None:
    hold = cps_hold(world)
    response = signed_in(world.users[persona]).post(
        f"/lifecycle/holds/{hold.pk}/lift/", {"lift_reason": "No longer needed"}
    )
    assert response.status_code == 404
    hold.refresh_from_db()
    assert hold.is_active
    assert lifted_events(hold) == []


def test_an_agency_that_only_shares_the_case_does_not_see_another_agencys_hold(world: Any, api: Any) -> None:
    hold = cps_hold(world)
    health = world.agencies["health"]
    listed = api(world.health_admin).get(f"/api/v1/lifecycle/holds/?agency={health.pk}").json()["results"]
    assert listed == []
    assert not policy.legal_holds_visible_to(world.health_admin).filter(pk=hold.pk).exists()
    # while the placing and the lead agency see it
    assert policy.legal_holds_visible_to(world.cps_admin).filter(pk=hold.pk).exists()
    assert policy.legal_holds_visible_to(world.police_admin).filter(pk=hold.pk).exists()


def test_the_placing_agencys_dpo_lifts_its_own_hold(world: Any, api: Any) -> None:
    hold = cps_hold(world)
    cps = world.agencies["cps"]
    listed = api(world.cps_dpo).get(f"/api/v1/lifecycle/holds/?agency={cps.pk}").json()["results"]
    assert [(h["id"], h["may_lift"]) for h in listed] == [(str(hold.pk), True)]

    response = api(world.cps_dpo).post(
        f"/api/v1/lifecycle/holds/{hold.pk}/lift/", {"reason": "Defendant sentenced"}, format="json"
    )

    assert response.status_code == 200
    hold.refresh_from_db()
    assert not hold.is_active and hold.lifted_by == world.cps_dpo
    event = AuditEvent.objects.get(op=Op.LEGAL_HOLD, object_id=str(hold.pk), detail__change="lifted")
    assert event.actor_agency_id == cps.pk
    assert event.detail["override"] is False
    assert event.justification == "Defendant sentenced"


def test_the_lead_agencys_dpo_may_override_with_a_reason_recorded(world: Any, signed_in: Any) -> None:
    hold = cps_hold(world)
    police = world.agencies["police"]
    client = signed_in(world.police_dpo)

    # without a reason nothing is lifted
    client.post(f"/lifecycle/holds/{hold.pk}/lift/", {"lift_reason": "   "})
    hold.refresh_from_db()
    assert hold.is_active

    # with one, the lift is recorded as the lead agency's override of the CPS hold
    response = client.post(f"/lifecycle/holds/{hold.pk}/lift/", {"lift_reason": "CPS confirmed no trial"})
    assert response.status_code == 302
    hold.refresh_from_db()
    assert not hold.is_active and hold.lift_reason == "CPS confirmed no trial"
    [detail] = lifted_events(hold)
    assert detail["override"] is True and detail["placed_by_agency"] == world.agencies["cps"].pk
    event = AuditEvent.objects.get(op=Op.LEGAL_HOLD, object_id=str(hold.pk), detail__change="lifted")
    assert event.actor_agency_id == police.pk
    assert event.justification == "CPS confirmed no trial"


def test_the_holds_page_offers_lifting_only_to_who_may_lift(world: Any, signed_in: Any) -> None:
    hold = cps_hold(world)
    lift_url = f"/lifecycle/holds/{hold.pk}/lift/"
    cps = world.agencies["cps"]
    assert lift_url in signed_in(world.cps_dpo).get(f"/lifecycle/holds/?agency={cps.pk}").content.decode()
    page = signed_in(world.cps_admin).get(f"/lifecycle/holds/?agency={cps.pk}").content.decode()
    assert world.case.reference in page and lift_url not in page
