"""Demo content for sharing (called by ``manage.py seed_demo`` through agencies.demo).

Adds, once each (``ctx.once``): a draft clinic agreement signed so far by police only; an older
agreement that was activated and then suspended; a break-glass opening by a partner practitioner
waiting in the lead agency's review queue; and a recorded, chair-approved disclosure to a victim.
Running the seed again changes nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from core.categories import DEFAULT_MATRIX

from . import policy
from . import services as s
from .models import AgreementParty, BreakGlass, Disclosure, SharingAgreement

GATEWAYS = {
    "police": "CJA 2003 s325; DPA 2018 Part 3, Schedule 8 para 1",
    "probation": "CJA 2003 s325; DPA 2018 Part 3, Schedule 8 para 1",
    "health": "UK GDPR Art 6(1)(e), Art 9(2)(g); DPA 2018 Sch 1 para 18; common-law public interest",
    "isac": "UK GDPR Art 6(1)(e), Art 9(2)(g); DPA 2018 Sch 1 para 18 (safeguarding)",
}


def _parties(ctx: Any, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {
            "agency": ctx.agencies[k],
            "legal_gateway": GATEWAYS[k],
            "categories": dict(DEFAULT_MATRIX[ctx.agencies[k].agency_type]),
        }
        for k in keys
    ]


def _sign(ctx: Any, agreement: SharingAgreement, key: str) -> None:
    party = AgreementParty.objects.get(agreement=agreement, agency=ctx.agencies[key])
    if party.signed_on is None:
        s.do_sign_agreement(
            party=party,
            signatory_name=f"{key.title()} Head of Service",
            signatory_role="Senior information risk owner",
            acting_user=ctx.users[f"{key}.admin"],
        )


def _draft_clinic_agreement(ctx: Any) -> SharingAgreement:
    today = timezone.localdate()
    agreement = s.do_create_agreement(
        title="Northshire stalking clinic: health and advocacy addendum",
        reference="ISA-NS-2026-02",
        purpose="Clinic assessment of fixated perpetrators with health and the advocacy service.",
        dpia_reference="DPIA-NS-131",
        retention_rule="Health contributions kept under the trust's records schedule; others 6 years.",
        security_terms="OFFICIAL-SENSITIVE; NHS mail or Convene only; no onward sharing.",
        starts_on=today + timedelta(days=14),
        review_on=today + timedelta(days=379),
        ends_on=None,
        drafted_by=ctx.agencies["police"],
        acting_user=ctx.users["police.admin"],
        parties=_parties(ctx, ("police", "health", "isac")),
    )
    _sign(ctx, agreement, "police")
    return agreement


def _suspended_agreement(ctx: Any) -> SharingAgreement:
    today = timezone.localdate()
    agreement = s.do_create_agreement(
        title="Northshire police and probation licence-recall protocol",
        reference="ISA-NS-2025-07",
        purpose="Rapid exchange of breach information for licence recall.",
        dpia_reference="DPIA-NS-088",
        retention_rule="6 years after the end of the licence.",
        security_terms="OFFICIAL-SENSITIVE handling; vetted users.",
        starts_on=today - timedelta(days=200),
        review_on=today + timedelta(days=165),
        ends_on=None,
        drafted_by=ctx.agencies["police"],
        acting_user=ctx.users["police.admin"],
        parties=_parties(ctx, ("police", "probation")),
    )
    _sign(ctx, agreement, "police")
    _sign(ctx, agreement, "probation")
    agreement = s.do_change_agreement_status(
        agreement=agreement, status="active", acting_user=ctx.users["police.admin"]
    )
    return s.do_change_agreement_status(
        agreement=agreement,
        status="suspended",
        acting_user=ctx.users["probation.admin"],
        reason="Suspended pending the annual review of the recall protocol.",
    )


def _unshared_case(ctx: Any) -> Any:
    """A new police-led case shared with health, CPS and the ISAC but not yet with probation
    (the break-glass example needs a case a party agency cannot see)."""
    from agencies.demo import DemoCase, _make_case

    spec = DemoCase(
        key="okafor",
        lead="police",
        given_name="Marcus",
        family_name="Okafor",
        born=date(1984, 11, 2),
        forum="mappa",
        mappa_category=2,
        mappa_level=1,
        reason="New referral: repeated messages and visits to a former colleague's home.",
        offence="Stalking (PHA 1997 s2A)",
        victim="Hannah Reid",
        relationship="workplace",
        note="Referral received; probation is not yet involved, so the case is not shared with it.",
    )
    case = _make_case(ctx, spec)
    for key in ("health", "cps", "isac"):
        agency = ctx.agencies[key]
        s.do_share_case(
            case=case,
            agency=agency,
            agreement=ctx.agreement,
            categories=sorted(k for k, v in DEFAULT_MATRIX[agency.agency_type].items() if v > 0),
            purpose="Joint risk management of a stalking perpetrator under the Northshire agreement",
            acting_user=ctx.users["police.practitioner"],
            acting_agency=ctx.agencies["police"],
        )
    return case


def _pending_break_glass(ctx: Any) -> BreakGlass:
    """A partner practitioner opens a case not shared with their agency (found, not assumed)."""
    unshared = ctx.once("sharing:case:unshared", lambda: _unshared_case(ctx))
    for case in [unshared, *ctx.cases.values()]:
        for key in ("probation", "cps", "health", "isac"):
            user = ctx.users.get(f"{key}.practitioner")
            agency = ctx.agencies.get(key)
            if user is None or agency is None or agency.pk == case.lead_agency_id:
                continue
            policy.forget(user)
            if policy.case_access(user, case) is not None:
                continue
            agreement = policy.break_glass_agreements(user, case).first()
            if agreement is None:
                continue
            return s.do_break_glass(
                case=case,
                user=user,
                agency=agency,
                agreement=agreement,
                reason=(
                    "Out-of-hours call: the victim reports the nominal outside her home; "
                    "I need the risk picture now."
                ),
            )
    raise RuntimeError("No demo case is unshared with a partner: cannot seed a break-glass example.")


def _disclosure(ctx: Any) -> Disclosure:
    case = ctx.cases["marsh"]
    return s.do_record_disclosure(
        case=case,
        agency=case.lead_agency,
        recipient="The victim (via her ISAC advocate)",
        recipient_kind="victim",
        categories=["C4"],
        summary="A restraining order is in force with an exclusion zone around her workplace.",
        justification="She needs to know the order's terms to report breaches and plan her safety.",
        undertaking=False,
        approved_by=ctx.users["police.chair"],
        disclosed_on=timezone.localdate() - timedelta(days=3),
        acting_user=ctx.users["police.practitioner"],
    )


def seed(ctx: Any) -> None:
    ctx.extra["draft_agreement"] = ctx.once("sharing:agreement:draft", lambda: _draft_clinic_agreement(ctx))
    ctx.extra["suspended_agreement"] = ctx.once(
        "sharing:agreement:suspended", lambda: _suspended_agreement(ctx)
    )
    if ctx.cases:
        ctx.extra["break_glass"] = ctx.once("sharing:break-glass", lambda: _pending_break_glass(ctx))
        if "marsh" in ctx.cases:
            ctx.extra["disclosure"] = ctx.once("sharing:disclosure", lambda: _disclosure(ctx))
    ctx.log("Sharing: a draft and a suspended agreement, a break-glass awaiting review, a disclosure.")
