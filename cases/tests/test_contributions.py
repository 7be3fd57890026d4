"""Contributions owned by their agency (issue 16 item 1, the foundation): each party to the case's
agreement records, on a police-led case, the categories its agreement lets it contribute (prefilled
from its agency type); the lead agency cannot overwrite another agency's contribution."""

from __future__ import annotations

from django.utils import timezone

from cases.models import Breach, Order, RiskAssessment
from sharing import policy
from sharing.models import AgreementParty

OASYS = {"tool": "oasys", "level": "high", "assessed_on": None}
SRP = {
    "tool": "srp",
    "srp_type": "rejected",
    "srp_domains": {
        "violence": "low",
        "persistence": "high",
        "recurrence": "moderate",
        "psychosocial_damage": "low",
    },
    "formulation": "Rejected-type stalking; persistence drives the risk.",
}


def _base(world):
    return f"/api/v1/cases/{world.case.pk}/"


def _order(client, world):
    today = str(timezone.localdate())
    return client.post(
        f"{_base(world)}orders/",
        {"order_type": "licence", "legal_basis": "CJA 2003 s250", "starts_on": today},
        format="json",
    )


def test_agreement_parties_contribute_their_agency_types_defaults(world):
    parties = {
        p.agency.agency_type: p.contribute_categories for p in AgreementParty.objects.select_related("agency")
    }
    assert parties["probation"] == ["C3", "C4"]
    assert parties["health"] == ["C3", "C6"]
    assert parties["victim_support"] == ["C7", "C8"]
    assert parties["cps"] == ["C4", "C9"]


def test_the_policy_answers_by_category_and_by_record_kind(world):
    assert policy.can_contribute(world.probation_practitioner, world.case, "assessment")
    assert policy.can_contribute(world.probation_practitioner, world.case, "breach")
    assert policy.can_contribute(world.health_practitioner, world.case, "C3")
    assert not policy.can_contribute(world.health_practitioner, world.case, "breach")
    assert not policy.can_contribute(world.isac_practitioner, world.case, "assessment")
    assert not policy.can_contribute(world.outsider_practitioner, world.case, "C3")
    assert not policy.can_contribute(world.probation_auditor, world.case, "C3")
    assert policy.can_contribute(world.police_practitioner, world.case, "C9")


def test_probation_records_an_oasys_in_its_own_name(world, api):
    response = api(world.probation_practitioner).post(f"{_base(world)}assessments/", OASYS, format="json")
    assert response.status_code == 201, response.content
    assessment = RiskAssessment.objects.get(pk=response.json()["id"])
    assert assessment.owner_agency_id == world.agencies["probation"].pk
    assert assessment.created_by_id == world.probation_practitioner.pk


def test_the_clinic_records_an_srp_on_a_police_led_case(world, api):
    response = api(world.health_practitioner).post(f"{_base(world)}assessments/", SRP, format="json")
    assert response.status_code == 201, response.content
    assert RiskAssessment.objects.get(pk=response.json()["id"]).owner_agency_id == world.agencies["health"].pk


def test_isac_does_not_record_an_assessment(world, api):
    response = api(world.isac_practitioner).post(f"{_base(world)}assessments/", OASYS, format="json")
    assert response.status_code == 403
    assert not RiskAssessment.objects.filter(case=world.case).exists()


def test_probation_records_a_licence_and_its_breach(world, api):
    client = api(world.probation_practitioner)
    order = _order(client, world)
    assert order.status_code == 201, order.content
    breach = client.post(
        f"{_base(world)}orders/{order.json()['id']}/breaches/",
        {
            "occurred_on": str(timezone.localdate()),
            "reported_by": "Offender manager",
            "description": "Curfew",
        },
        format="json",
    )
    assert breach.status_code == 201, breach.content
    assert Breach.objects.get(pk=breach.json()["id"]).owner_agency_id == world.agencies["probation"].pk


def test_the_lead_cannot_overwrite_probations_order(world, api):
    # given probation's licence
    order_id = _order(api(world.probation_practitioner), world).json()["id"]
    # when the lead agency changes it
    response = api(world.police_practitioner).patch(
        f"{_base(world)}orders/{order_id}/", {"version": 1, "legal_basis": "Something else"}, format="json"
    )
    # then it is refused and the order is as probation recorded it
    assert response.status_code == 403
    order = Order.objects.get(pk=order_id)
    assert order.version == 1 and order.legal_basis == "CJA 2003 s250"


def test_probation_changes_its_own_order(world, api):
    order_id = _order(api(world.probation_practitioner), world).json()["id"]
    response = api(world.probation_practitioner).patch(
        f"{_base(world)}orders/{order_id}/", {"version": 1, "court": "Northshire Crown Court"}, format="json"
    )
    assert response.status_code == 200, response.content


def test_on_the_page_probation_records_a_breach_and_isac_may_not_record_an_assessment(world, api, signed_in):
    # given probation's licence
    order_id = _order(api(world.probation_practitioner), world).json()["id"]
    probation = signed_in(world.probation_practitioner)
    # when probation opens the case page and records a breach; ISAC opens the assessment page
    page = probation.get(f"/cases/{world.case.pk}/").content.decode()
    response = probation.post(
        f"/cases/{world.case.pk}/orders/{order_id}/breaches/new/",
        {
            "occurred_on": str(timezone.localdate()),
            "reported_by": "Offender manager",
            "description": "Curfew",
        },
    )
    refused = signed_in(world.isac_practitioner).get(f"/cases/{world.case.pk}/assessments/new/")
    # then probation is offered and records it in its own name; ISAC is refused
    assert "Record an assessment" in page and "Record a breach" in page
    assert response.status_code == 302, response.content
    assert Breach.objects.get(order_id=order_id).owner_agency_id == world.agencies["probation"].pk
    assert refused.status_code == 403
