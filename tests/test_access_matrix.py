"""Persona × surface × data category: every surface serves exactly the categories expected, no more.

Personas: each role in each agency type, an outsider agency, an ended membership, a party to an
expired agreement, and a break-glass user before and after the time limit (sharing/tests/personas.py).
Expected levels come from DEFAULT_MATRIX and the share categories, not from the policy.

Surfaces: the policy functions; the case API detail and list (/api/v1/cases/); the case page
(/cases/<id>/, when the cases app serves it); the sharing endpoints and pages of the case.
"""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from core.categories import ALL_CATEGORIES, Level
from sharing import policy
from sharing.tests.personas import (
    NOTE_BODY,
    PERSONAS,
    VICTIM_ADDRESS,
    VICTIM_NAME,
    add_category_notes,
    build_persona,
)


def case_page_url(case) -> str:
    """The case page's address; a removed or renamed route fails the matrix, it never skips it."""
    return reverse("cases:detail", args=[case.pk])


def expected_listed(levels: dict[str, int]) -> set[str]:
    return {c for c in ALL_CATEGORIES if levels.get(c, 0) >= Level.SUMMARY}


def expected_full(levels: dict[str, int]) -> set[str]:
    return {c for c in ALL_CATEGORIES if levels.get(c, 0) >= Level.FULL}


def denied_statuses(user) -> set[int]:
    """Forbidden looks like not-found; a person with no current membership is refused everything (403)."""
    policy.forget(user)
    return {404} if policy.memberships(user) else {403, 404}


def bodies_in(text: str) -> set[str]:
    return {c for c in ALL_CATEGORIES if NOTE_BODY.format(c) in text}


@pytest.fixture
def matrix_world(world):
    world.extra["note_ids"] = add_category_notes(world)
    return world


@pytest.mark.parametrize("name", PERSONAS)
def test_policy_surface(matrix_world, name):
    world = matrix_world
    # given the persona in its state
    persona = build_persona(world, name)
    user, case = persona.user, world.case
    policy.forget(user)
    # when the policy is asked in each of its forms
    access = policy.case_access(user, case)
    visible = set(policy.cases_visible_to(user).values_list("pk", flat=True))
    audience = policy.user_ids_who_can_view(case)
    # then every form agrees with the expected levels
    if persona.levels is None:
        assert access is None
        assert case.pk not in visible
        assert user.pk not in audience
        return
    assert access is not None
    assert {c: access.level(c) for c in ALL_CATEGORIES if access.level(c)} == persona.levels
    assert case.pk in visible and user.pk in audience
    withheld = policy.withheld_categories(access)
    assert set(withheld) == set(ALL_CATEGORIES) - expected_full(persona.levels)
    for category, reason in withheld.items():
        assert any(ref in reason for ref in access.agreement_refs) or "never" in reason, (category, reason)


@pytest.mark.parametrize("name", PERSONAS)
def test_case_api_detail_and_list(matrix_world, api, name):
    world = matrix_world
    persona = build_persona(world, name)
    client = api(persona.user)
    # when the persona reads the case over the API
    detail = client.get(f"/api/v1/cases/{world.case.pk}/")
    listing = client.get("/api/v1/cases/?page_size=200")
    # then forbidden is 404, and the list matches
    if persona.levels is None:
        assert detail.status_code in denied_statuses(persona.user)
        ids = (
            {row["id"] for row in listing.json().get("results", [])} if listing.status_code == 200 else set()
        )
        assert str(world.case.pk) not in ids
        return
    assert detail.status_code == 200, detail.content
    assert str(world.case.pk) in {row["id"] for row in listing.json()["results"]}
    data = detail.json()
    text = json.dumps(data)
    # each category: listed notes for summary or better, bodies only for full
    note_ids = world.extra["note_ids"]
    listed = {note_ids[n["id"]] for n in data["notes"] if n["id"] in note_ids}
    assert listed == expected_listed(persona.levels)
    assert bodies_in(text) == expected_full(persona.levels)
    # victim identity (C7): name at summary, address only in full
    assert (VICTIM_NAME in text) == (persona.levels.get("C7", 0) >= Level.SUMMARY)
    assert (VICTIM_ADDRESS in text) == (persona.levels.get("C7", 0) >= Level.FULL)
    # withheld categories are named with their reason, no more and no fewer
    assert {w["category"] for w in data["withheld"]} == set(ALL_CATEGORIES) - expected_full(persona.levels)


@pytest.mark.parametrize("name", PERSONAS)
def test_case_page(matrix_world, signed_in, name):
    world = matrix_world
    url = case_page_url(world.case)
    persona = build_persona(world, name)
    client = signed_in(persona.user)
    response = client.get(url)
    if persona.levels is None:
        assert response.status_code in denied_statuses(persona.user)
        return
    assert response.status_code == 200
    html = response.content.decode()
    assert bodies_in(html) == expected_full(persona.levels)
    assert (VICTIM_ADDRESS in html) == (persona.levels.get("C7", 0) >= Level.FULL)
    assert (VICTIM_NAME in html) == (persona.levels.get("C7", 0) >= Level.SUMMARY)
    if name == "break_glass_live":
        assert "Break-glass access — expires at" in html


@pytest.mark.parametrize("name", PERSONAS)
def test_sharing_surfaces_of_the_case(matrix_world, api, signed_in, name):
    world = matrix_world
    persona = build_persona(world, name)
    denied = denied_statuses(persona.user)
    expected = denied if persona.levels is None else {200}
    # the case's share list, over the API and as a page, follows the same access
    assert api(persona.user).get(f"/api/v1/cases/{world.case.pk}/shares/").status_code in expected
    assert signed_in(persona.user).get(f"/sharing/cases/{world.case.pk}/shares/").status_code in expected
    # the disclosure log is the lead agency's only
    lead = persona.levels is not None and name.startswith("police_")
    status = api(persona.user).get(f"/api/v1/cases/{world.case.pk}/disclosures/").status_code
    assert status in ({200} if lead else denied)


@pytest.mark.parametrize("name", PERSONAS)
def test_linking_a_new_case_to_the_cases_perpetrator_record(matrix_world, api, name):
    """Only a persona that sees the perpetrator record in full (C1 and C6 at full, by the expected
    levels) may link a new case to it; everyone else is refused on link_nominal (or may not open a
    case at all), and nothing is written."""
    from datetime import timedelta

    from django.utils import timezone

    from cases.models import Case, Nominal

    world = matrix_world
    persona = build_persona(world, name)
    client = api(persona.user)
    before = (Case.objects.count(), Nominal.objects.count())
    payload = {
        "nominal": {"given_name": "Daniel", "family_name": "Marsh", "date_of_birth": "1986-04-12"},
        "referral": {
            "reason": "Repeated contact",
            "lawful_basis": "DPA 2018 Part 3",
            "index_offence": "Stalking",
            "received_on": str(timezone.localdate() - timedelta(days=1)),
        },
        "forum": "clinic",
        "link_nominal": str(world.case.nominal_id),
    }
    response = client.post("/api/v1/cases/", payload, format="json")
    levels = persona.levels or {}
    if all(levels.get(c, 0) >= Level.FULL for c in ("C1", "C6")):
        assert response.status_code == 201, response.content
        assert Case.objects.get(pk=response.json()["id"]).nominal_id == world.case.nominal_id
        return
    assert response.status_code in {400, 403}, response.content
    if response.status_code == 400:
        assert list(response.json()["errors"]) == ["link_nominal"]
    assert "Quarry Lane" not in response.content.decode()
    assert (Case.objects.count(), Nominal.objects.count()) == before


# --- actions owned by their agency (issue 16 item 2) -------------------------------------------------
# Expected from the issue, not the policy: the lead agency's practitioners and chairs, and those of
# the agency the action is assigned to (probation, with a live share), change it; only the lead
# reassigns it (the action was not agreed at a review, so no review chair does).
ACTION_UPDATERS = {"police_practitioner", "police_chair", "probation_practitioner", "probation_chair"}
ACTION_REASSIGNERS = {"police_practitioner", "police_chair"}


@pytest.mark.parametrize("name", PERSONAS)
def test_actions_owned_by_their_agency(matrix_world, api, signed_in, name):
    from django.utils import timezone

    from cases.models import Action
    from cases.services import do_add_action

    world = matrix_world
    # given an action on the case assigned to probation's practitioner
    action = do_add_action(
        case=world.case,
        agency=world.agencies["police"],
        acting_user=world.police_practitioner,
        pillar="supervision",
        text="Confirm the licence conditions",
        owner=world.probation_practitioner,
        action_agency=world.agencies["probation"],
        due_on=timezone.localdate(),
    )
    persona = build_persona(world, name)
    denied = denied_statuses(persona.user)
    client, page = api(persona.user), signed_in(persona.user)
    may_update = persona.levels is not None and name in ACTION_UPDATERS
    may_reassign = persona.levels is not None and name in ACTION_REASSIGNERS
    base = f"/api/v1/cases/{world.case.pk}/actions/{action.pk}/"
    pages = f"/cases/{world.case.pk}/actions/{action.pk}/"

    def version() -> int:
        return Action.objects.get(pk=action.pk).version

    # when the persona opens, updates, progresses and reassigns it, on the pages and the API
    status_page = page.get(f"{pages}status/").status_code
    update = client.post(f"{base}updates/", {"text": "Visit booked"}, format="json").status_code
    change = client.patch(base, {"version": version(), "status": "in_progress"}, format="json").status_code
    reassign = client.post(
        f"{base}reassign/",
        {"version": version(), "owner": world.cps_practitioner.pk, "agency": world.agencies["cps"].pk},
        format="json",
    ).status_code
    reassign_page = page.get(f"{pages}reassign/").status_code
    # then each answer follows the expectation, and forbidden looks like not-found
    assert status_page in ({200} if may_update else denied)
    assert update in ({201} if may_update else denied)
    assert change in ({200} if may_update else denied)
    assert reassign in ({200} if may_reassign else denied)
    assert reassign_page in ({200} if may_reassign else denied)
    # and a persona refused everything wrote nothing
    if not (may_update or may_reassign):
        action.refresh_from_db()
        assert (action.version, action.status, action.agency_id) == (
            1,
            "open",
            world.agencies["probation"].pk,
        )
        assert not action.updates.exists()
