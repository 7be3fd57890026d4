"""Auditor pages people can read: names and agencies (within scope), events in words, agreements by
name, refusals on a person's trail, pickers for filters, paging, and the chain's state in words."""

from __future__ import annotations

import html
import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import Op
from audit.services import record_event, verify_chain
from sharing import policy
from sharing.denials import record_denied

pytestmark = pytest.mark.django_db

AGREEMENT = "Northshire MAPPA and stalking clinic information-sharing agreement (ISA-NS-2026-01)"
TOKENS = re.compile(r'(nonce|value|content)="[^"]*"|\d+ awaiting')


def consult(user, case, **extra):
    membership = policy.primary_membership(user)
    assert membership is not None
    return record_event(
        Op.CONSULT,
        actor=user,
        agency=membership.agency,
        role=membership.role,
        obj=case,
        case_id=case.pk,
        categories=["C1"],
        **{"justification": "lead agency", **extra},
    )


def test_a_persons_trail_names_them_and_their_agency_not_their_id(world, signed_in) -> None:
    # given a police practitioner consulted their case
    consult(world.police_practitioner, world.case)
    # when a police auditor opens that person's trail
    text = (
        signed_in(world.police_auditor)
        .get(reverse("audit:person", args=[world.police_practitioner.pk]))
        .content.decode()
    )
    # then the heading names the person and their agency, never a bare id
    name = f"{world.police_practitioner.get_full_name()} (police_practitioner)"
    assert f"What {name} of Northshire Police has seen" in text
    assert f">{name}</a>" in text
    assert f"What {world.police_practitioner.pk} has seen" not in text
    # and the event reads in words, with the case's reference and the role by its label
    assert f"Consulted the case summary of {world.case.reference}" in re.sub(r"<[^>]+>", "", text)
    assert "Their agency leads the case" in text and "Practitioner, Northshire Police" in text
    assert "cases.Case" not in text and ">practitioner<" not in text


def test_a_person_with_only_refusals_has_them_on_their_trail(world, signed_in) -> None:
    # given a police practitioner was refused a case id (twice) and consulted nothing
    record_denied(world.police_practitioner, uuid.uuid4(), "cases:detail")
    record_denied(world.police_practitioner, uuid.uuid4(), "cases:detail")
    # when the police auditor opens their trail
    text = (
        signed_in(world.police_auditor)
        .get(reverse("audit:person", args=[world.police_practitioner.pk]))
        .content.decode()
    )
    # then the refusals are listed, in words
    assert text.count("Permission denied: asked for the case summary of") == 2
    assert "Refused" in text and "No events" not in text


def test_an_out_of_scope_persons_trail_looks_like_an_unknown_ids(world, signed_in) -> None:
    # given a police practitioner consulted their case (outside Southshire's scope)
    consult(world.police_practitioner, world.case)
    client = signed_in(world.outsider_auditor)
    real, unknown = world.police_practitioner.pk, 900_000_000 + world.police_practitioner.pk
    # when the Southshire auditor asks for the real person and for an id naming no one
    on_real = client.get(reverse("audit:person", args=[real]))
    on_unknown = client.get(reverse("audit:person", args=[unknown]))
    # then both answers are the same page, naming no one
    assert on_real.status_code == on_unknown.status_code == 200
    assert TOKENS.sub("", on_real.content.decode().replace(f"/people/{real}/", "<id>")) == TOKENS.sub(
        "", on_unknown.content.decode().replace(f"/people/{unknown}/", "<id>")
    )
    assert (
        str(world.police_practitioner)
        not in on_real.content.decode().split("<main", 1)[-1].split("has seen")[0]
    )
    assert "No events you may audit for this person." in on_real.content.decode()


def test_justification_is_the_agreements_name_and_other_agencies_stay_unnamed(world, signed_in) -> None:
    # given health consulted the police case under a share of the agreement
    share_id = uuid.uuid4()
    consult(
        world.health_practitioner,
        world.case,
        justification=f"share {share_id} under agreement ISA-NS-2026-01",
        share_id=share_id,
        agreement_id=world.agreement.pk,
    )
    # when the police auditor opens the case trail
    text = signed_in(world.police_auditor).get(reverse("audit:case", args=[world.case.pk])).content.decode()
    # then why reads as the agreement's name, with no share id
    assert f"Shared with their agency under {AGREEMENT}" in text
    assert str(share_id) not in text
    # and the health practitioner (outside police's scope) is shown as recorded, their agency unnamed
    assert "health_practitioner" in text and "another agency" in text
    assert "Northshire Forensic Mental Health Trust" not in text


def test_filters_are_picked_from_the_auditors_own_people_agencies_and_agreements(world, signed_in) -> None:
    # given consultations by police and by health
    consult(world.police_practitioner, world.case)
    consult(world.health_practitioner, world.case)
    client = signed_in(world.police_auditor)
    # when the police auditor opens the log
    text = client.get(reverse("audit:events")).content.decode()
    # then the pickers offer police's people and agency and the agreement police is party to
    police = world.agencies["police"]
    assert f'<option value="{police.pk}">Northshire Police</option>' in text
    assert f'<option value="{world.police_practitioner.pk}">' in text
    assert AGREEMENT in text
    assert "Southshire Police" not in text and f'<option value="{world.health_practitioner.pk}">' not in text
    # and picking the agency narrows the log to it
    picked = client.get(reverse("audit:events"), {"agency": police.pk}).content.decode()
    assert f'<option value="{police.pk}" selected>' in picked
    assert "health_practitioner" not in picked.split("<tbody", 1)[1]
    # and picking a person narrows it to them
    person = client.get(reverse("audit:events"), {"person": world.police_practitioner.pk}).content.decode()
    assert f'<option value="{world.police_practitioner.pk}" selected>' in person


def test_pages_of_events_link_older_and_newest_at_a_constant_cost(world, signed_in) -> None:
    client = signed_in(world.police_auditor)
    url = reverse("audit:case", args=[world.case.pk])

    def fetch(before: str | None = None) -> tuple[str, int]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, {"before": before} if before else {})
        assert response.status_code == 200
        return response.content.decode(), len(queries)

    # given more consultations than one page holds
    for _ in range(60):
        consult(world.police_practitioner, world.case)
    fetch()  # warm per-process caches
    first, cost = fetch()
    # then the first page links to older events and holds a page's worth
    older = re.search(r"before=(\d+)", first)
    assert older is not None and "Newest events" not in first
    assert first.count("Consulted the case summary of") == 50
    # and the next page holds the rest, links back to the newest, at the same cost
    second, second_cost = fetch(older.group(1))
    assert "Newest events" in second and "before=" not in second.split("Newest events")[1]
    assert second.count("Consulted the case summary of") >= 10
    # and the cost does not grow with the log
    for _ in range(60):
        consult(world.health_practitioner, world.case, agreement_id=world.agreement.pk)
    assert fetch()[1] == cost == second_cost


def test_chain_status_reads_in_words(world, signed_in) -> None:
    client = signed_in(world.police_auditor)
    assert "The chain has never been verified." in client.get(reverse("audit:status")).content.decode()
    verify_chain()
    for name in ("audit:status", "audit:events"):
        text = client.get(reverse(name)).content.decode()
        assert re.search(
            r"Last verified on \d{2} \w{3} \d{4} at \d{2}:\d{2}: intact through event \d+\.", text
        )
        assert "awaiting sealing into the chain" in text


def test_a_flagged_burst_names_an_in_scope_person(world, signed_in, settings) -> None:
    # given a threshold of 2 distinct cases, and a police practitioner viewing two cases
    settings.CONVENE_AUDIT_FLAG_DISTINCT_CASES = 2
    consult(world.police_practitioner, world.case)
    record_event(Op.CONSULT, actor=world.police_practitioner, case_id=uuid.uuid4(), role="practitioner")
    # when the police auditor opens the flags
    text = signed_in(world.police_auditor).get(reverse("audit:flags")).content.decode()
    # then the burst names the person as people know them
    assert f">{world.police_practitioner.get_full_name()} (police_practitioner)</a>" in text


def test_a_meeting_consultation_reads_as_the_minutes_of_the_case(world, signed_in) -> None:
    # given a police practitioner consulted a meeting item's minutes, and one its executive summary
    for mode in ("minutes", "summary"):
        record_event(
            Op.CONSULT,
            actor=world.police_practitioner,
            agency=world.agencies["police"],
            object_type="meetings.AgendaItem",
            object_id=str(uuid.uuid4()),
            case_id=world.case.pk,
            justification="lead agency",
            detail={"mode": mode},
        )
    # when the police auditor reads the case trail
    text = signed_in(world.police_auditor).get(reverse("audit:case", args=[world.case.pk])).content.decode()
    words = html.unescape(re.sub(r"<[^>]+>", "", text))
    # then each reads in words, with no model name
    assert f"Consulted the meeting minutes of {world.case.reference}" in words
    assert f"Consulted the meeting's executive summary of {world.case.reference}" in words
    assert "AgendaItem" not in text
