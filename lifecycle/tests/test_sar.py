"""Subject access: one agency's data about a person, the disclosure log, reasons for what is withheld."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from audit.models import AuditEvent, Op
from core.errors import DomainError
from lifecycle.models import SarStatus, SubjectAccessRequest, SubjectKind
from lifecycle.sar import SubjectQuery, do_export_sar, do_open_sar

from .factories import fill_case

MARSH = SubjectQuery(SubjectKind.PERPETRATOR, "Daniel", "Marsh", date(1986, 4, 12))


def open_sar(world: Any, who: str, query: SubjectQuery = MARSH, reference: str = "") -> Any:
    return do_open_sar(
        agency=world.agencies[who], handled_by=world.users[f"{who}_dpo"], query=query, reference=reference
    )


def test_a_perpetrators_sar_holds_exactly_the_agencys_own_data_and_withholds_the_victim(world: Any) -> None:
    # given the police case on Daniel Marsh with police records, a health note and a disclosure
    rows = fill_case(world, world.case)

    # when the police DPO exports a SAR for him
    sar = open_sar(world, "police", reference="SAR-NP-0042")
    export = do_export_sar(sar=sar, acting_user=world.police_dpo).as_dict()
    text = json.dumps(export)

    # then the police records are there, in full
    types = sorted({r["type"] for r in export["records"]})
    assert types == [
        "cases.Action",
        "cases.Case",
        "cases.Condition",
        "cases.Nominal",
        "cases.Note",
        "cases.Order",
        "cases.Referral",
        "cases.RiskAssessment",
        "cases.RiskManagementPlan",
    ]
    assert "14 Quarry Lane" in text and "Seen outside the victim's workplace." in text
    # and nothing of health's contribution, only a referral to health
    assert "fixation persists" not in text
    assert export["held_by_other_agencies"] == [
        {
            "agency": "Northshire Forensic Mental Health Trust",
            "records": [{"type": "cases.Note", "count": 1}],
            "advice": "Held by Northshire Forensic Mental Health Trust: refer the request to them.",
        }
    ]
    # and the victim's data is withheld, each item with its reason, never silently dropped
    assert "Priya Shah" not in text and "Willow Court" not in text and "Northtown east" not in text
    withheld = {(w["type"], w["field"]) for w in export["withheld"]}
    assert ("cases.Victim", None) in withheld
    assert ("cases.Condition", "exclusion_zone") in withheld
    assert ("cases.Condition", "protected_persons") in withheld
    assert ("cases.RiskManagementPlan", "items.victim_safety") in withheld
    assert all(w["reason"].startswith("DPA 2018 s45(4)(e)") for w in export["withheld"])
    # and the disclosure log names who received the data, when, under which agreement
    log = export["disclosure_log"]
    assert sorted(s["received_by"] for s in log["shares"]) == [
        "CPS Northshire",
        "Northshire Forensic Mental Health Trust",
        "Northshire Probation Delivery Unit",
        "Northshire Stalking Advocacy Service",
    ]
    assert {s["agreement"] for s in log["shares"]} == {"ISA-NS-2026-01"}
    assert log["disclosures"][0]["recipient_category"] == "Employer"
    assert "Head of HR" not in text
    assert {e["operation"] for e in log["audit_events"]} >= {
        "Disclosure (including transfer)",
        "Share granted",
    }
    # and the export itself is audited
    event = AuditEvent.objects.get(op=Op.EXPORT, object_id=str(sar.pk))
    assert event.justification == "subject access request SAR-NP-0042"
    assert event.case_id == world.case.pk and "C1" in event.categories
    assert SubjectAccessRequest.objects.get(pk=sar.pk).status == SarStatus.EXPORTED
    assert rows["health_note"].pk  # still held by health


def test_a_partner_agencys_sar_contains_only_its_own_contribution(world: Any) -> None:
    # given the health note on the police case
    fill_case(world, world.case)

    # when the health DPO exports a SAR for the same person
    export = do_export_sar(sar=open_sar(world, "health"), acting_user=world.health_dpo).as_dict()

    # then only health's note is released; police records are referred to the police
    assert [(r["type"], r["fields"]["body"]) for r in export["records"]] == [
        ("cases.Note", "Engaging with the clinic; fixation persists.")
    ]
    police = next(o for o in export["held_by_other_agencies"] if o["agency"] == "Northshire Police")
    assert {"type": "cases.Victim", "count": 1} in police["records"]
    assert "Daniel" not in json.dumps(export["records"])


def test_a_sar_for_someone_the_agency_holds_nothing_on_is_refused_clearly(world: Any) -> None:
    # when Southshire Police searches for the nominal, and the police search for an unknown person
    with pytest.raises(DomainError) as nothing:
        open_sar(world, "outsider")
    with pytest.raises(DomainError):
        open_sar(world, "police", SubjectQuery(SubjectKind.PERPETRATOR, "Nobody", "Known", date(1990, 1, 1)))

    # then the message says so, names the field, and nothing is recorded
    assert "holds nothing in Convene about this person" in nothing.value.message
    assert nothing.value.field == "family_name"
    assert not SubjectAccessRequest.objects.exists()


def test_a_victims_sar_releases_the_victim_record_and_withholds_the_perpetrators(world: Any) -> None:
    # given the police case with its victim Priya Shah
    fill_case(world, world.case)

    # when the police DPO handles her request
    query = SubjectQuery(SubjectKind.VICTIM, "Priya", "Shah")
    export = do_export_sar(sar=open_sar(world, "police", query), acting_user=world.police_dpo).as_dict()

    # then her own record is released in full; the perpetrator's records are listed with a reason
    assert [r["type"] for r in export["records"]] == ["cases.Victim"]
    assert export["records"][0]["fields"]["address"] == "3 Willow Court, Northtown NT1 5AB"
    assert "Daniel" not in json.dumps(export) and "Quarry Lane" not in json.dumps(export)
    assert {w["type"] for w in export["withheld"]} >= {"cases.Note", "cases.RiskAssessment", "cases.Referral"}
    assert all("s45(4)" in w["reason"] for w in export["withheld"])


def test_the_searched_name_is_never_stored(world: Any) -> None:
    sar = open_sar(world, "police")
    stored = json.dumps(list(SubjectAccessRequest.objects.filter(pk=sar.pk).values()), default=str)
    assert "Marsh" not in stored and "Daniel" not in stored and "1986" not in stored
    assert len(sar.subject_index) == 32
