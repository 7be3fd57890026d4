"""Case-list candidate rows (CaseVisibility): complete after every service that gives access, never
a grant by themselves, and the reason a page of a large agency's list is an index range."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from agencies.models import Role
from agencies.services import do_add_membership
from cases.models import Case
from sharing import policy, visibility
from sharing.models import CaseShare, CaseVisibility
from sharing.services import do_break_glass, do_revoke_share, do_share_case
from tests.world import make_case


def candidate_agencies(case: Case) -> set[str]:
    return set(CaseVisibility.objects.filter(case=case).values_list("agency__agency_type", flat=True))


def test_each_service_that_gives_access_writes_its_candidate_row(world):
    # given a new police case shared with health only
    case = make_case(world, share_with=("health",), family="Rows")
    assert candidate_agencies(case) == {"police", "health"}
    # when probation breaks glass on it
    do_break_glass(
        case=case,
        user=world.probation_practitioner,
        agency=world.agencies["probation"],
        agreement=world.agreement,
        reason="Risk to the victim reported tonight",
    )
    # then probation has a candidate row too, and no pair with a reason lacks one
    assert candidate_agencies(case) == {"police", "health", "probation"}
    assert visibility.missing_pairs() == []
    row = CaseVisibility.objects.get(case=case, agency=world.agencies["health"])
    assert row.case_created_at == case.created_at


def test_revoking_the_last_share_drops_the_row_and_sharing_again_restores_it(world):
    case = make_case(world, share_with=("cps",), family="Again")
    share = CaseShare.objects.get(case=case, agency=world.agencies["cps"])
    do_revoke_share(share=share, reason="Charging decision made", acting_user=world.police_practitioner)
    assert candidate_agencies(case) == {"police"}
    do_share_case(
        case=case,
        agency=world.agencies["cps"],
        agreement=world.agreement,
        categories=["C1"],
        purpose="New allegation to review",
        acting_user=world.police_practitioner,
        acting_agency=world.agencies["police"],
    )
    policy.forget(world.cps_practitioner)
    assert candidate_agencies(case) == {"police", "cps"}
    assert case in policy.cases_visible_to(world.cps_practitioner)


def test_a_candidate_row_alone_shows_nothing(world):
    # given a case never shared with the advocacy service, with a stray candidate row for it
    case = make_case(world, family="Stray")
    CaseVisibility.objects.create(case=case, agency=world.agencies["isac"], case_created_at=case.created_at)
    # then the advocacy practitioner's list does not hold it: the exact rule still decides
    policy.forget(world.isac_practitioner)
    assert case not in policy.cases_visible_to(world.isac_practitioner)
    assert policy.case_access(world.isac_practitioner, case) is None


def test_a_missing_row_is_reported_and_rebuilt(world):
    # given a shared case whose health row was lost (say, a restore from an older dump)
    case = make_case(world, share_with=("health",), family="Lost")
    CaseVisibility.objects.filter(case=case, agency=world.agencies["health"]).delete()
    policy.forget(world.health_practitioner)
    assert case not in policy.cases_visible_to(world.health_practitioner)
    assert visibility.missing_pairs() == [(case.pk, world.agencies["health"].pk)]
    # the check says so and exits non-zero; the rebuild writes it back
    with pytest.raises(CommandError, match="no candidate row"):
        call_command("rebuild_visibility", "--check")
    call_command("rebuild_visibility")
    assert visibility.missing_pairs() == []
    assert case in policy.cases_visible_to(world.health_practitioner)
    call_command("rebuild_visibility", "--check")


def test_a_member_of_two_agencies_sees_each_case_once(world):
    # given the health practitioner who is also a CPS practitioner, and a case shared with both
    user = world.health_practitioner
    do_add_membership(
        user=user, agency=world.agencies["cps"], role=Role.PRACTITIONER, acting_user=world.cps_admin
    )
    both = make_case(world, share_with=("health", "cps"), family="Both")
    cps_only = make_case(world, share_with=("cps",), family="Cps")
    policy.forget(user)
    # then the list holds each case once, from either agency
    listed = list(policy.cases_visible_to(user).order_by("-created_at", "-id").values_list("pk", flat=True))
    assert len(listed) == len(set(listed))
    assert {both.pk, cps_only.pk, world.case.pk} <= set(listed)
    assert policy.cases_visible_to(user).count() == len(listed)


@pytest.mark.postgres
def test_a_single_agency_page_is_read_from_its_index_in_order(world):
    # given a practitioner of one agency asking for the newest page
    make_case(world, share_with=("probation",), family="Plan")
    user = world.probation_practitioner
    qs = policy.cases_visible_to(user).filter(status="referred").order_by(*policy.LIST_ORDER)[:50]
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        # when sorting is made prohibitively dear, so only a plan that reads rows in order stays cheap
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # then PostgreSQL walks the agency's candidate index newest first, and sorts nothing
    assert "visibility_agency_newest_idx" in plan
    assert "Sort  (" not in plan and "Incremental Sort" not in plan


def test_a_backdated_case_stays_in_its_agencies_lists(world):
    # given a shared case whose created_at is rewritten in bulk (the lifecycle demo backdates cases)
    case = make_case(world, share_with=("health",), family="Backdated")
    then = case.created_at.replace(year=case.created_at.year - 7)
    Case.objects.filter(pk=case.pk).update(created_at=then)
    # then its candidate rows followed it, and both agencies still list it
    assert set(CaseVisibility.objects.filter(case=case).values_list("case_created_at", flat=True)) == {then}
    policy.forget(world.health_practitioner)
    assert case in policy.cases_visible_to(world.health_practitioner)
    assert case in policy.cases_visible_to(world.police_practitioner)


def test_the_database_writes_candidate_rows_whoever_inserts(world):
    # given a case backdated in bulk, and a share written straight into the table (a raw load)
    case = make_case(world, family="Raw")
    then = case.created_at.replace(year=case.created_at.year - 3)
    Case.objects.filter(pk=case.pk).update(created_at=then)
    CaseShare.objects.create(
        case=case,  # the in-memory case still carries its old created_at
        agency=world.agencies["cps"],
        agreement=world.agreement,
        categories=["C1"],
        purpose="Loaded from the old system",
        shared_by=world.police_practitioner,
    )
    # then the share's candidate row exists, carrying the case's stored created_at
    row = CaseVisibility.objects.get(case=case, agency=world.agencies["cps"])
    assert row.case_created_at == then
    assert visibility.missing_pairs() == [] and not visibility.drifted_rows().exists()


def test_a_drifted_row_is_reported_and_put_right(world):
    case = make_case(world, share_with=("health",), family="Drift")
    CaseVisibility.objects.filter(case=case, agency=world.agencies["health"]).update(
        case_created_at=case.created_at.replace(year=2001)
    )
    with pytest.raises(CommandError, match="not their case's"):
        call_command("rebuild_visibility", "--check")
    call_command("rebuild_visibility")
    assert CaseVisibility.objects.get(case=case, agency=world.agencies["health"]).case_created_at == (
        case.created_at
    )
    call_command("rebuild_visibility", "--check")


def test_a_grant_held_by_another_of_my_agencies_does_not_open_a_share(world):
    from guardian.shortcuts import assign_perm, remove_perm

    # given a member of health and CPS, a case shared with health whose health grant is gone, and a
    # stray grant on the CPS group (CPS holds no share of the case)
    user = world.health_practitioner
    do_add_membership(
        user=user, agency=world.agencies["cps"], role=Role.PRACTITIONER, acting_user=world.cps_admin
    )
    case = make_case(world, share_with=("health",), family="Stray grant")
    remove_perm("cases.view_case", world.agencies["health"].group, case)
    assign_perm("cases.view_case", world.agencies["cps"].group, case)
    policy.forget(user)
    # then neither the per-object answer nor the list lets them see it
    assert policy.case_access(user, case) is None
    assert case not in policy.cases_visible_to(user)
