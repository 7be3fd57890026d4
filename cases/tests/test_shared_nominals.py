"""The duplicate check, links to an existing perpetrator record, match notices and shared nominals
(issue 14): a match the user may not see reveals nothing; a link needs a record the user sees in
full; the holder is told instead; a shared record is kept by the original case's lead."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditEvent, Op
from cases.models import Case, Nominal
from keystore import keyring
from keystore.crypto import KeyDestroyedError
from lifecycle.services import do_erase_case
from sharing import policy
from sharing.models import MatchNotice, MatchNoticeStatus
from tests.world import make_case

URL = "/api/v1/cases/"
MARSH = {"given_name": "Daniel", "family_name": "Marsh", "date_of_birth": "1986-04-12"}


def _referral() -> dict[str, str]:
    return {
        "reason": "Repeated contact after the end of the relationship.",
        "lawful_basis": "DPA 2018 Part 3, Sch 8 para 1",
        "index_offence": "Stalking (PHA 1997 s2A)",
        "received_on": str(timezone.localdate() - timedelta(days=1)),
    }


def _payload(nominal: dict[str, str] = MARSH, **extra: Any) -> dict[str, Any]:
    return {"nominal": dict(nominal), "referral": _referral(), "forum": "clinic", **extra}


def _form(nominal: dict[str, str] = MARSH, **extra: str) -> dict[str, str]:
    return {
        **nominal,
        "forum": "clinic",
        "reason": "Unwanted contact",
        "lawful_basis": "DPA 2018",
        "index_offence": "Stalking",
        "received_on": str(timezone.localdate() - timedelta(days=1)),
        "urgency": "routine",
        **extra,
    }


def _counts() -> tuple[int, int, int, int]:
    return (
        Case.objects.count(),
        Nominal.objects.count(),
        MatchNotice.objects.count(),
        AuditEvent.objects.count(),
    )


# --- what an outsider learns from the duplicate check -------------------------------------------
def test_outsider_referral_of_a_known_person_reveals_no_id_or_reference_over_the_api(world, api):
    # given Southshire Police, party to no agreement with Northshire, refers Daniel Marsh
    nominal, case = world.case.nominal, world.case
    response = api(world.outsider_practitioner).post(URL, _payload(), format="json")
    # then the answer is the same as for an unknown person: a new case on a new record
    assert response.status_code == 201, response.content
    body = response.content.decode()
    assert str(nominal.pk) not in body and case.reference not in body and "candidates" not in body
    created = Case.objects.get(pk=response.json()["id"])
    assert created.nominal_id != nominal.pk and created.lead_agency == world.agencies["outsider"]
    # and Northshire is not told (no agreement): no notice
    assert not MatchNotice.objects.exists()


def test_outsider_referral_of_a_known_person_reveals_nothing_on_the_page(world, signed_in):
    client = signed_in(world.outsider_practitioner)
    response = client.post("/cases/new/", _form())
    # then the case is opened (no "may already be known", no candidate list)
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    assert str(world.case.nominal_id) not in html and world.case.reference not in html
    assert "held by another agency" not in html and "may already be known" not in html


def test_outsider_link_to_a_foreign_nominal_answers_like_an_unknown_id_and_writes_nothing(world, api):
    client = api(world.outsider_practitioner)
    before = _counts()
    # when the outsider posts Northshire's nominal id, and then an id that exists nowhere
    foreign = client.post(URL, _payload(link_nominal=str(world.case.nominal_id)), format="json")
    unknown = client.post(URL, _payload(link_nominal=str(uuid.uuid4())), format="json")
    # then both are the same 400 naming link_nominal, and nothing was written
    assert foreign.status_code == unknown.status_code == 400
    assert foreign.json() == unknown.json()
    assert list(foreign.json()["errors"]) == ["link_nominal"]
    assert _counts() == before
    assert not Case.objects.filter(lead_agency=world.agencies["outsider"]).exists()


def test_outsider_link_on_the_page_is_refused_naming_the_field(world, signed_in):
    client = signed_in(world.outsider_practitioner)
    before = _counts()
    foreign = client.post("/cases/new/", _form(link_nominal=str(world.case.nominal_id)))
    unknown = client.post("/cases/new/", _form(link_nominal=str(uuid.uuid4())))
    assert foreign.status_code == unknown.status_code == 400
    message = "Link the referral only to a record the duplicate check offered you"
    assert message in foreign.content.decode() and message in unknown.content.decode()
    assert str(world.case.nominal_id) not in unknown.content.decode()
    assert _counts() == before


def test_isac_seeing_the_nominal_in_summary_cannot_link_to_get_its_identifiers(world, api, signed_in):
    # given ISAC sees the case, and the perpetrator's names, in summary only
    client, browser = api(world.isac_practitioner), signed_in(world.isac_practitioner)
    before = _counts()
    # when they try to link a new case of their own to it, over the API and on the page
    response = client.post(URL, _payload(link_nominal=str(world.case.nominal_id)), format="json")
    page = browser.post("/cases/new/", _form(link_nominal=str(world.case.nominal_id)))
    # then both are refused on link_nominal and nothing is written
    assert response.status_code == 400 and list(response.json()["errors"]) == ["link_nominal"]
    assert page.status_code == 400
    assert "Quarry Lane" not in response.content.decode() + page.content.decode()
    assert _counts() == before
    # and the policy says so in both its forms
    access = policy.case_access(world.isac_practitioner, world.case)
    assert access is not None and not policy.sees_nominal_in_full(access, world.case.nominal)
    assert not policy.can_link_nominal(world.isac_practitioner, world.case.nominal)
    assert not policy.nominals_linkable_by(world.isac_practitioner).exists()


def test_a_lead_who_sees_the_record_in_full_is_still_offered_it_and_may_link(world, api):
    client = api(world.police_chair)
    response = client.post(URL, _payload(), format="json")
    assert response.status_code == 409
    (candidate,) = response.json()["candidates"]
    assert candidate["nominal_id"] == str(world.case.nominal_id)
    linked = client.post(URL, _payload(link_nominal=candidate["nominal_id"]), format="json")
    assert linked.status_code == 201
    # a record offered for one person cannot be linked to a referral of someone else
    other = client.post(
        URL,
        _payload({"given_name": "Someone", "family_name": "Else"}, link_nominal=candidate["nominal_id"]),
        format="json",
    )
    assert other.status_code == 400 and list(other.json()["errors"]) == ["link_nominal"]


# --- match notices for the holder ---------------------------------------------------------------
def _hidden_case(world: Any) -> Case:
    """A police case not shared with anyone: probation and CPS may not see it."""
    return make_case(world, share_with=(), family="Ashdown")


ASHDOWN = {"given_name": "Daniel", "family_name": "Ashdown", "date_of_birth": "1986-04-12"}


def test_a_partners_referral_tells_the_holders_chairs_audited_as_a_disclosure(world, api):
    hidden = _hidden_case(world)
    # when probation (party to the Northshire agreement) refers the same person
    response = api(world.probation_practitioner).post(URL, _payload(ASHDOWN), format="json")
    # then probation is told nothing of the match: a new case on a new record
    assert response.status_code == 201
    body = response.content.decode()
    assert hidden.reference not in body and str(hidden.nominal_id) not in body
    referral_case = Case.objects.get(pk=response.json()["id"])
    # and the police are told: one notice naming probation and the police case, no identity value
    notice = MatchNotice.objects.get()
    assert (notice.case, notice.holder_agency, notice.referring_agency) == (
        hidden,
        world.agencies["police"],
        world.agencies["probation"],
    )
    assert notice.referral_case == referral_case and notice.matched_on == ["name and date of birth"]
    assert notice.status == MatchNoticeStatus.OPEN
    # audited as a disclosure of the fact of a referral, against the police case
    event = AuditEvent.objects.get(op=Op.DISCLOSE, object_id=str(notice.pk))
    assert event.case_id == hidden.pk and event.actor_agency_id == world.agencies["probation"].pk
    assert event.recipients == [f"agency:{world.agencies['police'].pk}"]
    assert event.agreement_id == world.agreement.pk
    assert "Ashdown" not in str(event.detail) + event.justification
    assert policy.audit_events_visible_to(world.police_auditor).filter(pk=event.pk).exists()
    # the police chairs see it; probation and the police practitioner do not
    assert list(policy.match_notices_visible_to(world.police_chair)) == [notice]
    assert not policy.match_notices_visible_to(world.probation_chair).exists()
    assert not policy.match_notices_visible_to(world.police_practitioner).exists()


def test_no_notice_for_an_agency_party_to_no_agreement(world, api):
    _hidden_case(world)
    assert api(world.outsider_practitioner).post(URL, _payload(ASHDOWN), format="json").status_code == 201
    assert not MatchNotice.objects.exists()
    assert not AuditEvent.objects.filter(op=Op.DISCLOSE, object_type="sharing.MatchNotice").exists()


def test_holder_chair_shares_through_the_notice_and_the_referrer_sees_only_what_was_shared(
    world, api, signed_in
):
    hidden = _hidden_case(world)
    assert api(world.probation_practitioner).post(URL, _payload(ASHDOWN), format="json").status_code == 201
    notice = MatchNotice.objects.get()
    probation = api(world.probation_practitioner)
    assert probation.get(f"{URL}{hidden.pk}/").status_code == 404
    chair = signed_in(world.police_chair)
    page = chair.get("/sharing/match-notices/").content.decode()
    assert hidden.reference in page and "Northshire Probation Delivery Unit" in page
    # when the police chair shares names and the referral only (C1, C2) through the notice
    response = chair.post(
        f"/sharing/match-notices/{notice.pk}/",
        {"agreement": str(world.agreement.pk), "categories": ["C1", "C2"], "purpose": "Joint referral"},
    )
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.status == MatchNoticeStatus.SHARED and notice.share is not None
    assert notice.share.agency == world.agencies["probation"] and notice.share.categories == ["C1", "C2"]
    # then probation sees the case, with only what was shared
    body = probation.get(f"{URL}{hidden.pk}/").json()
    withheld = {w["category"]: w["level"] for w in body["withheld"]}
    assert withheld["C7"] == "none" and withheld["C3"] == "none" and "C1" not in withheld
    assert all("address" not in v for v in body["victims"]) and body["nominal"]["address"]
    # and the notice cannot be decided twice
    again = chair.post(f"/sharing/match-notices/{notice.pk}/", {"dismiss": "1"})
    assert again.status_code == 404


def test_holder_chair_may_dismiss_and_others_cannot_act_on_the_notice(world, api, signed_in):
    _hidden_case(world)
    assert api(world.cps_practitioner).post(URL, _payload(ASHDOWN), format="json").status_code == 201
    notice = MatchNotice.objects.get()
    url = f"/sharing/match-notices/{notice.pk}/"
    for persona in ("cps_chair", "police_practitioner", "outsider_chair"):
        client = signed_in(getattr(world, persona))
        assert client.get(url).status_code == 404
        assert client.post(url, {"dismiss": "1"}).status_code == 404
    assert signed_in(world.police_chair).post(url, {"dismiss": "1"}).status_code == 302
    notice.refresh_from_db()
    assert notice.status == MatchNoticeStatus.DISMISSED and notice.share is None
    assert not world.agencies["cps"].case_shares.filter(case=notice.case).exists()


def test_match_notices_over_the_api(world, api):
    hidden = _hidden_case(world)
    assert api(world.probation_practitioner).post(URL, _payload(ASHDOWN), format="json").status_code == 201
    chair = api(world.police_chair)
    listing = chair.get("/api/v1/match-notices/")
    assert listing.status_code == 200
    (row,) = listing.json()["results"]
    assert row["case_reference"] == hidden.reference and row["status"] == "open"
    assert row["referring_agency_name"] == "Northshire Probation Delivery Unit"
    assert "referral_case" not in row and "Ashdown" not in listing.content.decode()
    # the referrer and outsiders see no notices and cannot act on this one
    for persona in ("probation_chair", "outsider_chair", "police_practitioner"):
        client = api(getattr(world, persona))
        assert client.get("/api/v1/match-notices/").json()["results"] == []
        assert client.post(f"/api/v1/match-notices/{row['id']}/dismiss/").status_code == 404
    # a bad agreement is refused naming the field; then the chair shares the referral only
    url = f"/api/v1/match-notices/{row['id']}/share/"
    bad = chair.post(
        url, {"agreement": str(uuid.uuid4()), "categories": ["C2"], "purpose": "x"}, format="json"
    )
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["agreement"]
    shared = chair.post(
        url, {"agreement": str(world.agreement.pk), "categories": ["C2"], "purpose": "Joint"}, format="json"
    )
    assert shared.status_code == 201 and shared.json()["categories"] == ["C2"]
    body = api(world.probation_practitioner).get(f"{URL}{hidden.pk}/").json()
    assert {w["category"] for w in body["withheld"]} >= {"C1", "C3", "C6", "C7"}
    assert chair.post(f"/api/v1/match-notices/{row['id']}/dismiss/").status_code == 404


# --- a nominal used by cases of two lead agencies -------------------------------------------------
def _health_links(world: Any, api: Any) -> Case:
    """Health sees the police nominal in full (C1 and C6 under the agreement) and links to it."""
    client = api(world.health_practitioner)
    offered = client.post(URL, _payload(), format="json")
    assert offered.status_code == 409
    linked = client.post(URL, _payload(link_nominal=str(world.case.nominal_id)), format="json")
    assert linked.status_code == 201
    return Case.objects.get(pk=linked.json()["id"])


def _nominal_patch(case: Case, **changes: Any) -> dict[str, Any]:
    case.nominal.refresh_from_db()
    return {"version": case.nominal.version, "given_name": "Daniel", "family_name": "Marsh", **changes}


def test_only_the_original_cases_lead_edits_a_shared_nominal_and_every_case_audits_it(world, api):
    health_case = _health_links(world, api)
    assert health_case.nominal_id == world.case.nominal_id
    # when health, which leads only the linked case, tries to rewrite the record
    refused = api(world.health_practitioner).patch(
        f"{URL}{health_case.pk}/nominal/",
        _nominal_patch(health_case, address="1 Elsewhere Road", pnc_id=""),
        format="json",
    )
    # then it is refused and the record is unchanged
    assert refused.status_code == 403
    world.case.nominal.refresh_from_db()
    assert world.case.nominal.address == "14 Quarry Lane, Northtown NT4 2QP"
    assert not policy.can_edit_nominal(world.health_practitioner, health_case.nominal, health_case)
    # when the police, who lead the original case, change it
    assert policy.can_edit_nominal(world.police_practitioner, world.case.nominal, world.case)
    done = api(world.police_practitioner).patch(
        f"{URL}{world.case.pk}/nominal/",
        _nominal_patch(world.case, address="22 New Street, Northtown NT2 1AA"),
        format="json",
    )
    assert done.status_code == 200
    # then the change is audited against both cases, so each lead agency's auditors see it
    events = AuditEvent.objects.filter(op=Op.ALTER, object_id=str(world.case.nominal_id))
    assert {e.case_id for e in events} == {world.case.pk, health_case.pk}
    for auditor, case in ((world.police_auditor, world.case), (world.health_auditor, health_case)):
        assert policy.audit_events_visible_to(auditor).filter(case_id=case.pk, pk__in=events).exists()


# --- erasure of a case whose nominal is used by another -------------------------------------------
def test_erasing_one_case_keeps_a_shared_nominals_key_and_the_last_destroys_it(world, api):
    health_case = _health_links(world, api)
    nominal = world.case.nominal
    police, health = world.agencies["police"], world.agencies["health"]
    # when the police case is erased
    certificate = do_erase_case(
        world.case, acting_user=world.police_dpo, agency=police, rule=None, reason="Review"
    )
    # then the nominal's key survives and the health case still reads its perpetrator
    assert str(nominal.data_key_id) not in certificate.keys_destroyed
    keyring.get_dek(nominal.data_key_id)
    assert Nominal.objects.get(pk=nominal.pk).address == "14 Quarry Lane, Northtown NT4 2QP"
    # when the last case using it is erased, its key goes too
    last = do_erase_case(health_case, acting_user=world.health_dpo, agency=health, rule=None, reason="Review")
    assert str(nominal.data_key_id) in last.keys_destroyed
    with pytest.raises(KeyDestroyedError):
        keyring.get_dek(nominal.data_key_id)
