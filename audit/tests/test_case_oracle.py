"""The audit pages are no existence oracle: to an auditor, a case outside their scope looks exactly like a
case that does not exist (trail page, case filter), and a refused case id is recorded alike whether the
case exists or not (the same row, the same queries)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEvent, Op

NOISE = re.compile(r'(nonce|value|content)="[^"]*"|\d+ awaiting')  # tokens; the sealer's backlog


def normalised(text: str, asked: Any) -> str:
    """The page without its per-request tokens, with what was asked for replaced by a placeholder."""
    return NOISE.sub("", text.replace(str(asked), "<asked>"))


@pytest.mark.django_db
def test_an_outsider_auditors_case_trail_of_a_real_case_is_the_page_of_a_missing_one(
    world, signed_in
) -> None:
    # given Southshire's auditor, whose agency neither leads nor holds a share of the case
    client = signed_in(world.outsider_auditor)
    missing = uuid.uuid4()

    # when they open the trail of the real case and of an id that does not exist
    real = client.get(reverse("audit:case", args=[world.case.pk]))
    made_up = client.get(reverse("audit:case", args=[missing]))

    # then the real case's reference is not shown, and the two pages are the same page
    assert real.status_code == made_up.status_code == 200
    assert world.case.reference not in real.content.decode()
    assert normalised(real.content.decode(), world.case.pk) == normalised(made_up.content.decode(), missing)


@pytest.mark.django_db
def test_auditors_of_the_lead_and_of_a_sharing_agency_see_the_reference(world, signed_in) -> None:
    for auditor in (world.police_auditor, world.health_auditor):
        text = signed_in(auditor).get(reverse("audit:case", args=[world.case.pk])).content.decode()
        assert world.case.reference in text


@pytest.mark.django_db
def test_the_case_filter_answers_another_agencys_reference_as_a_made_up_one(world, api, signed_in) -> None:
    # given the outsider auditor, a real reference and a made-up one of the same shape
    real = world.case.reference
    made_up = "CNV-2026-ZZZZZZ"
    client = api(world.outsider_auditor)

    # when they filter the events by each
    on_real = client.get(reverse("api:audit-event-list"), {"case": real})
    on_made_up = client.get(reverse("api:audit-event-list"), {"case": made_up})

    # then both are the same 400 naming the field
    assert on_real.status_code == on_made_up.status_code == 400
    assert on_real.json() == on_made_up.json()
    assert "case" in on_real.json()["errors"]
    page_real = signed_in(world.outsider_auditor).get(reverse("audit:events"), {"case": real})
    page_made_up = signed_in(world.outsider_auditor).get(reverse("audit:events"), {"case": made_up})
    assert page_real.status_code == page_made_up.status_code == 400
    assert normalised(page_real.content.decode(), real) == normalised(page_made_up.content.decode(), made_up)
    csv_real = signed_in(world.outsider_auditor).get(reverse("audit:export"), {"case": real})
    csv_made_up = signed_in(world.outsider_auditor).get(reverse("audit:export"), {"case": made_up})
    assert (csv_real.status_code, csv_real.content) == (csv_made_up.status_code, csv_made_up.content)

    # while the lead agency's auditor filters by it
    assert api(world.police_auditor).get(reverse("api:audit-event-list"), {"case": real}).status_code == 200


@pytest.mark.django_db
def test_a_refused_case_id_is_recorded_alike_whether_the_case_exists_or_not(world, signed_in) -> None:
    # given an outsider practitioner, the real case and an id that does not exist
    client = signed_in(world.outsider_practitioner)
    missing = uuid.uuid4()
    client.get(reverse("cases:detail", args=[uuid.uuid4()]))  # warm the session and the caches

    # when they ask for each
    with CaptureQueriesContext(connection) as on_real:
        real = client.get(reverse("cases:detail", args=[world.case.pk]))
    with CaptureQueriesContext(connection) as on_missing:
        made_up = client.get(reverse("cases:detail", args=[missing]))

    # then both are 404, each is one PERMISSION_DENIED row of the same shape, made with the same queries
    assert real.status_code == made_up.status_code == 404
    rows = {
        e.case_id: e
        for e in AuditEvent.objects.filter(
            op=Op.PERMISSION_DENIED,
            actor_id=world.outsider_practitioner.pk,
            case_id__in=[world.case.pk, missing],
        )
    }
    assert set(rows) == {world.case.pk, missing}
    for event in rows.values():
        assert event.outcome == "denied" and event.object_type == "cases.Case"
        assert event.detail == {"surface": "access_case", "after_revocation": False}
    assert len(on_real.captured_queries) == len(on_missing.captured_queries)


@pytest.mark.django_db
def test_which_cases_an_auditor_may_name(world) -> None:
    from sharing import policy
    from sharing.services import do_break_glass
    from tests.world import make_case

    # given a second case shared with nobody, opened by the advocacy service through break-glass
    other = make_case(world, share_with=(), family="Holt")
    do_break_glass(
        case=other,
        user=world.isac_practitioner,
        agency=world.agencies["isac"],
        agreement=world.agreement,
        reason="Victim at immediate risk tonight",
    )

    def named(auditor) -> set:
        return set(policy.audit_cases_visible_to(auditor).values_list("pk", flat=True))

    # then the lead names both, a sharing agency the shared one, break-glass the opened one, outsiders none
    assert named(world.police_auditor) == {world.case.pk, other.pk}
    assert named(world.health_auditor) == {world.case.pk}
    assert named(world.isac_auditor) == {world.case.pk, other.pk}
    assert named(world.outsider_auditor) == set()
    assert named(world.police_practitioner) == set()
