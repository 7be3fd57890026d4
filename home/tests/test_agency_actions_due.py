"""The dashboard lists each owner agency's actions that are overdue or due within a week, for every
practitioner and chair of that agency, scoped by the policy (policy.agency_actions_due)."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases import choices as c
from cases.services import do_add_action
from home.dashboard import dashboard_context
from sharing import policy
from sharing.services import do_revoke_share
from tests.world import make_case


def _action(world, case, agency_key, due_in):
    return do_add_action(
        case=case,
        agency=world.agencies["police"],
        acting_user=world.police_practitioner,
        pillar=c.Pillar.SUPERVISION,
        text="Check the home visit log with the offender manager.",
        owner=world.users[f"{agency_key}_practitioner"],
        action_agency=world.agencies[agency_key],
        due_on=timezone.localdate() + timedelta(days=due_in),
    )


def test_probation_chair_sees_probations_overdue_and_due_soon_actions(world, signed_in):
    # given probation's actions: two days late, due in three days, due in a month; and health's
    late = _action(world, world.case, "probation", -2)
    soon = _action(world, world.case, "probation", 3)
    _action(world, world.case, "probation", 30)
    _action(world, world.case, "health", 1)
    # when the probation chair (not the actions' owner) opens the dashboard
    board = dashboard_context(world.probation_chair)["board"]
    page = signed_in(world.probation_chair).get("/").content.decode()
    # then both of probation's near actions are listed, late first, and nothing else
    assert [row["pk"] for row in board.agency_actions_due] == [late.pk, soon.pk]
    assert "Your agency&#x27;s actions due" in page or "Your agency's actions due" in page
    assert "2 days late" in page and "Due in 3 days" in page
    # and no action text (an encrypted value) is on the dashboard
    assert "home visit log" not in page


def test_an_agency_whose_share_was_revoked_no_longer_sees_its_actions(world):
    _action(world, world.case, "probation", 1)
    share = world.case.shares.get(agency=world.agencies["probation"])
    do_revoke_share(share=share, reason="Probation no longer supervises", acting_user=world.police_chair)
    policy.forget(world.probation_practitioner)
    assert dashboard_context(world.probation_practitioner)["board"].agency_actions_due == []


def test_the_outsider_sees_none(world):
    _action(world, world.case, "police", -1)
    assert dashboard_context(world.outsider_practitioner)["board"].agency_actions_due == []


def test_the_list_costs_the_same_queries_however_many_actions_and_cases(world):
    # given one action on one case
    _action(world, world.case, "probation", 1)
    policy.forget(world.probation_practitioner)
    with CaptureQueriesContext(connection) as one:
        dashboard_context(world.probation_practitioner)
    # when there are more cases shared with probation, each with more due actions
    for family in ("Hale", "Reid", "Cole"):
        case = make_case(world, share_with=("probation",), family=family)
        for due_in in (-3, 0, 2):
            _action(world, case, "probation", due_in)
    policy.forget(world.probation_practitioner)
    with CaptureQueriesContext(connection) as many:
        board = dashboard_context(world.probation_practitioner)["board"]
    # then the dashboard runs the same number of queries
    assert len(board.agency_actions_due) == 8 and board.agency_actions_due_count == 10
    assert len(many) == len(one)
