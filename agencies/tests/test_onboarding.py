"""Onboarding a real agency: create_agency and its invitation link, the superuser pages, deactivation."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from agencies.management.commands.demo_totp import current_code
from agencies.models import Agency, AgencyInvitation, Membership, Role, User
from agencies.services import do_deactivate_agency, do_invite_agency_admin
from audit.models import AuditEvent
from core.categories import DEFAULT_MATRIX
from sharing.models import SharingAgreement
from tests.world import make_user

NEW_PASSWORD = "a long and unusual passphrase 2026"
NONCE = re.compile(r'nonce="[^"]*"')


def create_agency(*extra: str) -> str:
    """Run create_agency as an operator would; returns the printed invitation link."""
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "create_agency",
        "--name",
        "Westshire Police",
        "--type",
        "police",
        "--area",
        "Westshire",
        "--admin-first-name",
        "Dana",
        "--admin-last-name",
        "Okafor",
        *extra,
        stdout=out,
        stderr=err,
    )
    return out.getvalue().strip()


def token_of(link: str) -> str:
    return link.split("#", 1)[1]


def open_link(client: Client, link: str) -> Any:
    """What the browser does with the link: load the page, whose script posts the token after "#"."""
    page = client.get(urlsplit(link).path)  # the fragment stays in the browser
    assert page.status_code == 200 and 'id="invitation-open"' in page.content.decode()
    assert "js/invitation.js" in page.content.decode()
    return client.post("/signin/invitation/open/", {"code": token_of(link)})


def accept(link: str, username: str = "dana.okafor") -> tuple[Client, Any]:
    """Open the link, choose a username and password, enrol an authenticator: as the invitee would."""
    client = Client()
    opened = open_link(client, link)
    assert opened.status_code == 302 and opened["Location"] == "/signin/invitation/"
    form = client.get("/signin/invitation/")
    assert form.status_code == 200 and "Set up your Convene account" in form.content.decode()
    response = client.post(
        "/signin/invitation/",
        {"username": username, "password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
    )
    return client, response


def enrol(client: Client, user: User) -> Any:
    assert client.get("/signin/enrol/").status_code == 200
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    return client.post("/signin/enrol/", {"code": current_code(device)})


def unusable_body(response: Any) -> str:
    return NONCE.sub("", response.content.decode())


@pytest.mark.django_db
def test_create_agency_and_its_invitation_make_an_admin_who_adds_people_and_drafts_an_agreement(
    world: Any,
) -> None:
    # given an operator who runs create_agency
    link = create_agency("--admin-email", "dana.okafor@westshire.police.example")
    agency = Agency.objects.get(name="Westshire Police")
    assert agency.agency_type == "police" and agency.area == "Westshire" and agency.regime == "part3"
    assert link.startswith("https://") and "/signin/invitation/#" in link
    # then the token travels after "#" (never sent to the server: no access log or Referer sees it),
    # only a hash of it is stored, and no audit event holds it
    token = token_of(link)
    assert len(token) >= 40
    invitation = AgencyInvitation.objects.get(agency=agency)
    assert invitation.token_hash != token and token not in invitation.token_hash
    assert not any(token in str(row) for row in AuditEvent.objects.values_list())
    # when the invitee opens it, chooses a username and password
    client, response = accept(link)
    # then they have an account and are sent to enrol an authenticator (the existing enrolment)
    assert response.status_code == 302 and response["Location"] == "/signin/enrol/"
    user = User.objects.get(username="dana.okafor")
    assert user.check_password(NEW_PASSWORD) and user.get_full_name() == "Dana Okafor"
    assert user.email == "dana.okafor@westshire.police.example"
    # and until they have, no page is open to them
    assert client.get(f"/people/{agency.slug}/").status_code == 302
    response = enrol(client, user)
    assert response.status_code == 302 and response["Location"] == f"/people/{agency.slug}/"
    # then they are the agency's admin
    assert Membership.objects.active().get(user=user, agency=agency).role == Role.AGENCY_ADMIN
    invitation.refresh_from_db()
    assert invitation.accepted_by == user and invitation.accepted_at is not None
    # and can add a person to their agency through the existing page
    response = client.post(
        f"/people/{agency.slug}/add/",
        {
            "first_name": "Sam",
            "last_name": "Reyes",
            "username": "sam.reyes",
            "role": "practitioner",
            "vetting_level": "nppv2",
        },
    )
    assert response.status_code == 201, response.content.decode()[:500]
    assert Membership.objects.active().get(user__username="sam.reyes", agency=agency).role == "practitioner"
    # and draft an agreement in their agency's name
    today = timezone.localdate()
    data: dict[str, Any] = {
        "reference": "ISA-WS-2026-01",
        "title": "Westshire stalking information sharing",
        "purpose": "Managing stalking perpetrators",
        "dpia_reference": "DPIA-WS-1",
        "retention_rule": "Six years after closure",
        "retention_years": 6,
        "security_terms": "OFFICIAL-SENSITIVE",
        "starts_on": str(today),
        "review_on": str(today + timedelta(days=180)),
        "ends_on": "",
    }
    probation = world.agencies["probation"]
    for party in Agency.objects.filter(is_active=True):
        for c, level in DEFAULT_MATRIX[party.agency_type].items():
            data[f"party_{party.pk}_{c}"] = level
    for party in (agency, probation):
        data[f"party_{party.pk}_include"] = "on"
        data[f"party_{party.pk}_gateway"] = "CJA 2003 s325"
    response = client.post("/sharing/agreements/new/", data)
    assert response.status_code == 302, response.context["form"].errors
    agreement = SharingAgreement.objects.get(reference="ISA-WS-2026-01")
    assert agreement.drafted_by_agency == agency
    assert set(agreement.parties.values_list("agency", flat=True)) == {agency.pk, probation.pk}


@pytest.mark.django_db
def test_a_used_an_expired_a_withdrawn_and_a_wrong_link_all_answer_the_same(world: Any) -> None:
    link = create_agency()
    client, response = accept(link)
    assert response.status_code == 302
    agency = Agency.objects.get(name="Westshire Police")
    # a used link
    used = open_link(Client(), link)
    # an expired one
    expired_invitation, expired_raw = do_invite_agency_admin(
        agency=agency, first_name="Eve", last_name="Late", acting_user=None
    )
    AgencyInvitation.objects.filter(pk=expired_invitation.pk).update(expires_at=timezone.now())
    expired = Client().post("/signin/invitation/open/", {"code": expired_raw})
    # a withdrawn one (by the operator)
    withdrawn_invitation, withdrawn_raw = do_invite_agency_admin(
        agency=agency, first_name="Wes", last_name="Drawn", acting_user=None
    )
    AgencyInvitation.objects.filter(pk=withdrawn_invitation.pk).update(revoked_at=timezone.now())
    withdrawn = Client().post("/signin/invitation/open/", {"code": withdrawn_raw})
    # a made-up one, and the account form posted with no invitation in the session
    wrong = Client().post("/signin/invitation/open/", {"code": "x" * 43})
    bare = Client().post("/signin/invitation/", {"username": "eve", "password": NEW_PASSWORD})
    responses = [used, expired, withdrawn, wrong, bare]
    assert [r.status_code for r in responses] == [404] * 5
    assert len({unusable_body(r) for r in responses}) == 1
    assert "This invitation link cannot be used" in unusable_body(used)
    # and nobody became an admin through them
    assert not User.objects.filter(first_name__in=["Eve", "Wes"]).exists()


@pytest.mark.django_db
def test_a_link_expiring_between_opening_and_submitting_is_refused_and_nothing_is_written(world: Any) -> None:
    link = create_agency()
    client = Client()
    assert open_link(client, link).status_code == 302
    AgencyInvitation.objects.update(expires_at=timezone.now())
    response = client.post(
        "/signin/invitation/", {"username": "dana", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    )
    assert response.status_code == 404 and not User.objects.filter(username="dana").exists()


@pytest.mark.django_db
def test_a_weak_password_or_a_taken_username_names_the_field_and_writes_nothing(
    world: Any, settings: Any
) -> None:
    from config.settings import base

    settings.AUTH_PASSWORD_VALIDATORS = base.AUTH_PASSWORD_VALIDATORS  # the test settings turn them off
    link = create_agency()
    client = Client()
    open_link(client, link)
    weak = client.post(
        "/signin/invitation/", {"username": "dana", "password": "password", "password_again": "password"}
    )
    assert weak.status_code == 400 and "password" in weak.context["form"].errors
    taken = client.post(
        "/signin/invitation/",
        {"username": "police_admin", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
    )
    assert taken.status_code == 400 and "username" in taken.context["form"].errors
    mismatch = client.post(
        "/signin/invitation/", {"username": "dana", "password": NEW_PASSWORD, "password_again": "other"}
    )
    assert mismatch.status_code == 400 and "password_again" in mismatch.context["form"].errors
    assert not User.objects.filter(username="dana").exists()
    assert AgencyInvitation.objects.get().accepted_at is None
    # the link still works after the mistakes
    ok = client.post(
        "/signin/invitation/", {"username": "dana", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    )
    assert ok.status_code == 302


@pytest.mark.django_db
def test_create_agency_refuses_bad_input_naming_the_option(world: Any) -> None:
    with pytest.raises(CommandError, match="--name"):
        call_command(
            "create_agency", "--name", "Northshire Police", "--type", "police",
            "--admin-first-name", "A", "--admin-last-name", "B", stdout=io.StringIO(), stderr=io.StringIO(),
        )  # fmt: skip
    with pytest.raises(CommandError, match="--days"):
        create_agency("--days", "90")
    assert not Agency.objects.filter(name="Westshire Police").exists()  # nothing half-written


@pytest.mark.django_db
def test_the_superuser_pages_create_invite_and_deactivate_and_are_404_to_everyone_else(
    world: Any, signed_in: Any
) -> None:
    # everyone but an operator gets the same 404 as a missing page
    for persona in (world.police_admin, world.police_dpo, world.police_auditor):
        client = signed_in(persona)
        assert client.get("/operations/agencies/").status_code == 404
        assert client.get(f"/operations/agencies/{world.agencies['police'].slug}/").status_code == 404
        assert client.post("/operations/agencies/", {"name": "X", "agency_type": "police"}).status_code == 404
    assert not Agency.objects.filter(name="X").exists()
    # given an operator
    operator = make_user("ops_superuser", is_superuser=True, is_staff=True)
    client = signed_in(operator)
    assert "Agencies" in client.get("/").content.decode()
    # a bad type names the field and writes nothing
    response = client.post("/operations/agencies/", {"name": "Eastshire ISAC", "agency_type": "nope"})
    assert response.status_code == 400 and "agency_type" in response.context["form"].errors
    response = client.post(
        "/operations/agencies/",
        {"name": "Eastshire ISAC", "agency_type": "victim_support", "area": "Eastshire"},
    )
    agency = Agency.objects.get(name="Eastshire ISAC")
    assert response.status_code == 302 and response["Location"] == f"/operations/agencies/{agency.slug}/"
    response = client.post(f"/operations/agencies/{agency.slug}/", {"first_name": "Ira", "last_name": "Moss"})
    assert response.status_code == 201
    link = re.search(r"http://testserver/signin/invitation/#[A-Za-z0-9_-]+", response.content.decode())
    assert link is not None
    assert response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]
    # the link is not shown again
    page = client.get(f"/operations/agencies/{agency.slug}/").content.decode()
    assert link.group(0) not in page and "Waiting until" in page
    _, accepted = accept(link.group(0), username="ira.moss")
    assert accepted.status_code == 302
    # deactivation asks for the slug, then ends every membership
    assert (
        client.post(f"/operations/agencies/{agency.slug}/deactivate/", {"confirm": "no"}).status_code == 400
    )
    response = client.post(f"/operations/agencies/{agency.slug}/deactivate/", {"confirm": agency.slug})
    assert response.status_code == 302
    agency.refresh_from_db()
    assert not agency.is_active and not Membership.objects.active().filter(agency=agency).exists()


@pytest.mark.django_db
def test_deactivating_an_agency_ends_access_at_once_and_tells_every_members_sockets(
    world: Any, signed_in: Any, monkeypatch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given probation people seeing the shared case, and a waiting invitation to probation
    probation = world.agencies["probation"]
    case_url = f"/cases/{world.case.pk}/"
    practitioner = signed_in(world.probation_practitioner)
    assert practitioner.get(case_url).status_code == 200
    invitation, raw = do_invite_agency_admin(
        agency=probation, first_name="Al", last_name="B", acting_user=None
    )
    members = set(Membership.objects.active().filter(agency=probation).values_list("user_id", flat=True))
    assert members
    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr("core.events._send", lambda group, payload: sent.append((group, payload)))
    # when an operator deactivates probation
    operator = make_user("ops_superuser", is_superuser=True, is_staff=True)
    with django_capture_on_commit_callbacks(execute=True):
        ended = do_deactivate_agency(agency=probation, acting_user=operator)
    # then every membership ended, and each member's sockets (and the agency's) were told to re-check
    assert ended == len(Membership.objects.filter(agency=probation))
    assert not Membership.objects.active().filter(agency=probation).exists()
    told = {group for group, payload in sent if payload == {"type": "authz.changed"}}
    assert {f"user.{pk}" for pk in members} | {f"agency.{probation.pk}"} <= told
    # and the same session sees the case no more (the same 404 as a missing case)
    assert practitioner.get(case_url).status_code == 404
    # and its waiting invitation stopped working
    assert Client().post("/signin/invitation/open/", {"code": raw}).status_code == 404
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    # and it is recorded, with counts and ids only
    event = AuditEvent.objects.filter(detail__change="agency_deactivated").get()
    assert event.actor_id == operator.pk and event.detail["memberships_ended"] == ended
    # and neither it nor a second deactivation can be half-done
    with pytest.raises(Exception, match="already deactivated"):
        do_deactivate_agency(agency=probation, acting_user=operator)


@pytest.mark.django_db
def test_deactivate_agency_command(world: Any) -> None:
    out = io.StringIO()
    call_command("deactivate_agency", world.agencies["isac"].slug, stdout=out)
    assert "deactivated" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("deactivate_agency", "no-such-agency", stdout=io.StringIO())
    # the world's other agencies are untouched
    assert Membership.objects.active().filter(agency=world.agencies["police"]).exists()
