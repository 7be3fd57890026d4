"""The policy module: per-object answers, querysets, audiences, field visibility, roles to actions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agencies.services import do_end_membership
from cases.models import Case, Victim
from core.categories import ALL_CATEGORIES, DEFAULT_MATRIX, Level
from sharing import policy
from sharing.models import BreakGlass, CaseShare
from sharing.services import do_break_glass, do_revoke_share
from tests.world import make_case


def test_lead_agency_sees_everything_in_full(world):
    # given the case owner in the lead agency
    # when we ask for their access
    access = policy.case_access(world.police_practitioner, world.case)
    # then it is lead access with every category in full and nothing withheld
    assert access is not None and access.is_lead
    assert access.categories == list(ALL_CATEGORIES)
    assert policy.withheld_categories(access) == {}


@pytest.mark.parametrize("key", ["probation", "health", "cps", "isac"])
def test_partner_receives_exactly_the_default_matrix(world, key):
    # given a partner practitioner whose agency received the case per the default matrix
    user = world.users[f"{key}_practitioner"]
    agency_type = world.agencies[key].agency_type
    # when we ask for their access
    access = policy.case_access(user, world.case)
    # then the levels are exactly the matrix's non-zero entries
    assert access is not None and access.via == "share"
    expected = {c: v for c, v in DEFAULT_MATRIX[agency_type].items() if v > 0}
    assert access.levels == expected
    assert access.agreement_refs == ("ISA-NS-2026-01",)


def test_withheld_reasons_name_the_agreement_reference(world):
    # given health, which never receives C7 and gets only a summary of C2
    access = policy.case_access(world.health_practitioner, world.case)
    assert access is not None
    reasons = policy.withheld_categories(access)
    # then the reasons name the agreement by reference, not by id
    assert reasons["C8"] == "Not shared with your agency under agreement ISA-NS-2026-01."
    assert (
        reasons["C2"] == "Summary only: not shared in full with your agency under agreement ISA-NS-2026-01."
    )
    assert "never shared with a health agency" in reasons["C7"]
    assert str(world.agreement.pk) not in " ".join(reasons.values())


def test_victim_identity_never_reaches_health_even_if_a_share_lists_it(world):
    # given a share row that (wrongly, bypassing the service) lists C7 for health
    share = CaseShare.objects.get(case=world.case, agency=world.agencies["health"])
    CaseShare.objects.filter(pk=share.pk).update(categories=[*share.categories, "C7"])
    # when health looks at the case
    access = policy.case_access(world.health_practitioner, world.case)
    victim = Victim.objects.get(case=world.case)
    # then C7 is still withheld and no victim field is visible
    assert access is not None and access.level("C7") == Level.NONE
    assert not policy.can_see_record(access, victim)
    assert policy.visible_fields(access, victim) == frozenset()


def test_safety_plan_goes_to_isac_only_among_partners(world):
    # given the default shares
    accesses = {
        key: policy.case_access(world.users[f"{key}_practitioner"], world.case)
        for key in ("probation", "health", "isac")
    }
    levels = {key: access.level("C8") if access else None for key, access in accesses.items()}
    # then only the advocacy service gets C8 in full; probation and health get none
    assert levels == {"probation": 0, "health": 0, "isac": 2}


def test_owning_agency_sees_its_own_record_in_full(world):
    # given health, which gets only a summary of C2, and a note health wrote in C2
    from cases.services import do_add_note

    note = do_add_note(
        case=world.case,
        agency=world.agencies["health"],
        acting_user=world.health_practitioner,
        body="Attended clinic.",
        category="C2",
    )
    access = policy.case_access(world.health_practitioner, world.case)
    assert access is not None
    # then health sees its own note in full although C2 is summary for it
    assert policy.record_level(access, note, "C2") == Level.FULL
    assert "body" in policy.visible_fields(access, note)
    # and a police note in C2 shows no body to health
    police_note = do_add_note(
        case=world.case,
        agency=world.agencies["police"],
        acting_user=world.police_practitioner,
        body="Intelligence.",
        category="C2",
    )
    assert "body" not in policy.visible_fields(access, police_note)


@pytest.mark.parametrize("role", ["auditor", "admin", "dpo"])
def test_non_content_roles_see_no_case(world, role):
    # given a pure auditor, admin or DPO of the lead agency
    user = world.users[f"police_{role}"]
    # then they see no case content in any form
    assert policy.case_access(user, world.case) is None
    assert list(policy.cases_visible_to(user)) == []
    assert user.pk not in policy.user_ids_who_can_view(world.case)


def test_auditor_sees_audit_not_cases(world):
    assert policy.can_view_audit(world.police_auditor)
    assert not policy.can_view_audit(world.police_practitioner)
    assert list(policy.cases_visible_to(world.police_auditor)) == []


def test_access_case_hides_forbidden_and_missing_alike(world):
    with pytest.raises(Http404):
        policy.access_case(world.outsider_practitioner, world.case.pk)
    with pytest.raises(Http404):
        policy.access_case(world.police_practitioner, "not-a-uuid")
    case, access = policy.access_case(world.police_practitioner, world.case.pk)
    assert case.pk == world.case.pk and access.is_lead


def test_roles_to_actions(world):
    case = world.case
    # practitioners view shared cases and add notes in their own agency's name
    assert policy.can_add_note(world.health_practitioner, case)
    assert policy.note_agency_id(world.health_practitioner, case) == world.agencies["health"].pk
    assert not policy.can_edit_case(world.health_practitioner, case)
    # chairs run reviews and record decisions
    assert policy.can_chair_review(world.police_chair, case)
    assert policy.can_record_decision(world.probation_chair, case)
    assert not policy.can_chair_review(world.police_practitioner, case)
    assert not policy.can_chair_review(world.outsider_chair, case)
    # the owner or a lead chair shares and revokes; partners do not
    assert policy.can_share_case(world.police_practitioner, case)
    assert policy.can_share_case(world.police_chair, case)
    assert not policy.can_share_case(world.probation_chair, case)
    assert not policy.can_share_case(world.police_admin, case)
    # agency admins manage people and draft agreements
    assert policy.can_manage_memberships(world.police_admin, world.agencies["police"])
    assert not policy.can_manage_memberships(world.police_admin, world.agencies["health"])
    assert policy.can_draft_agreement(world.health_admin)
    assert not policy.can_draft_agreement(world.health_practitioner)
    # disclosures: recorded by the owner, approved by a lead chair
    assert policy.can_approve_disclosure(world.police_chair, case)
    assert not policy.can_approve_disclosure(world.probation_chair, case)


def test_agreement_roles(world):
    agreement = world.agreement
    assert policy.can_activate_agreement(world.police_admin, agreement)
    assert not policy.can_activate_agreement(world.health_admin, agreement)
    assert policy.can_suspend_agreement(world.health_admin, agreement)
    assert not policy.can_suspend_agreement(world.outsider_admin, agreement)
    assert not policy.can_suspend_agreement(world.police_practitioner, agreement)
    assert [p.agency_id for p in policy.parties_user_may_sign(world.cps_admin, agreement)] == [
        world.agencies["cps"].pk
    ]
    assert agreement in policy.agreements_visible_to(world.health_auditor)
    assert agreement not in policy.agreements_visible_to(world.outsider_practitioner)


def test_cases_visible_to_is_one_query(world, django_assert_num_queries):
    # given a practitioner whose memberships are already cached for the request
    make_case(world, share_with=("health",), family="Other")
    user = world.health_practitioner
    policy.memberships(user)
    # when the permission-filtered list is read
    with CaptureQueriesContext(connection) as ctx:
        cases = list(policy.cases_visible_to(user)[:50])
    # then it took exactly one SQL query
    assert len(ctx.captured_queries) == 1
    assert len(cases) == 2
    sql = ctx.captured_queries[0]["sql"].lower()
    assert "exists" in sql and "casegroupobjectpermission" in sql


def test_revoking_removes_access_and_audience(world):
    share = CaseShare.objects.get(case=world.case, agency=world.agencies["cps"])
    assert world.cps_practitioner.pk in policy.user_ids_who_can_view(world.case)
    # when the owner revokes it
    do_revoke_share(share=share, reason="No longer needed", acting_user=world.police_practitioner)
    policy.forget(world.cps_practitioner)
    # then cps sees nothing
    assert policy.case_access(world.cps_practitioner, world.case) is None
    assert world.cps_practitioner.pk not in policy.user_ids_who_can_view(world.case)
    assert list(policy.cases_visible_to(world.cps_practitioner)) == []


def test_ended_membership_loses_access(world):
    do_end_membership(membership=world.memberships["health_practitioner"], acting_user=world.health_admin)
    policy.forget(world.health_practitioner)
    assert policy.case_access(world.health_practitioner, world.case) is None
    assert world.health_practitioner.pk not in policy.user_ids_who_can_view(world.case)


def test_break_glass_gives_access_until_the_time_limit(world):
    # given a case led by police and not shared with probation
    case = make_case(world, family="Glass")
    user = world.probation_practitioner
    assert policy.can_break_glass(user, case)
    # when probation breaks glass
    glass = do_break_glass(
        case=case,
        user=user,
        agency=world.agencies["probation"],
        agreement=world.agreement,
        reason="Risk to victim reported tonight",
    )
    policy.forget(user)
    access = policy.case_access(user, case)
    # then they see the agreement's terms for probation, marked as break-glass, until it expires
    assert access is not None and access.is_break_glass
    assert access.break_glass_expires_at == glass.expires_at
    assert access.levels == {c: v for c, v in DEFAULT_MATRIX["probation"].items() if v}
    assert case in policy.cases_visible_to(user)
    assert user.pk in policy.user_ids_who_can_view(case)
    later = glass.expires_at + timedelta(seconds=1)
    assert policy.case_access(user, case, at=later) is None
    assert case not in policy.cases_visible_to(user, at=later)
    assert user.pk not in policy.user_ids_who_can_view(case, at=later)
    # and it lands in the lead agency's review queue (chairs and auditors), not a partner's
    assert glass in policy.break_glass_review_queue(world.police_chair)
    assert glass in policy.break_glass_review_queue(world.police_auditor)
    assert glass not in policy.break_glass_review_queue(world.probation_chair)
    assert policy.can_review_break_glass(world.police_auditor, glass)


def test_expired_break_glass_row_gives_nothing(world):
    case = make_case(world, family="Past")
    glass = do_break_glass(
        case=case,
        user=world.cps_practitioner,
        agency=world.agencies["cps"],
        agreement=world.agreement,
        reason="Charging decision due this morning",
    )
    BreakGlass.objects.filter(pk=glass.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    policy.forget(world.cps_practitioner)
    assert policy.case_access(world.cps_practitioner, case) is None
    assert case not in policy.cases_visible_to(world.cps_practitioner)


def test_erased_case_is_invisible(world):
    Case.objects.filter(pk=world.case.pk).update(erased_at=timezone.now())
    world.case.refresh_from_db()
    assert policy.case_access(world.police_practitioner, world.case) is None
    assert policy.user_ids_who_can_view(world.case) == set()
    assert list(policy.cases_visible_to(world.police_practitioner)) == []


def _side_agreement(world, keys: tuple[str, ...]):
    """An agreement in force between the named agencies only (the lead police force not among them)."""
    from sharing.services import do_change_agreement_status, do_create_agreement, do_sign_agreement
    from tests.world import GATEWAYS

    today = timezone.localdate()
    agreement = do_create_agreement(
        title="Southshire and Northshire probation exchange",
        reference="ISA-SS-2026-03",
        purpose="Supervision of a perpetrator moving between areas.",
        dpia_reference="DPIA-SS-9",
        retention_rule="6 years.",
        security_terms="OFFICIAL-SENSITIVE handling.",
        starts_on=today - timedelta(days=1),
        review_on=today + timedelta(days=300),
        ends_on=None,
        drafted_by=world.agencies[keys[0]],
        acting_user=world.users[f"{keys[0]}_admin"],
        parties=[
            {
                "agency": world.agencies[k],
                "legal_gateway": GATEWAYS[world.agencies[k].agency_type],
                "categories": dict(DEFAULT_MATRIX[world.agencies[k].agency_type]),
            }
            for k in keys
        ],
    )
    by_agency = {world.agencies[k].pk: world.users[f"{k}_admin"] for k in keys}
    for party in agreement.parties.all():
        do_sign_agreement(
            party=party,
            signatory_name="A Signatory",
            signatory_role="Head",
            acting_user=by_agency[party.agency_id],
        )
    return do_change_agreement_status(
        agreement=agreement, status="active", acting_user=world.users[f"{keys[0]}_admin"]
    )


def test_break_glass_is_open_only_to_a_party_to_an_agreement_with_the_lead_on_a_case_it_cannot_see(world):
    # given a police case shared with nobody, and Southshire Police party to an agreement with
    # Northshire probation only (not with the lead police force)
    case = make_case(world, family="Sealed")
    side = _side_agreement(world, ("outsider", "probation"))
    outsider = world.outsider_practitioner
    # then the outsider is offered no agreement and may not break glass
    assert list(policy.break_glass_agreements(outsider, case)) == []
    assert not policy.can_break_glass(outsider, case)
    # while probation, party to both, is offered the one the lead agency is party to, and only that
    assert list(policy.break_glass_agreements(world.probation_practitioner, case)) == [world.agreement]
    assert side not in policy.break_glass_agreements(world.probation_practitioner, case)
    assert policy.can_break_glass(world.probation_practitioner, case)
    # and nobody breaks glass into a case they already see, or one that was erased
    assert not policy.can_break_glass(world.police_practitioner, case)
    assert not policy.can_break_glass(world.health_practitioner, world.case)
    Case.objects.filter(pk=case.pk).update(erased_at=timezone.now())
    case.refresh_from_db()
    assert not policy.can_break_glass(world.probation_practitioner, case)


def test_only_the_lead_agencys_chairs_and_auditors_review_a_break_glass_use_once(world):
    from sharing.services import do_review_break_glass

    # given probation broke glass into a police case
    case = make_case(world, family="Review")
    glass = do_break_glass(
        case=case,
        user=world.probation_practitioner,
        agency=world.agencies["probation"],
        agreement=world.agreement,
        reason="Risk to victim reported tonight",
    )
    reviewers = {
        name
        for name in world.users
        if name != "system_setup" and policy.can_review_break_glass(world.users[name], glass)
    }
    # then the lead agency's chair and auditor review it, and nobody else
    assert reviewers == {"police_chair", "police_auditor"}
    # and once reviewed, nobody reviews it again
    do_review_break_glass(
        glass=glass, outcome="justified", note="Proportionate.", acting_user=world.police_chair
    )
    glass.refresh_from_db()
    assert not policy.can_review_break_glass(world.police_chair, glass)
    assert not policy.can_review_break_glass(world.police_auditor, glass)


@pytest.mark.parametrize("via", ["lead", "share", "break_glass"])
def test_an_access_says_whose_it_is_and_for_which_case(world, via):
    # given the lead's practitioner, a partner's through a share, and one through break-glass
    case = world.case
    if via == "lead":
        key = "police"
    elif via == "share":
        key = "health"
    else:
        key = "probation"
        case = make_case(world, family="Whose")
        do_break_glass(
            case=case,
            user=world.probation_practitioner,
            agency=world.agencies["probation"],
            agreement=world.agreement,
            reason="Risk to victim reported tonight",
        )
    user = world.users[f"{key}_practitioner"]
    policy.forget(user)
    access = policy.case_access(user, case)
    # then the access names the case, the agency and role it is held through, and the agency's type
    assert access is not None and access.via == via
    assert access.case_id == case.pk
    assert access.agency_id == world.agencies[key].pk
    assert access.role == "practitioner"
    assert access.own_agency_ids == frozenset({world.agencies[key].pk})
    assert access.agency_type == world.agencies[key].agency_type
