"""Minimal valid rows for lifecycle tests, made through the real services where they exist."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from cases import choices as c
from cases.models import Action, Case, Condition, Order, RiskAssessment, RiskManagementPlan
from cases.services import do_add_note
from sharing.services import do_record_disclosure


def fill_case(world: Any, case: Case) -> dict[str, Any]:
    """Give the case one of each plaintext-bearing record, including partner contributions."""
    police = world.agencies["police"]
    owner = world.police_practitioner
    rows: dict[str, Any] = {}
    rows["police_note"] = do_add_note(
        case=case,
        agency=police,
        acting_user=owner,
        body="Seen outside the victim's workplace.",
        category="C2",
    )
    rows["health_note"] = do_add_note(
        case=case,
        agency=world.agencies["health"],
        acting_user=world.health_practitioner,
        body="Engaging with the clinic; fixation persists.",
        category="C6",
    )
    rows["disclosure"] = do_record_disclosure(
        case=case,
        agency=police,
        recipient="Head of HR, Northtown library",
        recipient_kind="employer",
        categories=["C1"],
        summary="Photograph and description of the nominal for site security.",
        justification="Victim works there; nominal seen outside twice this month.",
        undertaking=True,
        approved_by=world.police_chair,
        disclosed_on=timezone.localdate(),
        acting_user=owner,
    )
    # The cases app's order/assessment/plan services are still being written: minimal rows.
    assessment = RiskAssessment(
        case=case,
        owner_agency=police,
        created_by=owner,
        tool=c.Tool.values[0],
        answers={"q1": "yes, threats to the victim"},
        level="high",
        risk_level=c.RiskLevel.values[0],
        formulation="Rejected ex-partner type.",
        assessor=owner,
        assessed_on=timezone.localdate(),
    )
    assessment.save()
    rows["assessment"] = assessment
    order = Order(
        case=case,
        owner_agency=police,
        created_by=owner,
        order_type=c.OrderType.values[0],
        legal_basis="PA 2019",
    )
    order.save()
    condition = Condition(
        order=order,
        owner_agency=police,
        created_by=owner,
        kind=c.ConditionKind.values[0],
        text="Not to enter the exclusion zone",
        exclusion_zone={"zone": "Northtown east"},
    )
    condition.save()
    rows["order"], rows["condition"] = order, condition
    plan = RiskManagementPlan(
        case=case,
        owner_agency=police,
        created_by=owner,
        number=1,
        items={"victim_safety": [{"text": "Panic alarm at 3 Willow Court"}]},
    )
    plan.save()
    action = Action(
        case=case,
        owner_agency=police,
        created_by=owner,
        pillar=c.Pillar.values[0],
        text="Fit a panic alarm",
        owner=owner,
        agency=police,
        due_on=timezone.localdate() + timedelta(days=7),
    )
    action.save()
    rows["plan"], rows["action"] = plan, action
    return rows
