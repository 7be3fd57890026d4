"""Auditor pages and API: auditors only, scoped to their agency, no case content, constant queries."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEvent, Op
from audit.services import record_event, verify_chain
from sharing import policy
from sharing.denials import record_denied

from .test_no_sensitive_values import every_plaintext

PAGES: list[tuple[str, dict[str, Any]]] = [
    ("audit:events", {}),
    ("audit:activity", {}),
    ("audit:flags", {}),
    ("audit:status", {}),
    ("audit:export", {}),
]


def consult(user, case, agency=None, justification="lead agency"):
    membership = policy.primary_membership(user)
    assert membership is not None
    return record_event(
        Op.CONSULT,
        actor=user,
        agency=agency or membership.agency,
        role=membership.role,
        obj=case,
        case_id=case.pk,
        categories=["C1"],
        justification=justification,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "kwargs"), PAGES)
def test_only_auditors_see_audit_pages(world, signed_in, name, kwargs) -> None:
    # given a practitioner and an auditor
    url = reverse(name, kwargs=kwargs)
    # when each opens an audit page / then the practitioner finds nothing there, the auditor sees it
    assert signed_in(world.police_practitioner).get(url).status_code == 404
    assert signed_in(world.police_auditor).get(url).status_code == 200


@pytest.mark.django_db
def test_only_auditors_use_the_audit_api(world, api) -> None:
    for name in ("api:audit-event-list", "api:audit-status", "api:audit-flags"):
        assert api(world.police_practitioner).get(reverse(name)).status_code == 404
        assert api(world.police_auditor).get(reverse(name)).status_code == 200


@pytest.mark.django_db
def test_auditors_see_their_agencys_people_and_cases_only(world, api) -> None:
    # given an event by an outsider about nothing of police's, and one by health about police's case
    outsider = record_event(
        Op.SIGN_IN, actor=world.outsider_practitioner, agency=world.agencies["outsider"], role="practitioner"
    )
    about_case = consult(world.health_practitioner, world.case, justification="share under agreement")
    # when the police auditor lists events
    ids = {e["id"] for e in api(world.police_auditor).get(reverse("api:audit-event-list")).json()["results"]}
    # then they see events about police's case but not the outsider's own activity
    assert about_case.id in ids
    assert outsider.id not in ids


@pytest.mark.django_db
def test_who_has_seen_this_case_when_and_why(world, signed_in) -> None:
    # given health consulted the case under the share
    consult(world.health_practitioner, world.case, justification="share 123 under agreement 456")
    # when the auditor opens the case trail
    page = signed_in(world.police_auditor).get(reverse("audit:case", args=[world.case.pk]))
    # then it names the person, when, and why
    text = page.content.decode()
    assert page.status_code == 200
    assert "health_practitioner" in text and "share 123 under agreement 456" in text
    assert world.case.reference in text


@pytest.mark.django_db
def test_what_has_this_person_seen(world, signed_in) -> None:
    consult(world.health_practitioner, world.case)
    page = signed_in(world.police_auditor).get(reverse("audit:person", args=[world.health_practitioner.pk]))
    assert page.status_code == 200
    assert world.case.reference in page.content.decode()


@pytest.mark.django_db
def test_auditor_pages_show_no_case_content(world, signed_in) -> None:
    # given the world and a consultation of its case
    consult(world.health_practitioner, world.case)
    client = signed_in(world.police_auditor)
    secrets = every_plaintext()
    # when the auditor opens every page about the case and the events
    for url in (
        reverse("audit:events"),
        reverse("audit:case", args=[world.case.pk]),
        reverse("audit:person", args=[world.health_practitioner.pk]),
        reverse("audit:export"),
        reverse("audit:flags"),
    ):
        text = client.get(url).content.decode()
        # then no sensitive value appears
        assert [s for s in secrets if s in text] == [], url


@pytest.mark.django_db
def test_filters_narrow_the_list_and_a_bad_filter_names_its_field(world, api, signed_in) -> None:
    consult(world.health_practitioner, world.case)
    client = api(world.police_auditor)
    by_case = client.get(reverse("api:audit-event-list"), {"case": world.case.reference}).json()["results"]
    assert by_case and all(e["case_id"] == str(world.case.pk) for e in by_case)
    by_op = client.get(reverse("api:audit-event-list"), {"op": "consult", "person": "health_practitioner"})
    assert [e["op"] for e in by_op.json()["results"]] == ["consult"]
    bad = client.get(reverse("api:audit-event-list"), {"since": "yesterday"})
    assert bad.status_code == 400 and "since" in bad.content.decode()
    page = signed_in(world.police_auditor).get(reverse("audit:events"), {"op": "nonsense"})
    assert page.status_code == 400 and 'href="#f-op"' in page.content.decode()


@pytest.mark.django_db
def test_csv_export_is_itself_audited(world, signed_in) -> None:
    consult(world.health_practitioner, world.case)
    response = signed_in(world.police_auditor).get(reverse("audit:export"), {"op": "consult"})
    assert response.status_code == 200
    lines = response.content.decode().strip().splitlines()
    assert lines[0].startswith("id,occurred_at") and len(lines) >= 2
    export = AuditEvent.objects.filter(op=Op.EXPORT, actor_id=world.police_auditor.pk).get()
    assert export.detail["filters"] == ["op"] and export.detail["rows"] == len(lines) - 1


@pytest.mark.django_db
def test_activity_chart_is_accessible_svg_with_a_table(world, signed_in) -> None:
    text = signed_in(world.police_auditor).get(reverse("audit:activity")).content.decode()
    assert "<svg" in text and "<title" in text and "<desc" in text and "<table" in text


@pytest.mark.django_db
def test_flags_many_cases_and_attempts_after_revocation(world, signed_in, settings) -> None:
    # given a threshold of 2 distinct cases in an hour, and health viewing two cases
    settings.CONVENE_AUDIT_FLAG_DISTINCT_CASES = 2
    consult(world.health_practitioner, world.case)
    record_event(Op.CONSULT, actor=world.health_practitioner, case_id=uuid.uuid4(), role="practitioner")
    # and a refused attempt after health's share of the case was revoked
    record_event(Op.SHARE_REVOKED, actor=world.police_practitioner, case_id=world.case.pk)
    denied = record_denied(world.health_practitioner, world.case.pk, "cases:detail")
    # when the auditor opens the flags
    text = signed_in(world.police_auditor).get(reverse("audit:flags")).content.decode()
    # then both patterns are shown
    assert "health_practitioner" in text
    assert denied is not None and "permission_denied" not in text and "Permission denied" in text


@pytest.mark.django_db
def test_record_denied_records_missing_and_forbidden_case_ids_alike(world) -> None:
    # a case id that does not exist is recorded as a forbidden one is (forbidden looks like missing)
    missing = uuid.uuid4()
    unknown = record_denied(world.outsider_practitioner, missing, "cases:detail")
    assert unknown is not None and unknown.op == Op.PERMISSION_DENIED and unknown.case_id == missing
    assert unknown.detail == {"surface": "cases:detail", "after_revocation": False}
    # a malformed id is not an attempt on a case
    assert record_denied(world.outsider_practitioner, "not-a-uuid", "cases:detail") is None
    event = record_denied(world.outsider_practitioner, world.case.pk, "cases:detail")
    assert event is not None and event.op == Op.PERMISSION_DENIED and event.outcome == "denied"
    assert event.case_id == world.case.pk and event.detail == {
        "surface": "cases:detail",
        "after_revocation": False,
    }


@pytest.mark.django_db
def test_chain_status_shows_the_last_verification(world, signed_in) -> None:
    verify_chain()
    text = signed_in(world.police_auditor).get(reverse("audit:status")).content.decode()
    assert "intact" in text and "Awaiting sealing" in text


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["audit:events", "audit:case", "audit:person", "api:audit-event-list"])
def test_list_pages_use_a_constant_number_of_queries(world, signed_in, api, name) -> None:
    client = api(world.police_auditor) if name.startswith("api:") else signed_in(world.police_auditor)
    args = {"audit:case": [world.case.pk], "audit:person": [world.health_practitioner.pk]}.get(name, [])
    url = reverse(name, args=args)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    # given a few events, then many more (other agencies, other cases)
    consult(world.health_practitioner, world.case)
    client.get(url)  # warm per-process caches
    few = count()
    for n in range(30):
        consult(world.health_practitioner, world.case, agency=world.agencies["health"], justification=f"j{n}")
        record_event(
            Op.CONSULT, actor=world.health_practitioner, case_id=uuid.uuid4(), agency=world.agencies["police"]
        )
    # then the page costs the same number of queries
    assert count() == few
