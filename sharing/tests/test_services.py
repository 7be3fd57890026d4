"""Sharing services: validate, write, audit in one transaction; refuse bad input writing nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from guardian.models import GroupObjectPermission  # noqa: F401 - the generic table stays empty

from audit.models import AuditEvent, Op
from core.errors import DomainError
from sharing import policy
from sharing.models import (
    AgreementParty,
    BreakGlass,
    CaseGroupObjectPermission,
    CaseShare,
    CaseUserObjectPermission,
    Disclosure,
    SharingAgreement,
)
from sharing.services import (
    do_break_glass,
    do_change_agreement_status,
    do_expire_agreements,
    do_record_disclosure,
    do_review_break_glass,
    do_share_case,
    do_sign_agreement,
)
from sharing.tests.helpers import activate, draft_agreement
from tests.world import make_case


def counts():
    return (
        CaseShare.objects.count(),
        CaseGroupObjectPermission.objects.count(),
        CaseUserObjectPermission.objects.count(),
        BreakGlass.objects.count(),
        Disclosure.objects.count(),
        AuditEvent.objects.count(),
    )


def share(world, case, key, agreement=None, categories=("C1",)):
    return do_share_case(
        case=case,
        agency=world.agencies[key],
        agreement=agreement or world.agreement,
        categories=list(categories),
        purpose="Joint risk management",
        acting_user=world.police_practitioner,
        acting_agency=world.agencies["police"],
    )


def test_agreement_lifecycle_draft_sign_activate_suspend_terminate(world):
    # given a draft between police and probation
    agreement = draft_agreement(world, "ISA-T-1")
    assert agreement.status == "draft"
    # when it is activated before every party signed, it is refused
    with pytest.raises(DomainError, match="Every party must sign first") as err:
        do_change_agreement_status(agreement=agreement, status="active", acting_user=world.police_admin)
    assert err.value.field == "status"
    # when every party signs and it is activated, suspended, then terminated
    agreement = activate(world, agreement)
    assert agreement.status == "active"
    agreement = do_change_agreement_status(
        agreement=agreement,
        status="suspended",
        acting_user=world.probation_admin,
        reason="Data breach review",
    )
    assert agreement.status == "suspended"
    agreement = do_change_agreement_status(
        agreement=agreement, status="terminated", acting_user=world.police_admin, reason="Replaced"
    )
    # then each step is audited and terminated is final
    assert agreement.status == "terminated"
    changes = list(
        AuditEvent.objects.filter(op=Op.AGREEMENT, agreement_id=agreement.pk)
        .order_by("occurred_at", "id")
        .values_list("detail", flat=True)
    )
    assert [c["change"] for c in changes].count("signed") == 2
    assert [c.get("to") for c in changes if c["change"] == "status"] == ["active", "suspended", "terminated"]
    with pytest.raises(DomainError):
        do_change_agreement_status(agreement=agreement, status="active", acting_user=world.police_admin)


def test_suspending_needs_a_reason(world):
    with pytest.raises(DomainError) as err:
        do_change_agreement_status(
            agreement=world.agreement, status="suspended", acting_user=world.police_admin
        )
    assert err.value.field == "reason"
    assert SharingAgreement.objects.get(pk=world.agreement.pk).status == "active"


def test_a_party_signs_once(world):
    agreement = draft_agreement(world, "ISA-T-2")
    party = agreement.parties.get(agency=world.agencies["probation"])
    do_sign_agreement(
        party=party, signatory_name="P", signatory_role="Head", acting_user=world.probation_admin
    )
    with pytest.raises(DomainError, match="already signed"):
        do_sign_agreement(
            party=party, signatory_name="P", signatory_role="Head", acting_user=world.probation_admin
        )


def test_agreement_cannot_give_health_victim_location(world):
    before = (SharingAgreement.objects.count(), AgreementParty.objects.count())
    with pytest.raises(DomainError, match="never") as err:
        draft_agreement(
            world,
            "ISA-T-3",
            keys=("police",),
            parties=[
                {"agency": world.agencies["police"], "legal_gateway": "s325", "categories": {"C1": 2}},
                {"agency": world.agencies["health"], "legal_gateway": "Art 6(1)(e)", "categories": {"C7": 1}},
            ],
        )
    assert err.value.field == "parties"
    assert (SharingAgreement.objects.count(), AgreementParty.objects.count()) == before


def test_share_refuses_a_category_the_agreement_does_not_allow(world):
    # given a new case, and health which may not receive C8 under the agreement
    case = make_case(world, family="Refuse")
    before = counts()
    # when the owner tries to share C8 with health
    with pytest.raises(DomainError) as err:
        share(world, case, "health", categories=("C1", "C8"))
    # then it is refused naming the category and the agreement, and nothing is written
    assert err.value.field == "categories"
    assert "ISA-NS-2026-01" in err.value.message and "C8" in err.value.message
    assert counts() == before


@pytest.mark.parametrize("state", ["draft", "expired", "suspended"])
def test_share_refused_under_an_agreement_not_in_force(world, state):
    case = make_case(world, family="NotInForce")
    if state == "draft":
        agreement = draft_agreement(world, "ISA-T-4")
    elif state == "expired":
        agreement = activate(world, draft_agreement(world, "ISA-T-4"))
        agreement = do_change_agreement_status(
            agreement=agreement, status="expired", acting_user=world.police_admin, reason="Ended"
        )
    else:
        agreement = activate(world, draft_agreement(world, "ISA-T-4"))
        agreement = do_change_agreement_status(
            agreement=agreement, status="suspended", acting_user=world.police_admin, reason="Paused"
        )
    before = counts()
    with pytest.raises(DomainError, match="only an active agreement allows sharing") as err:
        share(world, case, "probation", agreement=agreement)
    assert err.value.field == "agreement"
    assert counts() == before


def test_share_grants_a_guardian_group_permission_and_audits(world):
    case = make_case(world, family="Grant")
    new_share = share(world, case, "probation", categories=("C1", "C3"))
    assert CaseGroupObjectPermission.objects.filter(
        content_object=case, group=world.agencies["probation"].group
    ).exists()
    event = AuditEvent.objects.get(op=Op.SHARE_GRANTED, share_id=new_share.pk)
    assert event.categories == ["C1", "C3"]
    assert event.agreement_id == world.agreement.pk


def test_suspending_and_expiring_withdraws_access_at_once(world):
    user = world.isac_practitioner
    assert policy.case_access(user, world.case) is not None
    do_change_agreement_status(
        agreement=world.agreement, status="suspended", acting_user=world.police_admin, reason="Review"
    )
    policy.forget(user)
    assert policy.case_access(user, world.case) is None
    do_change_agreement_status(agreement=world.agreement, status="active", acting_user=world.police_admin)
    policy.forget(user)
    assert policy.case_access(user, world.case) is not None


def test_expire_agreements_command_expires_past_end_dates(world, capsys):
    # given the agreement's end date is yesterday
    SharingAgreement.objects.filter(pk=world.agreement.pk).update(
        ends_on=timezone.localdate() - timedelta(days=1)
    )
    # when the daily command runs
    call_command("expire_agreements")
    # then it is expired, audited, and sharing under it stops
    agreement = SharingAgreement.objects.get(pk=world.agreement.pk)
    assert agreement.status == "expired"
    assert "ISA-NS-2026-01" in capsys.readouterr().out
    assert AuditEvent.objects.filter(
        op=Op.AGREEMENT, agreement_id=agreement.pk, detail__to="expired"
    ).exists()
    policy.forget(world.probation_practitioner)
    assert policy.case_access(world.probation_practitioner, world.case) is None
    assert do_expire_agreements() == []


def test_break_glass_without_a_reason_is_refused(world):
    case = make_case(world, family="NoReason")
    before = counts()
    for reason in ("", "   ", "urgent"):
        with pytest.raises(DomainError) as err:
            do_break_glass(
                case=case,
                user=world.probation_practitioner,
                agency=world.agencies["probation"],
                agreement=world.agreement,
                reason=reason,
            )
        assert err.value.field == "reason"
    assert counts() == before


def test_break_glass_refused_to_outsiders_and_those_who_already_see(world, settings):
    case = make_case(world, family="Outsider")
    before = counts()
    with pytest.raises(DomainError) as err:
        do_break_glass(
            case=case,
            user=world.outsider_practitioner,
            agency=world.agencies["outsider"],
            agreement=world.agreement,
            reason="I would like to look at this",
        )
    assert err.value.field == "agreement"
    with pytest.raises(DomainError):
        do_break_glass(
            case=world.case,
            user=world.health_practitioner,
            agency=world.agencies["health"],
            agreement=world.agreement,
            reason="Already shared with me anyway",
        )
    with pytest.raises(DomainError) as err:
        do_break_glass(
            case=case,
            user=world.probation_auditor,
            agency=world.agencies["probation"],
            agreement=world.agreement,
            reason="Auditors do not read content",
        )
    assert err.value.field == "agency"
    assert counts() == before


def test_break_glass_lasts_the_configured_time_and_is_audited(world, settings):
    settings.CONVENE_BREAK_GLASS_MINUTES = 15
    case = make_case(world, family="Timed")
    glass = do_break_glass(
        case=case,
        user=world.probation_practitioner,
        agency=world.agencies["probation"],
        agreement=world.agreement,
        reason="Victim reported a sighting tonight",
    )
    assert timedelta(minutes=14) < glass.expires_at - glass.opened_at <= timedelta(minutes=15, seconds=1)
    event = AuditEvent.objects.get(op=Op.BREAK_GLASS, object_id=str(glass.pk))
    assert event.case_id == case.pk and "Victim" not in event.justification


def test_unjustified_review_ends_access_now(world):
    case = make_case(world, family="Review")
    user = world.probation_practitioner
    glass = do_break_glass(
        case=case,
        user=user,
        agency=world.agencies["probation"],
        agreement=world.agreement,
        reason="Out of hours",
    )
    with pytest.raises(DomainError) as err:
        do_review_break_glass(glass=glass, outcome="unjustified", note="", acting_user=world.police_chair)
    assert err.value.field == "review_note"
    do_review_break_glass(
        glass=glass, outcome="unjustified", note="No emergency", acting_user=world.police_chair
    )
    policy.forget(user)
    assert policy.case_access(user, case) is None
    assert glass not in policy.break_glass_review_queue(world.police_chair)


def test_disclosure_needs_a_lead_chair_approval_and_is_audited_with_recipients(world):
    values = dict(
        case=world.case,
        agency=world.agencies["police"],
        recipient="Employer HR manager",
        recipient_kind="employer",
        categories=["C4"],
        summary="Restraining order exists with workplace exclusion zone.",
        justification="Victim's workplace must enforce the exclusion zone.",
        undertaking=True,
        disclosed_on=timezone.localdate(),
        acting_user=world.police_practitioner,
    )
    before = counts()
    with pytest.raises(DomainError) as err:
        do_record_disclosure(approved_by=world.probation_chair, **values)
    assert err.value.field == "approved_by"
    with pytest.raises(DomainError) as err:
        do_record_disclosure(approved_by=world.police_chair, **{**values, "justification": "short"})
    assert err.value.field == "justification"
    assert counts() == before
    disclosure = do_record_disclosure(approved_by=world.police_chair, **values)
    event = AuditEvent.objects.get(op=Op.DISCLOSE, object_id=str(disclosure.pk))
    assert event.recipients == ["third_party:employer"]
    assert event.categories == ["C4"]
    assert "HR manager" not in str(event.detail) + event.justification
