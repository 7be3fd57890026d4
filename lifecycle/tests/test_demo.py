"""The demo world's lifecycle content, and a SAR for a demo perpetrator (issue #10 acceptance)."""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

from django.apps import apps
from django.core.management import call_command

from agencies.models import Agency, User
from lifecycle.models import LegalHold, RecordType, RetentionRule, SubjectKind
from lifecycle.retention import review_queue
from lifecycle.sar import SubjectQuery, do_export_sar, do_open_sar


def seed() -> None:
    call_command("seed_demo", "--quiet-table", stdout=io.StringIO())


def test_demo_has_rules_a_due_case_a_closed_case_and_a_hold(db: Any) -> None:
    # given the demo world, seeded twice
    seed()
    seed()
    police = Agency.objects.get(name="Northshire Police")

    # then every demo agency has a rule for every record type, police on the MoPI default
    assert RetentionRule.objects.filter(agency=police).count() == len(RecordType.values)
    assert RetentionRule.objects.get(agency=police, record_type=RecordType.CASE).review_months == 120
    # and exactly one police case is due, and one legal hold is set
    due = [item for item in review_queue(police) if item.is_case]
    assert len(due) == 1 and due[0].case_closed
    assert LegalHold.objects.active().count() == 1
    from cases.models import Case

    assert Case.objects.filter(status="closed", lead_agency=police).count() >= 2


def test_a_sar_for_a_demo_perpetrator_holds_only_the_agencys_data(db: Any) -> None:
    # given the demo world
    seed()
    police = Agency.objects.get(name="Northshire Police")
    dpo = User.objects.get(username="police.dpo")

    # when the police DPO exports a SAR for Daniel Marsh
    sar = do_open_sar(
        agency=police,
        handled_by=dpo,
        query=SubjectQuery(SubjectKind.PERPETRATOR, "Daniel", "Marsh", date(1986, 4, 12)),
    )
    export = do_export_sar(sar=sar, acting_user=dpo).as_dict()

    # then every record released is one the police control; nothing comes from another agency
    assert export["records"]
    for record in export["records"]:
        obj = apps.get_model(record["type"]).objects.get(pk=record["id"])
        assert obj.owner_agency_id == police.pk, record["type"]
    # and every withheld item has its reason; other agencies' holdings are referral advice only
    assert all(item["reason"] for item in export["withheld"])
    for other in export["held_by_other_agencies"]:
        assert other["advice"].endswith("refer the request to them.")
        assert set(other) == {"agency", "records", "advice"}
    assert "shares" in export["disclosure_log"]
    json.dumps(export)
