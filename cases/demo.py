"""Demo content for the case record: fills the foundation's demo cases out to cover every model.

Called by ``manage.py seed_demo`` through agencies.demo (``seed(ctx)``); each case is enriched once
(remembered with ``ctx.once``), so running the seed again changes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypedDict

from django.utils import timezone

from . import choices as c
from . import services as s
from .identifiers import nhs_with_check, pnc_with_check

SDASH = [key for key, _ in c.SDASH_QUESTIONS]
CONTINGENCY = "If seen near the victim's home or workplace: immediate police response and arrest for breach."


class Identity(TypedDict):
    """What the demo adds to a foundation case's nominal (all of it invented)."""

    aliases: tuple[tuple[str, str], ...]
    ethnicity: str
    address: str
    pnc: tuple[str, str] | None  # (year, serial): the check letter is computed
    nhs: str  # nine digits: the check digit is computed
    visor: str | None
    crn: str | None


IDENTITY: dict[str, Identity] = {
    "marsh": {
        "aliases": (("Danny", "Marsh"), ("Dan", "Marshall")),
        "ethnicity": "White British",
        "address": "14 Quarry Lane, Northtown NT4 2QP",
        "pnc": ("04", "512377"),
        "nhs": "943476591",
        "visor": None,
        "crn": "X412873",
    },
    "hollis": {
        "aliases": (("Gary", "Hollis"),),
        "ethnicity": "White British",
        "address": "Approved premises, 2 Mill Street, Northtown NT2 8RR",
        "pnc": ("98", "77213"),
        "nhs": "401023213",
        "visor": "VIS-0028811",
        "crn": "X228104",
    },
    "fenwick": {
        "aliases": (),
        "ethnicity": "Mixed: White and Black Caribbean",
        "address": "Flat 6, 31 Canal View, Southtown NT9 3LF",
        "pnc": ("12", "40991"),
        "nhs": "485777345",
        "visor": None,
        "crn": "X603317",
    },
    "quinn": {
        "aliases": (("A", "Quinn-Davies"),),
        "ethnicity": "White Irish",
        "address": "22 Rowan Road, Northtown NT6 1JB",
        "pnc": None,
        "nhs": "123456788",
        "visor": None,
        "crn": None,
    },
}

VICTIM_DETAIL = {
    "marsh": {
        "contact": "07700 900123 (safe to text)",
        "address": "3 Willow Court, Northtown NT1 5AB",
        "routines": "Leaves for work 07:45; gym Tuesday and Thursday evenings.",
        "workplace": "Northtown Central Library",
        "vulnerabilities": "Anxiety since the stalking began; lives alone.",
    },
    "hollis": {
        "contact": "07700 900456",
        "address": "Refuge address held by the ISAC only",
        "routines": "School run 08:30 and 15:15.",
        "workplace": "Home-based",
        "vulnerabilities": "Two children under 10.",
    },
    "fenwick": {
        "contact": "Via employer HR, 01632 960111",
        "address": "9 Elm Grove, Southtown NT9 4PA",
        "routines": "Shift work at the distribution centre.",
        "workplace": "Southtown distribution centre",
        "vulnerabilities": "",
    },
    "quinn": {
        "contact": "Practice manager, Rowan Surgery",
        "address": "Not disclosed",
        "routines": "Surgery hours Monday to Friday.",
        "workplace": "Rowan Surgery, Northtown",
        "vulnerabilities": "Targeted through social media and the surgery's public pages.",
    },
}


def seed(ctx: Any) -> None:
    for key, case in list(ctx.cases.items()):
        if key not in IDENTITY:
            continue
        ctx.once(f"cases:enriched:{key}", lambda key=key, case=case: _enrich(ctx, key, case))


def _u(ctx: Any, name: str) -> Any:
    return ctx.users[name]


def _enrich(ctx: Any, key: str, case: Any) -> Any:
    from cases.models import Case

    case = Case.objects.select_related("lead_agency", "nominal").get(pk=case.pk)
    lead_key = next(k for k, a in ctx.agencies.items() if a.pk == case.lead_agency_id)
    lead = ctx.agencies[lead_key]
    owner = _u(ctx, f"{lead_key}.practitioner")
    chair = _u(ctx, f"{lead_key}.chair")
    today = timezone.localdate()
    ident = IDENTITY[key]
    nominal = case.nominal
    names = nominal.names[0]
    s.do_update_nominal(
        nominal=nominal,
        case=case,
        version=nominal.version,
        agency=lead,
        acting_user=owner,
        data=s.NominalInput(
            given_name=names["given"],
            family_name=names["family"],
            date_of_birth=nominal.date_of_birth,
            aliases=ident["aliases"],
            ethnicity=ident["ethnicity"],
            address=ident["address"],
            pnc_id=pnc_with_check(*ident["pnc"]) if ident["pnc"] else None,
            nhs_number=nhs_with_check(ident["nhs"]),
            visor_ref=ident["visor"],
            ndelius_crn=ident["crn"],
        ),
    )
    victim = case.victims.order_by("created_at").first()
    if victim is not None:
        s.do_update_victim(
            victim=victim,
            version=victim.version,
            agency=lead,
            acting_user=owner,
            changes=dict(VICTIM_DETAIL[key]),
        )
    # screening and status
    referral = case.referral
    outcome = c.ScreeningOutcome.ACCEPTED
    s.do_record_screening(
        referral=referral,
        version=referral.version,
        agency=lead,
        acting_user=owner,
        outcome=outcome,
        advice_given="Accepted for multi-agency risk management; ISAC allocated.",
    )
    case.refresh_from_db()
    for status in (c.CaseStatus.SCREENING, c.CaseStatus.ACTIVE):
        s.do_change_case_status(case=case, to=status, version=case.version, agency=lead, acting_user=owner)
    # assessments: history kept, the newest sets the headline
    yes = {"marsh": 7, "hollis": 9, "fenwick": 4, "quinn": 5}[key]
    answers = {q: i < yes for i, q in enumerate(SDASH)}
    s.do_record_assessment(
        case=case,
        agency=lead,
        acting_user=owner,
        data=s.AssessmentInput(
            tool=c.Tool.SDASH,
            level="high" if yes >= 7 else "medium",
            answers=answers,
            assessed_on=today - timedelta(days=20),
            formulation="Officer's grade raised for fixation and recent escalation.",
            basis=c.Basis.OPINION,
        ),
    )
    s.do_record_assessment(
        case=case,
        agency=lead,
        acting_user=owner,
        data=s.AssessmentInput(
            tool=c.Tool.SASH,
            level="moderate" if key in ("fenwick", "quinn") else "high",
            answers={"notes": "Screening and assessment for stalking and harassment completed at interview."},
            assessed_on=today - timedelta(days=15),
        ),
    )
    if key in ("marsh", "quinn"):
        s.do_record_assessment(
            case=case,
            agency=lead,
            acting_user=_u(ctx, "health.practitioner") if key == "quinn" else owner,
            data=s.AssessmentInput(
                tool=c.Tool.SRP,
                srp_type=c.SrpType.REJECTED if key == "marsh" else c.SrpType.INTIMACY_SEEKING,
                srp_domains={
                    "violence": "moderate",
                    "persistence": "high",
                    "recurrence": "high",
                    "psychosocial_damage": "moderate",
                },
                formulation="Rejected-type pursuit following separation; persistence driven by grievance.",
                assessed_on=today - timedelta(days=8),
            ),
        )
    if key in ("hollis", "fenwick"):
        s.do_record_assessment(
            case=case,
            agency=lead,
            acting_user=owner,
            data=s.AssessmentInput(
                tool=c.Tool.OASYS,
                level="very_high" if key == "hollis" else "medium",
                assessed_on=today - timedelta(days=6),
                formulation="RoSH to a known adult; imminent on release without controls.",
            ),
        )
    # orders
    if key in ("marsh", "hollis"):
        spo = s.do_add_order(
            case=case,
            agency=lead,
            acting_user=owner,
            values={
                "order_type": c.OrderType.SPO if key == "marsh" else c.OrderType.RESTRAINING,
                "legal_basis": "Stalking Protection Act 2019 s1"
                if key == "marsh"
                else "Protection from Harassment Act 1997 s5",
                "court": "Northtown Magistrates' Court" if key == "marsh" else "Northshire Crown Court",
                "applied_on": today - timedelta(days=60),
                "made_on": today - timedelta(days=45),
                "served_on": today - timedelta(days=44),
                "starts_on": today - timedelta(days=44),
                "until_further_order": key == "hollis",
                "ends_on": None
                if key == "hollis"
                else today - timedelta(days=44) + timedelta(days=2 * 365 + 1),
                "notification_met_on": today - timedelta(days=42) if key == "marsh" else None,
            },
        )
        s.do_add_condition(
            order=spo,
            agency=lead,
            acting_user=owner,
            kind=c.ConditionKind.PROHIBITION,
            text="Must not contact the protected person directly or indirectly, including online.",
            protected_persons="The victim and her immediate family",
        )
        s.do_add_condition(
            order=spo,
            agency=lead,
            acting_user=owner,
            kind=c.ConditionKind.PROHIBITION,
            text="Must not enter the exclusion zone shown on the map.",
            exclusion_zone={"description": "Willow Court estate and Northtown Central Library, 200 m radius"},
            electronic_monitoring=key == "hollis",
        )
        if key == "marsh":
            s.do_add_condition(
                order=spo,
                agency=lead,
                acting_user=owner,
                kind=c.ConditionKind.REQUIREMENT,
                text="Must attend the stalking clinic's assessment appointments.",
            )
        s.do_record_breach(
            order=spo,
            agency=lead,
            acting_user=owner,
            occurred_on=today - timedelta(days=10),
            reported_by="Victim, via the ISAC",
            description="Sent three messages from a new social-media account.",
            action_taken="Arrested and interviewed; file passed to CPS.",
            outcome="Charged with breach; remanded on bail with a curfew.",
        )
        s.do_add_order_event(
            order=spo,
            agency=lead,
            acting_user=owner,
            kind=c.OrderEventKind.VARIATION,
            occurred_on=today - timedelta(days=5),
            details="Exclusion zone extended to the victim's gym.",
        )
        # a variation leaves the order varied but in force: record that too
    if key == "fenwick":
        s.do_add_order(
            case=case,
            agency=lead,
            acting_user=owner,
            values={
                "order_type": c.OrderType.LICENCE,
                "legal_basis": "Criminal Justice Act 2003 s250",
                "starts_on": today - timedelta(days=90),
                "ends_on": today + timedelta(days=270),
            },
        )
    # the plan: two versions
    partner = {"marsh": "probation", "hollis": "probation", "fenwick": "police", "quinn": "health"}[key]
    items = {
        "supervision": [{"text": "Weekly supervision appointments", "agency": "probation"}],
        "monitoring": [{"text": "Check compliance with the order's exclusion zone", "agency": "police"}],
        "interventions": [{"text": "Stalking clinic assessment and treatment", "agency": "health"}],
        "victim_safety": [{"text": "ISAC safety planning and target hardening", "agency": "isac"}],
    }
    s.do_save_plan(
        case=case,
        base_number=0,
        agency=lead,
        acting_user=owner,
        items=items,
        contingency=CONTINGENCY,
        change_summary="First plan agreed at the referral meeting",
    )
    items["victim_safety"].append({"text": "Panic alarm and doorbell camera fitted", "agency": "police"})
    s.do_save_plan(
        case=case,
        base_number=1,
        agency=lead,
        acting_user=chair,
        items=items,
        contingency=CONTINGENCY,
        change_summary="Victim safety measures added after the breach",
    )
    # actions: some overdue
    overdue = s.do_add_action(
        case=case,
        agency=lead,
        acting_user=owner,
        pillar=c.Pillar.VICTIM_SAFETY,
        text="Fit panic alarm at the victim's home",
        owner=owner,
        action_agency=lead,
        due_on=today - timedelta(days=3),
    )
    s.do_add_action_update(
        action=overdue, agency=lead, acting_user=owner, text="Installer booked; awaiting date."
    )
    partner_action = s.do_add_action(
        case=case,
        agency=lead,
        acting_user=owner,
        pillar=c.Pillar.SUPERVISION if partner == "probation" else c.Pillar.INTERVENTIONS,
        text="Share the latest supervision or treatment summary before the review",
        owner=_u(ctx, f"{partner}.practitioner"),
        action_agency=ctx.agencies[partner],
        due_on=today + timedelta(days=7),
    )
    done = s.do_add_action(
        case=case,
        agency=lead,
        acting_user=owner,
        pillar=c.Pillar.MONITORING,
        text="Add a warning marker to the victim's address",
        owner=owner,
        action_agency=lead,
        due_on=today - timedelta(days=12),
    )
    s.do_update_action(
        action=done, version=done.version, agency=lead, acting_user=owner, status=c.ActionStatus.DONE
    )
    # notes from partners, in their own names
    s.do_add_note(
        case=case,
        agency=ctx.agencies["isac"],
        acting_user=_u(ctx, "isac.practitioner"),
        body="Victim reports feeling safer since the alarm was discussed; still changes route to work.",
        category="C8",
    )
    if lead_key != "probation":
        s.do_add_note(
            case=case,
            agency=ctx.agencies["probation"],
            acting_user=_u(ctx, "probation.practitioner"),
            body="Attended all supervision appointments this month; minimises the contact.",
            category="C2",
            basis=c.Basis.OPINION,
        )
    s.do_add_note(
        case=case,
        agency=ctx.agencies["health"],
        acting_user=_u(ctx, "health.practitioner"),
        body="No treatable mental illness identified; clinic will offer a fixation-focused intervention.",
        category="C6",
        basis=c.Basis.OPINION,
    )
    return partner_action
