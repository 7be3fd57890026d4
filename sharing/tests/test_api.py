"""The sharing REST API: agreements, shares, break-glass, disclosures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent, Op
from sharing.models import BreakGlass, CaseShare, Disclosure, SharingAgreement
from tests.world import make_case

API = "/api/v1"


@pytest.fixture
def api(api):
    """The project's verified API client, sending JSON by default (the API parses JSON only)."""

    def make(user):
        client = api(user)
        client.default_format = "json"
        return client

    return make


def agreement_body(world, reference="ISA-API-1"):
    today = timezone.localdate()
    return {
        "reference": reference,
        "title": "Police and probation",
        "purpose": "Joint management.",
        "dpia_reference": "DPIA-1",
        "retention_rule": "Six years.",
        "security_terms": "OFFICIAL-SENSITIVE.",
        "starts_on": str(today),
        "review_on": str(today + timedelta(days=200)),
        "parties": [
            {
                "agency": world.agencies["police"].pk,
                "legal_gateway": "CJA 2003 s325",
                "categories": {"C1": 2},
            },
            {
                "agency": world.agencies["probation"].pk,
                "legal_gateway": "CJA 2003 s325",
                "categories": {"C1": 2},
            },
        ],
    }


def test_agreement_draft_sign_activate_suspend_terminate_over_the_api(world, api):
    admin = api(world.police_admin)
    # when a police admin drafts an agreement
    response = admin.post(f"{API}/agreements/", agreement_body(world), format="json")
    assert response.status_code == 201, response.json()
    pk = response.json()["id"]
    assert response.json()["status"] == "draft"
    # then activating before probation signs is a 400 naming the field
    response = admin.post(f"{API}/agreements/{pk}/activate/", {}, format="json")
    assert response.status_code == 400
    assert "status" in response.json()["errors"]
    # when both parties sign and police activates
    assert (
        admin.post(
            f"{API}/agreements/{pk}/sign/", {"signatory_name": "A", "signatory_role": "CC"}
        ).status_code
        == 200
    )
    probation = api(world.probation_admin)
    assert (
        probation.post(
            f"{API}/agreements/{pk}/sign/", {"signatory_name": "B", "signatory_role": "Head"}
        ).status_code
        == 200
    )
    assert probation.post(f"{API}/agreements/{pk}/activate/", {}).status_code == 403
    response = admin.post(f"{API}/agreements/{pk}/activate/", {})
    assert response.status_code == 200 and response.json()["status"] == "active"
    # then a party may suspend with a reason, and the drafter terminate
    assert probation.post(f"{API}/agreements/{pk}/suspend/", {}).status_code == 400
    response = probation.post(f"{API}/agreements/{pk}/suspend/", {"reason": "Breach review"})
    assert response.json()["status"] == "suspended"
    response = admin.post(f"{API}/agreements/{pk}/terminate/", {"reason": "Replaced"})
    assert response.json()["status"] == "terminated"


def test_agreement_create_bad_input_names_the_field(world, api):
    admin = api(world.police_admin)
    body = agreement_body(world)
    body["parties"][1]["categories"] = {"C99": 2}
    response = admin.post(f"{API}/agreements/", body, format="json")
    assert response.status_code == 400
    assert "parties" in response.json()["errors"]
    body = agreement_body(world, reference="ISA-NS-2026-01")
    response = admin.post(f"{API}/agreements/", body, format="json")
    assert response.status_code == 400 and "reference" in response.json()["errors"]
    # and practitioners may not draft
    assert (
        api(world.police_practitioner)
        .post(f"{API}/agreements/", agreement_body(world), format="json")
        .status_code
        == 403
    )
    assert SharingAgreement.objects.count() == 1


def test_agreements_list_and_detail_hide_what_is_not_yours(world, api):
    response = api(world.health_auditor).get(f"{API}/agreements/?status=active")
    assert [a["reference"] for a in response.json()["results"]] == ["ISA-NS-2026-01"]
    outsider = api(world.outsider_admin)
    assert outsider.get(f"{API}/agreements/").json()["results"] == []
    assert outsider.get(f"{API}/agreements/{world.agreement.pk}/").status_code == 404


def test_share_list_create_and_revoke(world, api):
    case = make_case(world, family="Api")
    owner = api(world.police_practitioner)
    url = f"{API}/cases/{case.pk}/shares/"
    # when the owner shares C1 and C3 with probation
    response = owner.post(
        url,
        {
            "agency": world.agencies["probation"].pk,
            "agreement": str(world.agreement.pk),
            "categories": ["C1", "C3"],
            "purpose": "MAPPA",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    share_id = response.json()["id"]
    assert response.json()["agreement_reference"] == "ISA-NS-2026-01"
    # then probation sees the case and its own share
    probation = api(world.probation_practitioner)
    assert [s["id"] for s in probation.get(url).json()["results"]] == [share_id]
    # and a partner may not share or revoke
    assert probation.post(f"{API}/shares/{share_id}/revoke/", {"reason": "x"}).status_code == 403
    # outsiders get 404 on the case's shares
    assert api(world.outsider_practitioner).get(url).status_code == 404
    # when the owner revokes, the very next request from probation is a 404
    response = owner.post(f"{API}/shares/{share_id}/revoke/", {"reason": "Finished"})
    assert response.status_code == 200 and response.json()["revoked_at"]
    assert probation.get(url).status_code == 404


def test_share_bad_input_is_refused_with_nothing_written(world, api):
    case = make_case(world, family="Bad")
    owner = api(world.police_practitioner)
    url = f"{API}/cases/{case.pk}/shares/"
    before = CaseShare.objects.count(), AuditEvent.objects.filter(op=Op.SHARE_GRANTED).count()
    response = owner.post(
        url,
        {
            "agency": world.agencies["health"].pk,
            "agreement": str(world.agreement.pk),
            "categories": ["C8"],
            "purpose": "x",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "C8" in response.json()["errors"]["categories"][0]
    assert "ISA-NS-2026-01" in response.json()["errors"]["categories"][0]
    response = owner.post(
        url, {"agency": world.agencies["health"].pk, "categories": ["C1"], "purpose": "x"}, format="json"
    )
    assert response.status_code == 400 and "agreement" in response.json()["errors"]
    assert (CaseShare.objects.count(), AuditEvent.objects.filter(op=Op.SHARE_GRANTED).count()) == before


def test_break_glass_open_queue_review(world, api):
    case = make_case(world, family="Glass")
    user = api(world.probation_practitioner)
    url = f"{API}/cases/{case.pk}/break-glass/"
    # a request with no reason is refused, nothing written
    response = user.post(url, {"reason": ""}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["errors"]
    assert BreakGlass.objects.count() == 0
    # outsiders (no agreement with the lead) get 404
    assert api(world.outsider_practitioner).post(url, {"reason": "Please let me in now"}).status_code == 404
    # with a reason it opens for 60 minutes
    response = user.post(url, {"reason": "Victim reported the nominal outside her home"}, format="json")
    assert response.status_code == 201
    glass = response.json()
    # and lands in the police chair's and auditor's queue, not probation's chair's
    assert [g["id"] for g in api(world.police_auditor).get(f"{API}/break-glass/").json()["results"]] == [
        glass["id"]
    ]
    assert api(world.probation_chair).get(f"{API}/break-glass/").json()["results"] == []
    response = api(world.police_chair).post(f"{API}/break-glass/{glass['id']}/review/", {"outcome": "maybe"})
    assert response.status_code == 400 and "outcome" in response.json()["errors"]
    response = api(world.police_chair).post(
        f"{API}/break-glass/{glass['id']}/review/", {"outcome": "justified"}
    )
    assert response.status_code == 200 and response.json()["review_outcome"] == "justified"
    assert (
        api(world.probation_chair)
        .post(f"{API}/break-glass/{glass['id']}/review/", {"outcome": "justified"})
        .status_code
        == 404
    )


def test_disclosure_create_and_list(world, api):
    owner = api(world.police_practitioner)
    url = f"{API}/cases/{world.case.pk}/disclosures/"
    body = {
        "recipient": "Northtown library manager",
        "recipient_kind": "employer",
        "categories": ["C4"],
        "summary": "Order with exclusion zone around the workplace.",
        "justification": "Workplace must enforce the exclusion zone.",
        "undertaking": True,
        "approved_by": world.police_chair.pk,
        "disclosed_on": str(timezone.localdate()),
    }
    response = owner.post(url, {**body, "approved_by": world.police_practitioner.pk}, format="json")
    assert response.status_code == 400 and "approved_by" in response.json()["errors"]
    response = owner.post(url, body, format="json")
    assert response.status_code == 201, response.json()
    listed = owner.get(url).json()["results"]
    assert [d["recipient"] for d in listed] == ["Northtown library manager"]
    assert AuditEvent.objects.filter(
        op=Op.CONSULT, case_id=world.case.pk, detail__view="disclosure_log"
    ).exists()
    # partners and outsiders do not see the log
    assert api(world.health_practitioner).get(url).status_code == 404
    assert api(world.health_practitioner).post(url, body, format="json").status_code == 404
    assert Disclosure.objects.count() == 1


@pytest.mark.parametrize("size", [1, 5])
def test_share_list_is_constant_queries(world, api, django_assert_max_num_queries, size):
    owner = api(world.police_practitioner)
    for i in range(size):
        make_case(world, family=f"Q{i}")
    url = f"{API}/cases/{world.case.pk}/shares/"
    owner.get(url)
    with django_assert_max_num_queries(20):
        response = owner.get(url)
    assert len(response.json()["results"]) == 4
