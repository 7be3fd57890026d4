"""The case API with named personas: visibility, field filtering, edits, conflicts and query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent, Op
from cases import choices as c
from cases.models import Case
from tests.world import make_case

URL = "/api/v1/cases/"


def _referral():
    return {
        "reason": "Repeated contact after the end of the relationship.",
        "lawful_basis": "DPA 2018 Part 3, Sch 8 para 1",
        "index_offence": "Stalking (PHA 1997 s2A)",
        "received_on": str(timezone.localdate() - timedelta(days=1)),
    }


def test_lead_sees_everything_and_one_consult_event_is_recorded(world, api):
    # given the police practitioner leads the case
    client = api(world.police_practitioner)
    before = AuditEvent.objects.filter(op=Op.CONSULT, case_id=world.case.pk).count()
    # when they read it
    response = client.get(f"{URL}{world.case.pk}/")
    # then they see the victim's address and nothing is withheld
    assert response.status_code == 200
    body = response.json()
    assert body["victims"][0]["address"] == "3 Willow Court, Northtown NT1 5AB"
    assert body["withheld"] == []
    events = AuditEvent.objects.filter(op=Op.CONSULT, case_id=world.case.pk)
    assert events.count() == before + 1
    event = events.latest("occurred_at")
    assert event.justification == "lead agency" and "C7" in event.categories


def test_health_partner_gets_visible_fields_only_and_withheld_panels(world, api):
    # given health is a partner without victim location (C7) under the agreement
    response = api(world.health_practitioner).get(f"{URL}{world.case.pk}/")
    assert response.status_code == 200
    body = response.json()
    # then no victim address is served and C7 is named as withheld with the agreement
    assert all("address" not in v for v in body["victims"])
    withheld = {w["category"]: w for w in body["withheld"]}
    assert withheld["C7"]["level"] == "none" and withheld["C7"]["reason"]
    agreement = world.agreement
    assert str(agreement.pk) in withheld["C2"]["reason"] or agreement.reference in withheld["C2"]["reason"]
    event = AuditEvent.objects.filter(op=Op.CONSULT, case_id=world.case.pk).latest("occurred_at")
    assert "C7" not in event.categories
    assert event.agreement_id == world.agreement.pk and event.share_id is not None


def test_outsider_gets_404_and_partner_gets_403_on_edit(world, api):
    assert api(world.outsider_practitioner).get(f"{URL}{world.case.pk}/").status_code == 404
    response = api(world.probation_practitioner).patch(
        f"{URL}{world.case.pk}/", {"version": world.case.version, "mappa_level": 3}, format="json"
    )
    assert response.status_code == 403


def test_partner_adds_a_note_in_their_own_agency_name(world, api):
    response = api(world.isac_practitioner).post(
        f"{URL}{world.case.pk}/notes/",
        {"body": "Victim reports new phone number.", "category": "C8"},
        format="json",
    )
    assert response.status_code == 201
    note = world.case.notes.get()
    assert note.owner_agency == world.agencies["isac"]


def test_stale_version_is_409_and_field_errors_are_named(world, api):
    client = api(world.police_practitioner)
    url = f"{URL}{world.case.pk}/"
    version = world.case.version
    assert client.patch(url, {"version": version, "mappa_level": 3}, format="json").status_code == 200
    stale = client.patch(url, {"version": version, "mappa_level": 1}, format="json")
    assert stale.status_code == 409 and stale.json()["current_version"] == version + 1
    bad = client.patch(url, {"version": version + 1, "mappa_level": 5}, format="json")
    assert bad.status_code == 400 and "mappa_level" in bad.json()["errors"]
    illegal = client.post(f"{url}status/", {"version": version + 1, "status": "active"}, format="json")
    assert illegal.status_code == 400 and "status" in illegal.json()["errors"]


def test_create_case_runs_the_duplicate_check_and_links(world, api):
    client = api(world.police_practitioner)
    payload = {
        "nominal": {"given_name": "Daniel", "family_name": "Marsh", "date_of_birth": "1986-04-12"},
        "referral": _referral(),
        "forum": "clinic",
    }
    # when a referral names someone already known by name and date of birth
    response = client.post(URL, payload, format="json")
    # then the API answers 409 with the existing nominal and what matched
    assert response.status_code == 409
    candidate = response.json()["candidates"][0]
    assert candidate["nominal_id"] == str(world.case.nominal_id)
    assert candidate["matched_on"] == ["name and date of birth"]
    assert candidate["your_cases"] == [world.case.reference]
    # and the user may link to it
    linked = client.post(URL, {**payload, "link_nominal": candidate["nominal_id"]}, format="json")
    assert linked.status_code == 201
    assert Case.objects.get(pk=linked.json()["id"]).nominal_id == world.case.nominal_id
    bad = client.post(
        URL, {**payload, "nominal": {**payload["nominal"], "nhs_number": "9434765918"}}, format="json"
    )
    assert bad.status_code == 400 and "nhs_number" in bad.json()["errors"]


def test_plan_conflict_over_the_api(world, api):
    url = f"{URL}{world.case.pk}/plan/"
    items = {"supervision": [{"text": "Weekly reporting"}]}
    practitioner, chair = api(world.police_practitioner), api(world.police_chair)
    assert practitioner.post(url, {"base_number": 0, "items": items}, format="json").status_code == 201
    assert chair.post(url, {"base_number": 1, "items": items}, format="json").status_code == 201
    lost = practitioner.post(url, {"base_number": 1, "items": items}, format="json")
    assert lost.status_code == 409 and "police_chair" in lost.json()["detail"]
    assert practitioner.get(url).json()["plan"]["number"] == 2


def test_sub_resources_round_trip(world, api):
    client = api(world.police_practitioner)
    base = f"{URL}{world.case.pk}/"
    today = timezone.localdate()
    answers = {key: False for key, _ in c.SDASH_QUESTIONS} | {"q6_threats": True}
    r = client.post(
        f"{base}assessments/", {"tool": "sdash", "level": "medium", "answers": answers}, format="json"
    )
    assert r.status_code == 201 and r.json()["yes_count"] == 1
    r = client.post(
        f"{base}orders/",
        {
            "order_type": "spo",
            "legal_basis": "SPA 2019",
            "served_on": str(today),
            "starts_on": str(today),
            "until_further_order": True,
        },
        format="json",
    )
    assert r.status_code == 201
    order_id = r.json()["id"]
    assert r.json()["notification_due_on"] == str(today + timedelta(days=3))
    bad = client.post(
        f"{base}orders/",
        {
            "order_type": "restraining",
            "legal_basis": "PHA s5",
            "starts_on": str(today),
            "ends_on": str(today - timedelta(days=1)),
        },
        format="json",
    )
    assert bad.status_code == 400 and "ends_on" in bad.json()["errors"]
    assert (
        client.post(
            f"{base}orders/{order_id}/conditions/",
            {"kind": "prohibition", "text": "No contact"},
            format="json",
        ).status_code
        == 201
    )
    assert (
        client.post(
            f"{base}orders/{order_id}/breaches/",
            {"occurred_on": str(today), "reported_by": "Victim", "description": "Texts"},
            format="json",
        ).status_code
        == 201
    )
    orders = client.get(f"{base}orders/").json()["orders"]
    assert (
        orders[0]["conditions"][0]["text"] == "No contact"
        and orders[0]["breaches"][0]["description"] == "Texts"
    )
    r = client.post(
        f"{base}actions/",
        {
            "pillar": "supervision",
            "text": "Home visit",
            "owner": world.police_practitioner.pk,
            "agency": world.agencies["police"].pk,
            "due_on": str(today),
        },
        format="json",
    )
    assert r.status_code == 201
    action_id = r.json()["id"]
    assert (
        client.post(f"{base}actions/{action_id}/updates/", {"text": "Booked"}, format="json").status_code
        == 201
    )
    assert (
        client.patch(
            f"{base}actions/{action_id}/", {"version": 1, "status": "done"}, format="json"
        ).status_code
        == 200
    )


def test_fields_filter_on_detail(world, api):
    body = api(world.police_practitioner).get(f"{URL}{world.case.pk}/?fields=reference,victims").json()
    assert set(body) == {"id", "version", "withheld", "reference", "victims"}


def test_list_filters_and_labels(world, api):
    other = make_case(world, family="Hale", level=3)
    client = api(world.police_practitioner)
    rows = client.get(URL, {"mappa_level": 3}).json()["results"]
    assert [r["id"] for r in rows] == [str(other.pk)]
    assert rows[0]["led_by_my_agency"] is True
    shared = api(world.probation_practitioner).get(URL).json()["results"]
    assert [r["id"] for r in shared] == [str(world.case.pk)] and shared[0]["led_by_my_agency"] is False
    assert client.get(URL, {"review_due": "nonsense"}).status_code == 400


@pytest.mark.parametrize("size", [5, 50])
def test_list_query_count_is_constant(world, api, django_assert_num_queries, size):
    # given many cases led by police
    for i in range(size):
        make_case(world, family=f"Case{i}")
    client = api(world.police_practitioner)
    client.get(URL, {"page_size": 1})  # warm session / permission caches
    # then listing 5 or 50 costs the same number of queries
    with django_assert_num_queries(EXPECTED_LIST_QUERIES):
        response = client.get(URL, {"page_size": size})
    assert len(response.json()["results"]) == size


EXPECTED_LIST_QUERIES = 10  # session, user, memberships, visible cases, audit write…


def test_list_decrypts_nothing(world, api, monkeypatch):
    # given decryption is made to fail loudly
    from keystore.fields import EncryptedField

    def refuse(self, instance, token):
        raise AssertionError(f"the list decrypted {instance._meta.label}.{self.attname}")

    client = api(world.police_practitioner)
    monkeypatch.setattr(EncryptedField, "decrypt", refuse)
    # when the list is fetched, then no encrypted field is touched
    response = client.get(URL)
    assert response.status_code == 200 and response.json()["results"]


@pytest.mark.parametrize("second_agency", [False, True], ids=["one agency", "two agencies"])
def test_the_list_pages_through_every_visible_case_once_newest_first(world, api, second_agency):
    from agencies.models import Role
    from agencies.services import do_add_membership
    from sharing import policy

    # given seven more cases shared with health (and, for some, with CPS)
    user = world.health_practitioner
    for n in range(7):
        make_case(world, share_with=("health", "cps") if n % 2 else ("health",), family=f"Page{n}")
    make_case(world, share_with=("cps",), family="CpsOnly")
    if second_agency:  # a member of two agencies gets the semi-join form of the list
        do_add_membership(
            user=user, agency=world.agencies["cps"], role=Role.PRACTITIONER, acting_user=world.cps_admin
        )
    policy.forget(user)
    expected = [
        str(pk)
        for pk in sorted(
            (c.pk for c in Case.objects.all() if policy.can_view_case(user, c)),
            key=lambda pk: (Case.objects.get(pk=pk).created_at, str(pk)),
            reverse=True,
        )
    ]
    # when they page through the list three at a time
    client = api(user)
    seen, url = [], f"{URL}?page_size=3"
    while url:
        response = client.get(url)
        assert response.status_code == 200
        body = response.json()
        assert len(body["results"]) <= 3
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    # then every visible case came exactly once, newest first, and nothing else did
    assert seen == expected
    assert len(expected) == (9 if second_agency else 8)
