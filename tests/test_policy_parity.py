"""The policy's three forms agree, and every surface serves the same categories to the same persona.

- per persona: cases_visible_to(u) == {c for c in all cases if can_view_case(u, c)}
- per case: user_ids_who_can_view(case) == {u for u in all users if can_view_case(u, case)}
- per persona, every other restricted queryset with a per-object answer: the cases shared with my
  agency, the cases showing a category (at summary and in full), the nominals I may link, the
  agreements, the break-glass review queue and the meetings
- API detail, the case page (when served) and the export form (cases.reading.read_case) expose the
  same categories
- revoking a share, ending a membership, suspending or expiring an agreement removes access on the
  very next request
- the case list is a constant number of queries whatever the page size, and its permission filter
  is one SQL query
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from agencies.models import Membership, User
from agencies.services import do_end_membership
from cases.models import Case, Nominal
from core.categories import ALL_CATEGORIES, Level
from lifecycle.models import LegalHold
from meetings.models import Meeting
from meetings.tests.helpers import schedule
from sharing import policy
from sharing.models import BreakGlass, CaseShare, SharingAgreement
from sharing.services import do_break_glass, do_change_agreement_status, do_revoke_share
from sharing.tests.helpers import draft_agreement
from sharing.tests.personas import NOTE_BODY, PERSONAS, add_category_notes, build_persona
from tests.world import make_case


def all_users():
    users = list(User.objects.all())
    for user in users:
        policy.forget(user)
    return users


def served_bodies(text: str) -> set[str]:
    return {c for c in ALL_CATEGORIES if NOTE_BODY.format(c) in text}


@pytest.fixture
def parity_world(world):
    # a second case shared only with health, one shared with nobody, and an erased one
    world.extra["health_only"] = make_case(world, share_with=("health",), family="Health")
    world.extra["unshared"] = make_case(world, family="Alone")
    erased = make_case(world, share_with=("isac",), family="Erased")
    Case.objects.filter(pk=erased.pk).update(erased_at=timezone.now())
    world.extra["note_ids"] = add_category_notes(world)
    return world


@pytest.mark.parametrize("name", PERSONAS)
def test_queryset_and_per_object_forms_agree(parity_world, name):
    world = parity_world
    persona = build_persona(world, name)
    cases = list(Case.objects.all())
    users = all_users()
    user = next(u for u in users if u.pk == persona.user.pk)
    # then the queryset equals the per-object rule over every case
    assert set(policy.cases_visible_to(user)) == {c for c in cases if policy.can_view_case(user, c)}
    # and every case's audience equals the per-object rule over every user
    for case in cases:
        assert policy.user_ids_who_can_view(case) == {u.pk for u in users if policy.can_view_case(u, case)}, (
            case
        )


@pytest.mark.parametrize("name", PERSONAS)
def test_linkable_nominals_queryset_and_per_object_forms_agree(parity_world, name):
    """nominals_linkable_by(u) == {n for n in all nominals if can_link_nominal(u, n)}."""
    world = parity_world
    persona = build_persona(world, name)
    user = persona.user
    policy.forget(user)
    nominals = list(Nominal.objects.all())
    assert set(policy.nominals_linkable_by(user)) == {n for n in nominals if policy.can_link_nominal(user, n)}


@pytest.fixture
def restricted_world(parity_world):
    """The parity world, plus a break-glass use waiting for review, an agreement drafted by another
    agency (health, with the CPS) and a meeting some agencies' people attend."""
    world = parity_world
    do_break_glass(
        case=world.extra["unshared"],
        user=world.isac_practitioner,
        agency=world.agencies["isac"],
        agreement=world.agreement,
        reason="Victim at immediate risk tonight",
    )
    draft_agreement(
        world,
        "ISA-HEALTH-CPS-01",
        keys=("health", "cps"),
        drafted_by=world.agencies["health"],
        acting_user=world.health_admin,
    )
    schedule(world)
    return world


@pytest.mark.parametrize("name", PERSONAS)
def test_every_restricted_queryset_agrees_with_its_per_object_answer(restricted_world, name):
    world = restricted_world
    persona = build_persona(world, name)
    user = persona.user
    policy.forget(user)
    cases = list(Case.objects.all())

    def access(case):
        return policy.case_access(user, case)

    # the cases shared with my agency: those I see, but not as their lead agency
    assert set(policy.shared_with_my_agency(user)) == {
        c for c in cases if access(c) is not None and not access(c).is_lead
    }
    # the cases showing a category: those my access gives at least that level of it
    for category in ALL_CATEGORIES:
        for minimum in (Level.SUMMARY, Level.FULL):
            expected = {c for c in cases if access(c) is not None and access(c).level(category) >= minimum}
            got = set(policy.cases_with_category_visible_to(user, category, minimum))
            assert got == expected, (category, minimum)
    # the agreements
    agreements = list(SharingAgreement.objects.all())
    assert set(policy.agreements_visible_to(user)) == {
        a for a in agreements if policy.can_view_agreement(user, a)
    }
    # the break-glass uses waiting for this user's review
    glasses = list(BreakGlass.objects.select_related("case"))
    assert set(policy.break_glass_review_queue(user)) == {
        g for g in glasses if policy.can_review_break_glass(user, g)
    }
    # the meetings
    meetings = list(Meeting.objects.all())
    assert set(policy.meetings_visible_to(user)) == {m for m in meetings if policy.can_view_meeting(user, m)}


def case_page_url(case) -> str:
    """The case page's address; a removed or renamed route fails the parity test, it never skips it."""
    return reverse("cases:detail", args=[case.pk])


@pytest.mark.parametrize(
    "name",
    [p for p in PERSONAS if p.endswith(("_practitioner", "_chair")) and not p.startswith("outsider")]
    + ["break_glass_live"],
)
def test_api_page_and_export_expose_the_same_categories(parity_world, api, signed_in, name):
    from cases import reading

    world = parity_world
    persona = build_persona(world, name)
    user = persona.user
    # the export form: the shared reading function
    policy.forget(user)
    access = policy.case_access(user, world.case)
    assert access is not None
    exported = reading.read_case(user, access, world.case, audit=False)
    export_text = json.dumps(exported, default=str)
    # the API
    api_data = api(user).get(f"/api/v1/cases/{world.case.pk}/").json()
    api_text = json.dumps(api_data)
    # then both serve the same categories and the same withheld list
    assert served_bodies(api_text) == served_bodies(export_text)
    assert [w["category"] for w in api_data["withheld"]] == [w["category"] for w in exported["withheld"]]
    # and the page shows the same
    html = signed_in(user).get(case_page_url(world.case)).content.decode()
    assert served_bodies(html) == served_bodies(api_text)


# --- access ends on the very next request -------------------------------------------------------
def test_revoking_a_share_removes_access_on_the_next_request(world, api):
    client = api(world.cps_practitioner)
    url = f"/api/v1/cases/{world.case.pk}/"
    assert client.get(url).status_code == 200
    share = CaseShare.objects.get(case=world.case, agency=world.agencies["cps"])
    do_revoke_share(share=share, reason="No longer needed", acting_user=world.police_practitioner)
    assert client.get(url).status_code == 404
    assert client.get(f"/api/v1/cases/{world.case.pk}/shares/").status_code == 404


def test_ending_a_membership_removes_access_on_the_next_request(world, api):
    client = api(world.health_practitioner)
    url = f"/api/v1/cases/{world.case.pk}/"
    assert client.get(url).status_code == 200
    do_end_membership(membership=world.memberships["health_practitioner"], acting_user=world.health_admin)
    # no other membership: refused outright (403); never the case
    assert client.get(url).status_code in (403, 404)
    assert world.health_practitioner.pk not in policy.user_ids_who_can_view(world.case)


@pytest.mark.parametrize("status", ["suspended", "terminated"])
def test_suspending_or_terminating_the_agreement_removes_access_on_the_next_request(world, api, status):
    client = api(world.isac_practitioner)
    url = f"/api/v1/cases/{world.case.pk}/"
    assert client.get(url).status_code == 200
    do_change_agreement_status(
        agreement=world.agreement, status=status, acting_user=world.police_admin, reason="x"
    )
    assert client.get(url).status_code == 404
    # the lead agency keeps its own case
    assert api(world.police_practitioner).get(url).status_code == 200


def test_expiring_the_agreement_removes_access_on_the_next_request(world, api):
    client = api(world.probation_practitioner)
    url = f"/api/v1/cases/{world.case.pk}/"
    assert client.get(url).status_code == 200
    # given the end date passed yesterday: access stops even before the daily job runs
    SharingAgreement.objects.filter(pk=world.agreement.pk).update(
        ends_on=timezone.localdate() - timedelta(days=1)
    )
    assert client.get(url).status_code == 404
    call_command("expire_agreements")
    assert SharingAgreement.objects.get(pk=world.agreement.pk).status == "expired"
    assert client.get(url).status_code == 404


# --- query counts ---------------------------------------------------------------------------------
def test_permission_filter_is_a_single_query(world):
    user = world.isac_practitioner
    make_case(world, share_with=("isac",), family="Second")
    policy.forget(user)
    policy.memberships(user)  # cached for the request, as in a view
    with CaptureQueriesContext(connection) as ctx:
        cases = list(policy.cases_visible_to(user)[:50])
    assert len(ctx.captured_queries) == 1
    assert len(cases) == 2


def _list_queries(client, size: int) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"/api/v1/cases/?page_size={size}")
    assert response.status_code == 200
    assert len(response.json()["results"]) == size
    return len(ctx.captured_queries)


def test_case_list_is_constant_queries_whatever_the_page_size(world, api):
    for i in range(7):
        make_case(world, share_with=("probation",), family=f"List{i}")
    client = api(world.probation_practitioner)
    client.get("/api/v1/cases/?page_size=1")  # warm caches (permission ids, keys)
    # when the list is read with 2 and with 8 rows
    small = _list_queries(client, 2)
    large = _list_queries(client, 8)
    # then the number of queries is the same
    assert small == large


# --- the restricted querysets added with issue 15 (h5): each agrees with its per-instance rule ---
@pytest.mark.parametrize("name", PERSONAS)
def test_issue15_querysets_and_per_object_forms_agree(parity_world, name):
    from lifecycle.services import do_set_legal_hold
    from sharing.models import BreakGlass

    world = parity_world
    persona = build_persona(world, name)
    do_set_legal_hold(
        case=world.case, reason="Trial listed", acting_user=world.cps_dpo, agency=world.agencies["cps"]
    )
    user = next(u for u in all_users() if u.pk == persona.user.pk)
    cases = list(Case.objects.select_related("lead_agency"))
    # action owners: the queryset of memberships equals the per-membership rule
    active = list(Membership.objects.active().select_related("user"))
    for case in cases:
        owners = {(m.user_id, m.agency_id) for m in policy.action_owners(case)}
        assert owners == {
            (m.user_id, m.agency_id) for m in active if policy.can_own_action(m.user, m.agency_id, case)
        }, case
    # legal holds: a placing agency exactly when the user may set a hold, and one they manage
    for case in cases:
        placing = policy.legal_hold_placing_agency_id(user, case)
        assert (placing is not None) == policy.can_set_legal_hold(user, case), case
        assert placing is None or placing in policy.lifecycle_agency_ids(user)
    holds = list(LegalHold.objects.select_related("case"))
    assert set(policy.legal_holds_visible_to(user)) >= {
        h for h in holds if policy.can_lift_legal_hold(user, h)
    }
    # shares: access_share lets in exactly the shares the per-case queryset shows
    for share in CaseShare.objects.select_related("case"):
        visible = policy.can_view_case(user, share.case) and (
            policy.shares_visible_to(user, share.case).filter(pk=share.pk).exists()
        )
        try:
            policy.access_share(user, share.pk)
        except Http404:
            assert not visible, share
        else:
            assert visible, share
    # live shares and the disclosure log of each case, by their per-case rules
    live = set(CaseShare.objects.live().values_list("pk", flat=True))
    for case in cases:
        assert set(policy.live_shares_visible_to(user, case)) == {
            s for s in policy.shares_visible_to(user, case) if s.pk in live
        }, case
        assert policy.disclosures_visible_to(user, case).exists() is False or policy.can_view_disclosures(
            user, case
        ), case
    # break-glass: the pending queue less the user's own is exactly what they may review
    glasses = list(BreakGlass.objects.select_related("case"))
    pending = set(policy.break_glass_queue(user, "pending"))
    assert {g for g in pending if g.user_id != user.pk} == {
        g for g in glasses if policy.can_review_break_glass(user, g)
    }
    reviewed = set(policy.break_glass_queue(user, "reviewed"))
    assert set(policy.break_glass_queue(user, "all")) == pending | reviewed
    assert pending <= {g for g in glasses if policy.can_view_break_glass(user, g)}
    # lifecycle lists: certificates and subject access requests by the per-agency rules
    from lifecycle.models import ErasureCertificate, SubjectAccessRequest

    assert set(policy.erasure_certificates_visible_to(user)) == {
        c for c in ErasureCertificate.objects.all() if policy.can_manage_retention(user, c.agency_id)
    }
    assert set(policy.subject_access_requests_visible_to(user)) == {
        s for s in SubjectAccessRequest.objects.all() if policy.can_handle_sar(user, s.agency_id)
    }
