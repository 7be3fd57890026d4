"""Demo content for the information lifecycle (called by ``seed_demo`` through agencies.demo).

- default retention rules for every demo agency;
- a police case closed eleven years ago, now past its review date (in the police queue);
- a police case closed today (its ten-year clock starts now);
- a legal hold on the Hollis case.
Idempotent: rules are looked up by agency and type, the rest through ``ctx.once``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from .models import RecordType, RetentionRule
from .retention import default_basis, default_review_months
from .services import do_recompute_retention, do_set_legal_hold, do_set_retention_rule


def seed(ctx: Any) -> None:
    seed_rules(ctx)
    due = ctx.once("lifecycle.case.due", lambda: _closed_case(ctx, "Keith", "Barlow", date(1968, 2, 9), 11))
    closed = ctx.once(
        "lifecycle.case.closed", lambda: _closed_case(ctx, "Stuart", "Kemp", date(1975, 11, 30), 0)
    )
    ctx.cases.setdefault("lifecycle_due", due)
    ctx.cases.setdefault("lifecycle_closed", closed)
    hollis = ctx.cases.get("hollis")
    if hollis is not None:
        ctx.once(
            "lifecycle.hold.hollis",
            lambda: do_set_legal_hold(
                case=hollis,
                reason="Civil claim against the force pending (ref NP-LEG-2026-031): preserve all records.",
                acting_user=ctx.users["police.dpo"],
                agency=ctx.agencies["police"],
            ),
        )
    ctx.log("Lifecycle: retention rules, a case due for review, a closed case and a legal hold.")


def seed_rules(ctx: Any) -> None:
    for key, agency in ctx.agencies.items():
        admin = ctx.users.get(f"{key}.admin")
        existing = set(RetentionRule.objects.filter(agency=agency).values_list("record_type", flat=True))
        for record_type in RecordType.values:
            if record_type in existing:
                continue
            do_set_retention_rule(
                agency=agency,
                record_type=record_type,
                review_months=default_review_months(agency.agency_type, record_type),
                basis=default_basis(agency.agency_type),
                acting_user=admin,
            )


def _closed_case(ctx: Any, given: str, family: str, born: date, years_ago: int) -> Any:
    """A police case closed ``years_ago`` years ago (the closure time is backdated for the demo)."""
    from cases import choices as c
    from cases.models import Case
    from cases.services import (
        NominalInput,
        ReferralInput,
        do_add_victim,
        do_change_case_status,
        do_create_case,
        do_create_nominal,
    )

    police = ctx.agencies["police"]
    owner = ctx.users["police.practitioner"]
    today = timezone.localdate()
    nominal = do_create_nominal(
        data=NominalInput(given_name=given, family_name=family, date_of_birth=born),
        agency=police,
        acting_user=owner,
    )
    case = do_create_case(
        nominal=nominal,
        forum=c.Forum.CLINIC,
        lead_agency=police,
        owner=owner,
        acting_user=owner,
        referral=ReferralInput(
            reason="Persistent unwanted messages to a former colleague.",
            lawful_basis="DPA 2018 Part 3, Schedule 8 para 1",
            index_offence="Stalking (PHA 1997 s2A)",
            received_on=today - timedelta(days=30),
        ),
    )
    do_add_victim(
        case=case,
        agency=police,
        acting_user=owner,
        name="Joanne Ellis" if family == "Barlow" else "Natalie Cole",
        relationship=c.Relationship.values[0],
        area="Northtown",
    )
    case.refresh_from_db()
    _share_with_partners(ctx, case)
    case.refresh_from_db()
    do_change_case_status(
        case=case,
        to=c.CaseStatus.CLOSED,
        version=case.version,
        agency=police,
        acting_user=owner,
        closure_reason=c.ClosureReason.RISK_REDUCED,
    )
    if years_ago:
        then = timezone.now() - timedelta(days=365 * years_ago + 3)
        Case.objects.filter(pk=case.pk).update(created_at=then - timedelta(days=200), closed_at=then)
    do_recompute_retention(case)
    case.refresh_from_db()
    return case


def _share_with_partners(ctx: Any, case: Any) -> None:
    """Shared with the four partners under the demo agreement, as the other demo cases are."""
    from core.categories import DEFAULT_MATRIX
    from sharing.services import do_share_case

    for key in ("probation", "health", "cps", "isac"):
        agency = ctx.agencies[key]
        do_share_case(
            case=case,
            agency=agency,
            agreement=ctx.agreement,
            categories=sorted(k for k, v in DEFAULT_MATRIX[agency.agency_type].items() if v > 0),
            purpose="Joint risk management of a stalking perpetrator under the Northshire agreement",
            acting_user=ctx.users["police.practitioner"],
            acting_agency=ctx.agencies["police"],
        )
