"""Pages, API and policy for the lifecycle: who may act, and clear errors for bad input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditEvent, Op
from cases.models import Case
from lifecycle.certificates import verify_document
from lifecycle.models import LegalHold
from lifecycle.services import do_recompute_retention, do_set_legal_hold
from sharing import policy


def due_case(world: Any) -> Case:
    case = world.case
    then = timezone.now() - timedelta(days=365 * 11)
    Case.objects.filter(pk=case.pk).update(created_at=then, closed_at=then, status="closed")
    do_recompute_retention(case)
    case.refresh_from_db()
    return case


@pytest.mark.parametrize(
    ("persona", "retention", "sar"),
    [
        ("police_dpo", True, True),
        ("police_admin", True, False),
        ("police_practitioner", False, False),
        ("police_chair", False, False),
        ("police_auditor", False, False),
        ("health_dpo", False, False),
    ],
)
def test_policy_retention_and_sar_roles(world: Any, persona: str, retention: bool, sar: bool) -> None:
    police = world.agencies["police"]
    user = world.users[persona]
    assert policy.can_manage_retention(user, police) is retention
    assert policy.can_handle_sar(user, police) is sar


def test_policy_legal_hold_lead_or_sharing_agency_controllers(world: Any) -> None:
    case = world.case
    assert policy.can_set_legal_hold(world.police_dpo, case)
    assert policy.can_set_legal_hold(world.cps_admin, case)  # shared with the CPS (a prosecution)
    assert not policy.can_set_legal_hold(world.outsider_dpo, case)
    assert not policy.can_set_legal_hold(world.police_practitioner, case)


def test_the_queue_page_lists_due_cases_for_the_agencys_dpo_only(world: Any, signed_in: Any) -> None:
    # given a police case past its review date
    case = due_case(world)

    # when the police DPO, a police practitioner and the probation DPO open the queue
    page = signed_in(world.police_dpo).get("/lifecycle/")
    practitioner = signed_in(world.police_practitioner).get("/lifecycle/")
    probation = signed_in(world.probation_dpo).get("/lifecycle/")

    # then only the police DPO sees it; the practitioner is told not found
    assert page.status_code == 200 and case.reference in page.content.decode()
    assert practitioner.status_code == 404
    assert probation.status_code == 200 and case.reference not in probation.content.decode()


def test_review_page_refuses_a_past_date_and_erasure_under_hold(world: Any, signed_in: Any) -> None:
    # given a due case under a legal hold
    case = due_case(world)
    do_set_legal_hold(
        case=case, reason="Inquest pending", acting_user=world.police_dpo, agency=world.agencies["police"]
    )
    client = signed_in(world.police_dpo)
    url = f"/lifecycle/review/case/{case.pk}/"

    # when retaining with a past date, then the page says why and names the field
    past = (timezone.localdate() - timedelta(days=1)).isoformat()
    response = client.post(url, {"decision": "retain", "reason": "needed", "next_review_on": past})
    assert response.status_code == 400
    assert "The next review date must be in the future." in response.content.decode()

    # when erasing, then the hold is named and nothing is erased
    response = client.post(url, {"decision": "erase", "erase_reason": "due", "confirm": "on"})
    assert response.status_code == 400
    assert "is under a legal hold" in response.content.decode()
    assert Case.objects.get(pk=case.pk).erased_at is None

    # and another agency's DPO cannot even open it
    assert signed_in(world.health_dpo).get(url).status_code == 404


def test_api_decisions_retain_erase_and_certificate_download(world: Any, api: Any) -> None:
    case = due_case(world)
    client = api(world.police_dpo)

    # bad input: a past date names the field
    past = (timezone.localdate() - timedelta(days=3)).isoformat()
    body = {"record_type": "case", "object_id": str(case.pk), "decision": "retain", "reason": "x"}
    response = client.post("/api/v1/lifecycle/decisions/", {**body, "next_review_on": past}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["next_review_on"] == ["The next review date must be in the future."]

    # the queue lists the case
    queue = client.get("/api/v1/lifecycle/queue/").json()["results"]
    assert [i["case_reference"] for i in queue if i["record_type"] == "case"] == [case.reference]

    # a legal hold set through the API blocks erasure with a clear message
    hold = client.post(
        "/api/v1/lifecycle/holds/", {"case": case.reference, "reason": "Appeal"}, format="json"
    )
    assert hold.status_code == 201
    erase = {**body, "decision": "erase", "reason": "No purpose remains"}
    refused = client.post("/api/v1/lifecycle/decisions/", erase, format="json")
    assert refused.status_code == 400 and "legal hold" in refused.json()["detail"]
    assert "legal_hold" in refused.json()["errors"]

    # lifting it is audited; then erasure gives a certificate whose signed document verifies
    lifted = client.post(
        f"/api/v1/lifecycle/holds/{hold.json()['id']}/lift/", {"reason": "Appeal dismissed"}, format="json"
    )
    assert lifted.status_code == 200
    assert AuditEvent.objects.filter(op=Op.LEGAL_HOLD, detail__change="lifted", case_id=case.pk).exists()
    done = client.post("/api/v1/lifecycle/decisions/", erase, format="json")
    assert done.status_code == 201
    certificate_id = done.json()["certificate"]["id"]
    document = client.get(f"/api/v1/lifecycle/certificates/{certificate_id}/").json()
    assert verify_document(document)
    assert document["certificate"]["audit_seq"] == done.json()["certificate"]["audit_seq"]

    # and another agency cannot download it
    assert api(world.health_dpo).get(f"/api/v1/lifecycle/certificates/{certificate_id}/").status_code == 404


def test_certificate_download_page_is_signed_json(world: Any, signed_in: Any, api: Any) -> None:
    from lifecycle.services import do_erase_case

    certificate = do_erase_case(
        world.case, acting_user=world.police_admin, agency=world.agencies["police"], rule=None, reason="due"
    )
    client = signed_in(world.police_admin)
    assert client.get(f"/lifecycle/certificates/{certificate.pk}/").status_code == 200
    response = client.get(f"/lifecycle/certificates/{certificate.pk}/download/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert verify_document(response.json())


def test_api_sar_errors_and_export(world: Any, api: Any) -> None:
    client = api(world.police_dpo)

    # a person the agency holds nothing on
    nobody = {
        "subject_kind": "perpetrator",
        "given_name": "No",
        "family_name": "Body",
        "date_of_birth": "1970-01-01",
    }
    response = client.post("/api/v1/lifecycle/sars/", nobody, format="json")
    assert response.status_code == 400
    assert "holds nothing in Convene about this person" in response.json()["detail"]

    # an agency admin (not the DPO) cannot handle SARs
    marsh = {
        "subject_kind": "perpetrator",
        "given_name": "Daniel",
        "family_name": "Marsh",
        "date_of_birth": "1986-04-12",
    }
    assert api(world.police_admin).post("/api/v1/lifecycle/sars/", marsh, format="json").status_code == 404

    # the DPO opens and exports it
    sar = client.post("/api/v1/lifecycle/sars/", {**marsh, "reference": "SAR-1"}, format="json")
    assert sar.status_code == 201
    export = client.get(f"/api/v1/lifecycle/sars/{sar.json()['id']}/export/").json()
    assert export["reference"] == "SAR-1"
    assert any(r["type"] == "cases.Nominal" for r in export["records"])
    assert AuditEvent.objects.filter(op=Op.EXPORT, justification="subject access request SAR-1").exists()
    assert api(world.health_dpo).get(f"/api/v1/lifecycle/sars/{sar.json()['id']}/export/").status_code == 404


def test_sar_pages(world: Any, signed_in: Any) -> None:
    client = signed_in(world.police_dpo)
    form = {
        "subject_kind": "perpetrator",
        "given_name": "Daniel",
        "family_name": "Marsh",
        "date_of_birth": "1986-04-12",
    }
    created = client.post("/lifecycle/sar/", form)
    assert created.status_code == 302
    page = client.get(created["Location"])
    assert page.status_code == 200 and "Produce the export" in page.content.decode()
    assert not AuditEvent.objects.filter(op=Op.EXPORT).exists()  # looking is not exporting
    export = client.post(created["Location"])
    body = export.content.decode()
    assert "14 Quarry Lane" in body and "s45(4)(e)" in body and "Priya Shah" not in body
    assert AuditEvent.objects.filter(op=Op.EXPORT).exists()
    refused = client.post("/lifecycle/sar/", {**form, "given_name": "Nobody"})
    assert refused.status_code == 400 and "holds nothing in Convene" in refused.content.decode()


def test_rules_page_and_api(world: Any, signed_in: Any, api: Any) -> None:
    client = api(world.probation_admin)
    response = client.put(
        "/api/v1/lifecycle/rules/",
        {"record_type": "note", "review_months": 48, "basis": "Probation records schedule"},
        format="json",
    )
    assert response.status_code == 200
    assert {r["record_type"]: r["review_months"] for r in response.json()["results"]}["note"] == 48
    bad = client.put(
        "/api/v1/lifecycle/rules/", {"record_type": "note", "review_months": 0, "basis": "x"}, format="json"
    )
    assert bad.status_code == 400 and "review_months" in bad.json()["errors"]
    page = signed_in(world.probation_admin).get("/lifecycle/rules/")
    assert page.status_code == 200 and "48 months" in page.content.decode()
    assert not LegalHold.objects.exists()


def test_queue_api_queries_do_not_grow_with_the_queue(
    world: Any, api: Any, django_assert_max_num_queries: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.world import make_case

    due_case(world)
    client = api(world.police_dpo)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get("/api/v1/lifecycle/queue/").json()["results"]) == 1
    for index in range(3):
        extra = make_case(world, family=f"Due{index}")
        then = timezone.now() - timedelta(days=365 * 11)
        Case.objects.filter(pk=extra.pk).update(created_at=then, closed_at=then, status="closed")
        do_recompute_retention(extra)
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert len(client.get("/api/v1/lifecycle/queue/").json()["results"]) == 4
