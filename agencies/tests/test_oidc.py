"""Signing in with an agency's OpenID provider, against a real provider served on 127.0.0.1.

The provider (agencies/tests/oidc_provider.py) runs the authorization code flow with PKCE and
signs its ID tokens; Convene fetches its discovery document, JWKS and tokens over HTTP, as it
would in production. The browser's part is played by Django's test client (for Convene) and by
``requests`` (for the provider), so every redirect between them is followed explicitly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.test import Client

from agencies.management.commands.demo_totp import current_code
from agencies.middleware import SSO_UNTIL
from agencies.models import Agency, ExternalIdentity, User
from agencies.services import do_add_membership, do_create_person
from agencies.sso_models import AgencyIdentityProvider, MfaPolicy
from agencies.sso_services import ProviderSettings, do_configure_identity_provider
from agencies.tests.oidc_provider import NextLogin, Provider, running_provider
from agencies.tests.test_signin import device_for, password_step
from audit.models import AuditEvent

CLIENT_ID = "convene-northshire"
CLIENT_SECRET = "s3cret-from-a-mounted-file-0b8f"
CALLBACK = "http://testserver/signin/sso/northshire-police/callback/"
EMAIL = "amber.reid@northshire.police.uk"


@dataclass
class Sso:
    op: Provider
    config: AgencyIdentityProvider
    agency: Agency
    person: User


def settings_for(op: Provider, **changes: Any) -> ProviderSettings:
    values: dict[str, Any] = {
        "is_enabled": True,
        "issuer": op.issuer,
        "client_id": CLIENT_ID,
        "client_secret_file": "client-secret",
        "allowed_email_domains": ("northshire.police.uk",),
        "person_claim": "email",
        "mfa_policy": MfaPolicy.AMR_CONTAINS,
        "mfa_values": ("mfa",),
        "acr_values": "",
        "max_session_minutes": 480,
    }
    values.update(changes)
    return ProviderSettings(**values)


@pytest.fixture
def sso(world: Any, settings: Any, tmp_path: Any) -> Iterator[Sso]:
    settings.CONVENE_OIDC_SECRETS_DIR = tmp_path
    settings.CONVENE_OIDC_ALLOW_HTTP_LOOPBACK = True
    (tmp_path / "northshire-police").mkdir()
    (tmp_path / "northshire-police" / "client-secret").write_text(CLIENT_SECRET + "\n")
    police = world.agencies["police"]
    # An agency admin added this person, with the email address their force account carries.
    person, _ = do_create_person(
        username="amber_reid",
        first_name="Amber",
        last_name="Reid",
        email=EMAIL,
        acting_user=world.police_admin,
    )
    do_add_membership(user=person, agency=police, role="practitioner", acting_user=world.police_admin)
    with running_provider(CLIENT_ID, CLIENT_SECRET, {CALLBACK}) as op:
        config = do_configure_identity_provider(
            agency=police, settings=settings_for(op), acting_user=world.police_admin, version=None
        )
        op.next_login = NextLogin(sub="entra-oid-4711", email=EMAIL, amr=["pwd", "mfa"])
        yield Sso(op=op, config=config, agency=police, person=person)


def to_provider(client: Client, path: str = "/signin/sso/northshire-police/begin/") -> str:
    """Start at Convene; returns the provider's authorization URL Convene sent the browser to."""
    response = client.get(path)
    assert response.status_code == 302, response.content.decode()[:500]
    return str(response["Location"])


def at_provider(url: str) -> str:
    """The person signs in at the provider, which sends the browser back: the callback path."""
    response = requests.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    back = urlsplit(response.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == CALLBACK
    return f"{back.path}?{back.query}"


def round_trip(client: Client) -> Any:
    return client.get(at_provider(to_provider(client)))


def events(op: str, **filters: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(op=op, **filters).order_by("id"))


# --- signing in ---------------------------------------------------------------------------------
def test_sign_in_with_the_provider_and_its_mfa_reaches_the_dashboard(sso: Sso) -> None:
    # Given a person added to Northshire Police, whose provider reports amr ["pwd", "mfa"]
    client = Client()
    # When they start at Convene's "sign in with your organisation"
    authorize = urlsplit(to_provider(client))
    query = {k: v[0] for k, v in parse_qs(authorize.query).items()}
    # Then Convene asks for the code flow with PKCE (S256), a nonce and the configured max age
    assert authorize.geturl().startswith(f"{sso.op.issuer}/authorize?")
    assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) >= 43
    assert query["nonce"] and query["state"] and query["max_age"] == str(480 * 60)
    assert "openid" in query["scope"].split()
    # When the provider sends them back
    response = client.get(at_provider(authorize.geturl()))
    # Then they are fully signed in (the provider's second factor counts) and see their dashboard
    assert response.status_code == 302 and response["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200 and "Northshire Police" in page.content.decode()
    # And the provider account is now linked to them by its subject
    assert ExternalIdentity.objects.get(provider=sso.config, subject="entra-oid-4711").user == sso.person
    # And the sign-in is audited with the raw amr/acr, never a token
    (event,) = events("sign_in", actor_username="amber_reid")
    assert event.detail["stage"] == "oidc" and event.detail["second_factor"] == "provider"
    assert event.detail["amr"] == ["pwd", "mfa"] and event.detail["acr"] is None
    for record in AuditEvent.objects.all():
        assert "eyJ" not in str(record.detail) and CLIENT_SECRET not in str(record.detail)
    # And the token request used the verifier and the client secret from the file
    assert sso.op.token_requests[-1]["grant_type"] == "authorization_code"


def test_after_signing_in_the_person_goes_back_where_they_were_and_only_within_convene(sso: Sso) -> None:
    client = Client()
    callback = at_provider(to_provider(client, "/signin/sso/northshire-police/begin/?next=/cases/"))
    assert client.get(callback)["Location"] == "/cases/"
    other = Client()
    callback = at_provider(
        to_provider(other, "/signin/sso/northshire-police/begin/?next=https://evil.example/")
    )
    assert other.get(callback)["Location"] == "/"


def test_a_second_sign_in_finds_the_person_by_the_linked_subject(sso: Sso) -> None:
    # Given a first sign-in linked the provider account
    assert round_trip(Client())["Location"] == "/"
    # When the provider later reports a new email address for the same subject
    sso.op.next_login = NextLogin(sub="entra-oid-4711", email="a.reid@northshire.police.uk", amr=["mfa"])
    response = round_trip(Client())
    # Then it is still the same person
    assert response.status_code == 302 and response["Location"] == "/"
    assert len(events("sign_in", actor_username="amber_reid")) == 2


def test_without_the_providers_mfa_claim_convene_asks_for_its_own_code(sso: Sso) -> None:
    # Given the provider reports a password only (amr ["pwd"]), and the person has an authenticator
    sso.op.next_login = NextLogin(sub="entra-oid-4711", email=EMAIL, amr=["pwd"])
    device = device_for(sso.person)
    client = Client()
    # When the provider sends them back
    response = round_trip(client)
    # Then Convene asks for its own security code before any page
    assert response.status_code == 302 and response["Location"] == "/signin/verify/"
    assert client.get("/")["Location"] == "/signin/verify/"
    (first,) = events("sign_in", actor_username="amber_reid")
    assert first.detail["second_factor"] == "convene_totp" and first.detail["amr"] == ["pwd"]
    # And with the code they are signed in
    response = client.post("/signin/verify/", {"code": current_code(device)})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_without_an_authenticator_the_person_enrols_one(sso: Sso) -> None:
    # Given no amr at all, and a person who has never set up an authenticator
    sso.op.next_login = NextLogin(sub="entra-oid-4711", email=EMAIL)
    client = Client()
    # Then after the provider they are sent to set one up
    assert round_trip(client)["Location"] == "/signin/enrol/"


def test_an_acr_policy_accepts_only_the_configured_assurance(sso: Sso, world: Any) -> None:
    # Given the agency accepts acr AAL2_OR_AAL3_ANY (as NHS CIS2 reports) and requests it
    config = do_configure_identity_provider(
        agency=sso.agency,
        settings=settings_for(
            sso.op,
            mfa_policy=MfaPolicy.ACR_IN,
            mfa_values=("AAL2_OR_AAL3_ANY",),
            acr_values="AAL2_OR_AAL3_ANY",
        ),
        acting_user=world.police_admin,
        version=sso.config.version,
    )
    assert config.version == sso.config.version + 1
    sso.op.next_login = NextLogin(sub="entra-oid-4711", email=EMAIL, acr="AAL1_USERPASS")
    client = Client()
    authorize = to_provider(client)
    assert parse_qs(urlsplit(authorize).query)["acr_values"] == ["AAL2_OR_AAL3_ANY"]
    # When the provider reports a lower assurance, Convene asks for its own code
    assert client.get(at_provider(authorize))["Location"] == "/signin/enrol/"
    # And when it reports the accepted one, the provider's second factor counts
    sso.op.next_login = NextLogin(sub="entra-oid-4711", email=EMAIL, acr="AAL2_OR_AAL3_ANY")
    assert round_trip(Client())["Location"] == "/"


# --- refusals -----------------------------------------------------------------------------------
def _assert_not_signed_in(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/signin/")


def test_an_id_token_for_another_audience_is_refused(sso: Sso) -> None:
    # Given the provider issues a token meant for another client
    sso.op.next_login = NextLogin(sub="entra-oid-4711", email=EMAIL, amr=["mfa"], audience="another-app")
    client = Client()
    # When the provider sends the browser back
    response = round_trip(client)
    # Then Convene refuses, plainly, and nobody is signed in
    assert response.status_code == 400
    assert "could not be confirmed" in response.content.decode()
    _assert_not_signed_in(client)
    (event,) = events("sign_in_failed")
    assert event.detail["reason"] == "token_rejected" and event.outcome == "denied"
    assert not ExternalIdentity.objects.exists()


def test_an_id_token_for_another_audience_is_refused_even_naming_us_as_its_azp(sso: Sso) -> None:
    # Given a token whose audience is another client, though its azp names Convene's client id
    # (Authlib's default checks only azp here; Convene requires its client id in aud)
    sso.op.next_login = NextLogin(
        sub="entra-oid-4711", email=EMAIL, amr=["mfa"], audience="another-app", extra={"azp": CLIENT_ID}
    )
    client = Client()
    response = round_trip(client)
    assert response.status_code == 400
    _assert_not_signed_in(client)
    (event,) = events("sign_in_failed")
    assert event.detail["reason"] == "token_rejected" and event.detail["error"] == "InvalidClaimError"


def test_an_expired_id_token_is_refused(sso: Sso) -> None:
    # Given the provider issues a token that expired ten minutes ago
    sso.op.next_login = NextLogin(sub="entra-oid-4711", email=EMAIL, amr=["mfa"], lifetime_seconds=-600)
    client = Client()
    response = round_trip(client)
    assert response.status_code == 400
    _assert_not_signed_in(client)
    assert events("sign_in_failed")[0].detail["reason"] == "token_rejected"


def test_a_replayed_callback_is_refused(sso: Sso) -> None:
    # Given a sign-in that went through
    client = Client()
    callback = at_provider(to_provider(client))
    assert client.get(callback)["Location"] == "/"
    # When someone else's browser replays the same callback (code and state)
    other = Client()
    response = other.get(callback)
    # Then it is refused: the state belongs to no session of theirs
    assert response.status_code == 400
    _assert_not_signed_in(other)
    # And the same browser replaying it is refused too: each state is used once
    client.post("/signout/")
    again = client.get(callback)
    assert again.status_code == 400
    _assert_not_signed_in(client)
    assert len(events("sign_in", actor_username="amber_reid")) == 1


def test_a_provider_account_nobody_added_is_refused_and_counts_towards_lockout(sso: Sso) -> None:
    from axes.models import AccessAttempt

    # Given a provider account whose email matches nobody in Northshire Police
    sso.op.next_login = NextLogin(sub="entra-oid-9999", email="new.starter@northshire.police.uk", amr=["mfa"])
    client = Client()
    # When they come back from the provider
    response = round_trip(client)
    # Then Convene refuses and creates nobody (no self-registration)
    assert response.status_code == 403
    assert "not linked to anyone in Convene" in response.content.decode()
    _assert_not_signed_in(client)
    assert not User.objects.filter(email__iexact="new.starter@northshire.police.uk").exists()
    assert not ExternalIdentity.objects.exists()
    # And the failure is audited and counted like a wrong password
    (event,) = events("sign_in_failed")
    assert event.detail["reason"] == "unknown_person" and event.detail["amr"] == ["mfa"]
    assert event.actor_username == "new.starter@northshire.police.uk"
    assert AccessAttempt.objects.filter(username="new.starter@northshire.police.uk").exists()


def test_a_member_of_another_agency_is_not_a_person_of_this_one(sso: Sso, world: Any) -> None:
    # Given someone with a role only in Southshire Police, whose email is at an allowed domain
    outsider, _ = do_create_person(
        username="sam_south",
        first_name="Sam",
        last_name="South",
        email="sam@northshire.police.uk",
        acting_user=None,
    )
    do_add_membership(user=outsider, agency=world.agencies["outsider"], role="practitioner", acting_user=None)
    sso.op.next_login = NextLogin(sub="entra-oid-5555", email="sam@northshire.police.uk", amr=["mfa"])
    # Then Northshire Police's provider does not sign them in
    assert round_trip(Client()).status_code == 403


def test_an_email_domain_not_allowed_is_refused(sso: Sso) -> None:
    # Given the person's provider account carries a private email address
    sso.op.next_login = NextLogin(sub="entra-oid-4711", email="amber.reid@gmail.example", amr=["mfa"])
    client = Client()
    response = round_trip(client)
    assert response.status_code == 403
    assert "email domain is not accepted" in response.content.decode()
    _assert_not_signed_in(client)
    assert events("sign_in_failed")[0].detail["reason"] == "email_domain_not_allowed"


def test_a_locked_out_account_cannot_sign_in_through_the_provider(sso: Sso) -> None:
    # Given five wrong passwords for the person from this address
    for _ in range(5):
        password_step(Client(), "amber_reid", "wrong password entirely")
    client = Client()
    # When they sign in at their provider
    response = round_trip(client)
    # Then they are still locked out
    assert response.status_code == 429
    _assert_not_signed_in(client)


def test_a_disabled_or_unconfigured_agency_has_no_sign_in(sso: Sso, world: Any) -> None:
    do_configure_identity_provider(
        agency=sso.agency,
        settings=settings_for(sso.op, is_enabled=False),
        acting_user=world.police_admin,
        version=sso.config.version,
    )
    client = Client()
    assert client.get("/signin/sso/northshire-police/begin/").status_code == 404
    assert client.get("/signin/sso/southshire-police/begin/").status_code == 404


def test_a_missing_secret_file_fails_closed(sso: Sso, settings: Any) -> None:
    (settings.CONVENE_OIDC_SECRETS_DIR / "northshire-police" / "client-secret").unlink()
    client = Client()
    response = client.get("/signin/sso/northshire-police/begin/")
    assert response.status_code == 400
    assert "not available" in response.content.decode()
    assert not sso.op.authorize_requests


# --- session lifetime and logout ------------------------------------------------------------------
def test_the_session_ends_no_later_than_the_id_token(sso: Sso) -> None:
    # Given a provider whose ID tokens last five minutes
    sso.op.next_login = NextLogin(sub="entra-oid-4711", email=EMAIL, amr=["mfa"], lifetime_seconds=300)
    client = Client()
    before = time.time()
    assert round_trip(client)["Location"] == "/"
    # Then the session is set to end when the token does
    until = float(client.session[SSO_UNTIL])
    assert before + 300 - 5 <= until <= time.time() + 300
    # And once that moment has passed, the next request signs them out
    session = client.session
    session[SSO_UNTIL] = time.time() - 1
    session.save()
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/signin/?expired=1"
    _assert_not_signed_in(client)


def test_the_session_ends_no_later_than_the_configured_max_age(sso: Sso, world: Any) -> None:
    # Given a long-lived ID token and an agency that allows sessions of 30 minutes
    do_configure_identity_provider(
        agency=sso.agency,
        settings=settings_for(sso.op, max_session_minutes=30),
        acting_user=world.police_admin,
        version=sso.config.version,
    )
    sso.op.next_login = NextLogin(sub="entra-oid-4711", email=EMAIL, amr=["mfa"], lifetime_seconds=8 * 3600)
    client = Client()
    assert round_trip(client)["Location"] == "/"
    assert float(client.session[SSO_UNTIL]) <= time.time() + 30 * 60


def test_signing_out_also_signs_out_at_the_provider(sso: Sso) -> None:
    # Given a person signed in through the provider
    client = Client()
    assert round_trip(client)["Location"] == "/"
    # When they sign out of Convene
    response = client.post("/signout/")
    # Then Convene's session has ended, and the page sends them on to the provider's end_session_endpoint
    assert response.status_code == 200
    _assert_not_signed_in(client)
    logout_url = response.context["logout_url"]
    assert logout_url.startswith(f"{sso.op.issuer}/logout?")
    assert f'content="0;url={logout_url}"'.replace("&", "&amp;") in response.content.decode()
    # And the provider ends its session and sends them back to Convene's sign-in page
    back = requests.get(logout_url, allow_redirects=False, timeout=10)
    assert back.status_code == 302
    assert back.headers["Location"].startswith("http://testserver/signin/?signedout=1&state=")
    (logout,) = sso.op.logouts
    assert logout["client_id"] == CLIENT_ID
    assert logout["post_logout_redirect_uri"] == "http://testserver/signin/?signedout=1"
    assert "id_token_hint" not in logout  # no token is kept in the session


def test_a_password_sign_out_does_not_visit_any_provider(sso: Sso, signed_in: Any, world: Any) -> None:
    client = signed_in(world.police_chair)
    response = client.post("/signout/")
    assert response.status_code == 302 and response["Location"] == "/signin/"
    assert not sso.op.logouts


def test_no_code_verifier_token_or_secret_reaches_a_log_line(sso: Sso, caplog: Any) -> None:
    # Given every logger recording at debug level (Authlib logs the PKCE verifier at debug)
    caplog.set_level(logging.DEBUG)
    # When someone signs in and out through the provider
    client = Client()
    assert round_trip(client)["Location"] == "/"
    client.post("/signout/")
    # Then no code, verifier, token or the client secret appears in any log record
    assert len(sso.op.issued) == 4
    text = "\n".join(record.getMessage() for record in caplog.records)
    for value in [*sso.op.issued, CLIENT_SECRET]:
        assert value not in text


# --- finding your organisation ------------------------------------------------------------------
def test_the_sign_in_page_offers_the_organisation_sign_in(sso: Sso) -> None:
    page = Client().get("/signin/")
    assert 'href="/signin/sso/"' in page.content.decode()
    start = Client().get("/signin/sso/")
    assert start.status_code == 200
    assert 'href="/signin/sso/northshire-police/begin/"' in start.content.decode()


def test_an_email_address_finds_its_agency(sso: Sso) -> None:
    found = Client().post("/signin/sso/", {"email": "someone@Northshire.Police.UK"})
    assert found.status_code == 200
    assert 'href="/signin/sso/northshire-police/begin/"' in found.content.decode()
    missing = Client().post("/signin/sso/", {"email": "someone@elsewhere.example"})
    assert missing.status_code == 400
    assert "No agency signs in to Convene with that email domain" in missing.content.decode()
    assert Client().post("/signin/sso/", {"email": "not an email"}).status_code == 400
