"""The dashboard, by role: who you are acting as, what needs doing, and pictures of the caseload."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cases import choices as c
from cases.services import do_add_action
from core.categories import Category, Level
from home.dashboard import dashboard_context
from sharing import policy
from tests.world import make_case


def _overdue_action(world, case, owner, agency_key, days_late=3):
    return do_add_action(
        case=case,
        agency=world.agencies["police"],
        acting_user=world.police_practitioner,
        pillar=c.Pillar.SUPERVISION,
        text="Check the home visit log with the offender manager.",
        owner=owner,
        action_agency=world.agencies[agency_key],
        due_on=timezone.localdate() - timedelta(days=days_late),
    )


def test_chair_sees_their_agency_and_role_reviews_and_caseload_chart(world, signed_in):
    # given the police chair, and the world's case (level 2) due for review in two weeks
    client = signed_in(world.police_chair)

    # when they open the dashboard
    response = client.get("/")

    # then it names their agency and role prominently, lists the review and draws the caseload
    assert response.status_code == 200
    page = response.content.decode()
    assert "<title>Dashboard – Convene</title>" in page
    assert 'id="acting-as"' in page and "Northshire Police" in page and "Chair" in page
    assert world.case.reference in page
    assert 'id="chart-caseload"' in page and "Open cases by MAPPA level and risk" in page
    assert 'role="img"' in page
    # and nothing for roles they do not hold
    assert 'id="chain-status"' not in page and "People in your agency" not in page


def test_overdue_actions_show_for_their_owner_and_by_agency(world, signed_in):
    # given an overdue action owned by the health practitioner on the shared case
    _overdue_action(world, world.case, world.health_practitioner, "health", days_late=5)

    # when the health practitioner opens the dashboard
    page = signed_in(world.health_practitioner).get("/").content.decode()

    # then it is among their overdue actions, five days late, and counted for their agency
    assert "Your overdue actions" in page and "5 days" in page and world.case.reference in page
    board = dashboard_context(world.health_practitioner)["board"]
    assert board.my_overdue_count == 1
    assert board.overdue_total == 1
    assert "Northshire Forensic Mental Health Trust" in board.overdue_by_agency_chart
    # and the action's text (an encrypted value) is not on the dashboard
    assert "home visit log" not in page


def test_outsider_sees_no_case_and_no_action(world, signed_in):
    # given an overdue action on a case not shared with Southshire Police
    _overdue_action(world, world.case, world.police_practitioner, "police")

    # when the outsider practitioner opens the dashboard
    board = dashboard_context(world.outsider_practitioner)["board"]
    page = signed_in(world.outsider_practitioner).get("/").content.decode()

    # then nothing of Northshire's shows
    assert board.open_cases == 0 and board.overdue_total == 0 and board.reviews_due == []
    assert world.case.reference not in page
    assert "Southshire Police" in page


def test_overdue_actions_count_only_where_the_plan_category_is_shared(world):
    # given a second case shared with probation for everything but the plan and actions (C5)
    second = make_case(world, family="Rowe")
    from sharing.services import do_share_case

    do_share_case(
        case=second,
        agency=world.agencies["probation"],
        agreement=world.agreement,
        categories=["C1", "C2", "C3"],
        purpose="Offender management",
        acting_user=world.police_practitioner,
        acting_agency=world.agencies["police"],
    )
    _overdue_action(world, second, world.police_practitioner, "police")
    _overdue_action(world, world.case, world.police_practitioner, "police")

    # when probation's practitioner, who sees both cases, looks at overdue actions
    board = dashboard_context(world.probation_practitioner)["board"]

    # then only the action on the case whose C5 is shared with them counts
    assert board.open_cases == 2
    assert board.overdue_total == 1
    # and the police (lead) practitioner counts both
    assert dashboard_context(world.police_practitioner)["board"].overdue_total == 2


@pytest.mark.parametrize(
    "persona",
    [
        "police_practitioner",
        "probation_practitioner",
        "health_practitioner",
        "isac_practitioner",
        "outsider_practitioner",
        "police_auditor",
    ],
)
def test_cases_with_category_agrees_with_case_access(world, persona):
    # given a second case shared with probation without C5, and the world's case shared by the default matrix
    second = make_case(world, family="Rowe")
    from sharing.services import do_share_case

    do_share_case(
        case=second,
        agency=world.agencies["probation"],
        agreement=world.agreement,
        categories=["C1", "C2"],
        purpose="Offender management",
        acting_user=world.police_practitioner,
        acting_agency=world.agencies["police"],
    )
    user = world.users[persona]
    for category in (Category.C5, Category.C7, Category.C8):
        for minimum in (Level.SUMMARY, Level.FULL):
            # when the queryset form is asked
            policy.forget(user)
            got = set(
                policy.cases_with_category_visible_to(user, category, minimum).values_list("pk", flat=True)
            )
            # then it equals the per-case rule
            expected = set()
            for case in (world.case, second):
                policy.forget(user)
                access = policy.case_access(user, case)
                if access is not None and access.level(category) >= minimum:
                    expected.add(case.pk)
            assert got == expected, (persona, category, minimum)


def test_dashboard_queries_do_not_grow_with_cases_and_actions(
    world, signed_in, django_assert_max_num_queries
):
    # given the chair's dashboard with one case and one overdue action
    _overdue_action(world, world.case, world.police_chair, "police")
    client = signed_in(world.police_chair)
    client.get("/")  # warm caches (permission ids, content types)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as first:
        assert client.get("/").status_code == 200
    baseline = len(first.captured_queries)

    # when there are many more cases, shares and overdue actions
    for i in range(6):
        case = make_case(world, share_with=("probation", "health"), level=1 + i % 3, family=f"Grey{i}")
        _overdue_action(world, case, world.police_chair, "police", days_late=i + 1)
        _overdue_action(world, case, world.health_practitioner, "health", days_late=i + 2)

    # then the page takes no more queries than before
    with django_assert_max_num_queries(baseline):
        page = client.get("/").content.decode()
    assert "Grey" not in page  # names are never on the dashboard
    board = dashboard_context(world.police_chair)["board"]
    assert board.open_cases == 7 and board.overdue_total == 13 and board.my_overdue_count == 7


def test_auditor_sees_chain_status_and_activity_but_no_casework(world, signed_in):
    # when the police auditor opens the dashboard
    page = signed_in(world.police_auditor).get("/").content.decode()

    # then the audit panel and the activity chart show, and no case panel
    assert 'id="chain-status"' in page and "Events waiting to be sealed" in page
    assert 'id="chart-audit-activity"' in page
    assert 'href="/audit/"' in page
    assert "Case reviews due" not in page and world.case.reference not in page


def test_auditor_activity_chart_counts_what_the_audit_pages_show_them(world):
    # given an event by a health practitioner about a case the police lead (not by a police person)
    from audit.models import Op
    from audit.services import record_event

    assert world.case.lead_agency_id == world.agencies["police"].pk
    record_event(
        Op.CONSULT,
        actor=world.health_practitioner,
        agency=world.agencies["health"],
        obj=world.case,
        case_id=world.case.pk,
        justification="review",
    )

    # when the police auditor's dashboard is built
    board = dashboard_context(world.police_auditor)["board"]

    # then today's count is the policy's answer for the audit pages, that event included
    today = timezone.localdate()
    start, end = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0), timezone.now()
    visible = policy.audit_events_visible_to(world.police_auditor).filter(occurred_at__range=(start, end))
    assert visible.filter(actor_id=world.health_practitioner.pk).exists()
    assert board.audit_activity.get(today, 0) == visible.count()


def test_break_glass_count_is_the_policy_review_queue(world):
    # given probation breaking glass on a case the police lead
    from sharing.services import do_break_glass

    case = make_case(world, family="Glass")
    do_break_glass(
        case=case,
        user=world.probation_practitioner,
        agency=world.agencies["probation"],
        agreement=world.agreement,
        reason="Risk to victim reported tonight",
    )
    # when the police chair's and the probation chair's dashboards are built
    police = dashboard_context(world.police_chair)["board"]
    probation = dashboard_context(world.probation_chair)["board"]
    # then each count is exactly the policy's queue of uses waiting for that user's review
    assert police.break_glass_to_review == policy.break_glass_review_queue(world.police_chair).count() == 1
    assert probation.break_glass_to_review == 0


def test_agency_admin_sees_people_by_role(world, signed_in):
    # when the police agency admin opens the dashboard: people by role, no case
    page = signed_in(world.police_admin).get("/").content.decode()
    assert "People in your agency" in page and "Manage people" in page
    assert (
        '<th scope="row">Practitioner</th>' in page and '<th scope="row">Data protection officer</th>' in page
    )
    assert world.case.reference not in page


def test_dpo_sees_retention_and_subject_access(world, signed_in):
    # when the police DPO opens the dashboard: the retention queue and SARs
    page = signed_in(world.police_dpo).get("/").content.decode()
    assert "Retention and subject access" in page
    assert "open subject access request" in page
    assert 'href="/lifecycle/"' in page


def test_navigation_follows_roles(world, signed_in):
    # the practitioner sees casework links, not audit; the auditor the reverse
    practitioner = signed_in(world.police_practitioner).get("/").content.decode()
    auditor = signed_in(world.police_auditor).get("/").content.decode()
    assert 'href="/cases/"' in practitioner and 'href="/meetings/"' in practitioner
    assert 'href="/audit/"' not in practitioner.split("</nav>")[0]
    assert 'href="/audit/"' in auditor.split("</nav>")[0] and 'href="/cases/"' not in auditor
    # sign-out is a POST form, and the skip link and landmarks are there
    assert 'action="/signout/"' in practitioner and 'method="post"' in practitioner
    assert 'href="#main-content"' in practitioner and '<main id="main-content"' in practitioner
    assert '<html lang="en-GB">' in practitioner


def test_not_found_page_says_where_you_are_without_leaking(world, signed_in):
    # when a signed-in user asks for a case that does not exist
    response = signed_in(world.health_practitioner).get("/no-such-page/")

    # then a plain, accessible not-found page answers
    assert response.status_code == 404
    page = response.content.decode()
    assert "<title>Page not found – Convene</title>" in page
    assert 'href="#main-content"' in page and '<main id="main-content"' in page
