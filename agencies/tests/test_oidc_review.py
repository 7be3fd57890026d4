"""Attacks on single sign-on found by the security review, each against the real test provider.

Each test failed on the code as it was merged (07fbf67) and passes with its fix, except those
marked "held already", which pin checks the review found right (the algorithm filter was seen to
matter: without it an HMAC token keyed with the public key signs in).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings
from django.test import Client

from agencies import oidc
from agencies.models import ExternalIdentity
from agencies.services import do_add_membership, do_create_person
from agencies.sso_services import ProviderSettings, do_configure_identity_provider
from agencies.tests import test_oidc as base
from agencies.tests.oidc_provider import NextLogin, running_provider
from audit.models import AuditEvent
from core.errors import DomainError

sso = base.sso  # the same fixture: Northshire Police's provider and Amber Reid, a police practitioner
Sso = base.Sso


def _signed_in(client: Client) -> bool:
    response = client.get("/")
    return response.status_code == 200


def _provider_for(agency: Any, sso: Sso, admin: Any, **changes: Any) -> str:
    """Another agency's admin points their agency's sign-in at a provider they run; its begin path."""
    folder = Path(settings.CONVENE_OIDC_SECRETS_DIR) / agency.slug
    folder.mkdir(exist_ok=True)
    (folder / "client-secret").write_text(base.CLIENT_SECRET)
    sso.op.redirect_uris.add(f"http://testserver/signin/sso/{agency.slug}/callback/")
    do_configure_identity_provider(
        agency=agency, settings=base.settings_for(sso.op, **changes), acting_user=admin, version=None
    )
    return f"/signin/sso/{agency.slug}/begin/"


def _round_trip(client: Client, begin: str) -> Any:
    authorize = base.to_provider(client, begin)
    response = requests.get(authorize, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    back = response.headers["Location"].removeprefix("http://testserver")
    return client.get(back)


# --- account linking ---------------------------------------------------------------------------
def test_another_agencys_provider_cannot_sign_in_a_person_who_works_elsewhere(sso: Sso, world: Any) -> None:
    # Given the stalking advocacy service's admin adds Amber (a police officer) to their agency, as any
    # agency admin may add an existing person, and points its sign-in at a provider they run that
    # "allows" the police's email domain and attests MFA
    isac = world.agencies["isac"]
    do_add_membership(user=sso.person, agency=isac, role="practitioner", acting_user=world.isac_admin)
    begin = _provider_for(isac, sso, world.isac_admin)
    sso.op.next_login = NextLogin(sub="rogue-1", email=base.EMAIL, amr=["mfa"])
    client = Client()
    # When their provider says "this is amber.reid@northshire.police.uk"
    response = _round_trip(client, begin)
    # Then Convene refuses: that provider does not speak for someone who holds a role elsewhere
    assert response.status_code == 403
    assert not _signed_in(client)
    assert not ExternalIdentity.objects.exists()
    (event,) = AuditEvent.objects.filter(op="sign_in_failed")
    assert event.detail["reason"] == "not_for_this_provider"
    # And nor does her own force's provider, while she holds the other role (password and code only)
    sso.op.next_login = NextLogin(sub="entra-oid-4711", email=base.EMAIL, amr=["mfa"])
    assert _round_trip(Client(), "/signin/sso/northshire-police/begin/").status_code == 403


def test_a_linked_account_stops_signing_in_once_the_person_holds_a_role_elsewhere(
    sso: Sso, world: Any
) -> None:
    # Given Amber linked her provider account
    assert base.round_trip(Client())["Location"] == "/"
    # When she is later also given a role in another agency
    do_add_membership(
        user=sso.person, agency=world.agencies["probation"], role="practitioner", acting_user=None
    )
    # Then the provider no longer signs her in
    client = Client()
    assert base.round_trip(client).status_code == 403
    assert not _signed_in(client)


def test_a_provider_never_signs_in_a_superuser(sso: Sso) -> None:
    sso.person.is_superuser = True
    sso.person.save(update_fields=["is_superuser"])
    client = Client()
    assert base.round_trip(client).status_code == 403
    assert not _signed_in(client)
    assert not ExternalIdentity.objects.exists()


def test_the_claim_matched_to_a_person_must_itself_be_at_an_allowed_domain(sso: Sso, world: Any) -> None:
    # Given the police match people by preferred_username, and a member whose address is elsewhere
    do_configure_identity_provider(
        agency=sso.agency,
        settings=base.settings_for(sso.op, person_claim="preferred_username"),
        acting_user=world.police_admin,
        version=sso.config.version,
    )
    seconded, _ = do_create_person(
        username="sean_cps",
        first_name="Sean",
        last_name="Kerr",
        email="sean.kerr@cps.example",
        acting_user=None,
    )
    do_add_membership(user=seconded, agency=sso.agency, role="practitioner", acting_user=None)
    # When an account at an allowed domain sets its preferred_username to that address
    sso.op.next_login = NextLogin(
        sub="someone-else",
        email="mallory@northshire.police.uk",
        amr=["mfa"],
        extra={"preferred_username": "sean.kerr@cps.example"},
    )
    client = Client()
    response = base.round_trip(client)
    # Then nobody is linked or signed in
    assert response.status_code == 403
    assert not _signed_in(client)
    assert not ExternalIdentity.objects.exists()


# --- the discovery document and where Convene sends requests ---------------------------------------
def _refusal_reason() -> str:
    event = AuditEvent.objects.filter(op="sign_in_failed").order_by("-id").first()
    assert event is not None
    return str(event.detail["reason"])


def test_discovery_cannot_redirect_convene_to_an_internal_address(sso: Sso, settings: Any) -> None:
    # Given the issuer's discovery URL redirects to the cloud metadata service
    settings.CONVENE_OIDC_TIMEOUT_SECONDS = 2
    sso.op.discovery_redirect = "http://169.254.169.254/latest/meta-data/"
    # When someone starts signing in
    response = Client().get("/signin/sso/northshire-police/begin/")
    # Then Convene refuses to follow it, and says the sign-in is not set up correctly
    assert response.status_code == 400
    assert "not set up correctly" in response.content.decode()
    assert _refusal_reason() == "unsafe_destination"


@pytest.mark.parametrize(
    ("key", "elsewhere"),
    [
        ("token_endpoint", "http://localhost:{port}/token"),  # the client secret would go there
        ("jwks_uri", "http://localhost:{port}/jwks"),
        ("authorization_endpoint", "https://login.evil.example/authorize"),
        ("end_session_endpoint", "https://evil.example/logout"),  # where signing out sends people
    ],
)
def test_every_endpoint_must_be_at_the_issuers_origin(sso: Sso, key: str, elsewhere: str) -> None:
    port = urlsplit(sso.op.issuer).port
    sso.op.discovery_changes = {key: elsewhere.format(port=port)}
    client = Client()
    response = client.get("/signin/sso/northshire-police/begin/")
    assert response.status_code == 400
    assert _refusal_reason() == "endpoint_not_at_issuer"
    assert not sso.op.authorize_requests


def test_the_discovery_document_cannot_switch_off_pkce(sso: Sso) -> None:
    # Given a discovery document carrying a setting of Authlib's HTTP session
    sso.op.discovery_changes = {"code_challenge_method": "plain", "scope": "openid"}
    # Then Convene still asks for S256 and its own scopes
    query = parse_qs(urlsplit(base.to_provider(Client())).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["scope"] == [oidc.SCOPES]


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.7/realm",
        "https://192.168.1.1/",
        "https://169.254.169.254/",
        "https://[fd00::1]/",
        "https://[::ffff:10.0.0.7]/",
        "https://0.0.0.0/",
        "http://login.example.org/",  # not https
        "ftp://login.example.org/",
    ],
)
def test_no_request_goes_to_an_internal_or_plain_http_address(url: str, settings: Any) -> None:
    settings.CONVENE_OIDC_ALLOW_HTTP_LOOPBACK = False
    assert oidc.destination_problem(url) is not None


def test_public_https_addresses_are_fine_and_loopback_only_when_allowed(settings: Any) -> None:
    settings.CONVENE_OIDC_ALLOW_HTTP_LOOPBACK = False
    assert oidc.destination_problem("https://127.0.0.1/") is not None
    assert oidc.destination_problem("https://192.0.2.1/") is not None  # documentation range
    assert oidc.destination_problem("https://8.8.8.8/") is None
    settings.CONVENE_OIDC_ALLOW_HTTP_LOOPBACK = True
    assert oidc.destination_problem("http://127.0.0.1:8123/x") is None


@pytest.mark.parametrize(
    "issuer", ["https://10.0.0.7/realm", "https://169.254.169.254", "https://[::1]/", "https://localhost/"]
)
def test_an_issuer_at_an_internal_address_is_refused_naming_the_field(
    issuer: str, world: Any, settings: Any, tmp_path: Any
) -> None:
    settings.CONVENE_OIDC_ALLOW_HTTP_LOOPBACK = False
    settings.CONVENE_OIDC_SECRETS_DIR = tmp_path
    (tmp_path / "northshire-police").mkdir()
    (tmp_path / "northshire-police" / "client-secret").write_text("x")
    police = world.agencies["police"]
    values = dataclasses.asdict(base.settings_for(base.Provider("c", "s", set(), issuer=issuer)))
    with pytest.raises(DomainError) as raised:
        do_configure_identity_provider(
            agency=police, settings=ProviderSettings(**values), acting_user=world.police_admin, version=None
        )
    assert raised.value.field == "issuer"


# --- the ID token --------------------------------------------------------------------------------
def test_an_id_token_without_auth_time_is_refused(sso: Sso) -> None:
    # Given Convene asked for max_age, and the provider does not say when the person authenticated
    sso.op.next_login = NextLogin(sub="entra-oid-4711", email=base.EMAIL, amr=["mfa"], omit=("auth_time",))
    client = Client()
    response = base.round_trip(client)
    # Then the token is refused (a provider session of any age would otherwise pass as fresh)
    assert response.status_code == 400
    assert not _signed_in(client)
    event = AuditEvent.objects.get(op="sign_in_failed")
    assert event.detail["reason"] == "token_rejected" and event.detail["error"] == "MissingClaimError"


@pytest.mark.parametrize("verified", ["false", False, None, 0])
def test_an_email_the_provider_has_not_verified_is_refused(sso: Sso, verified: object) -> None:
    sso.op.next_login = NextLogin(
        sub="entra-oid-4711", email=base.EMAIL, amr=["mfa"], extra={"email_verified": verified}
    )
    client = Client()
    response = base.round_trip(client)
    assert response.status_code == 403
    assert not _signed_in(client)
    assert not ExternalIdentity.objects.exists()
    assert AuditEvent.objects.get(op="sign_in_failed").detail["reason"] == "email_not_verified"


def test_a_verified_email_or_none_said_is_accepted(sso: Sso) -> None:
    # held already
    sso.op.next_login = NextLogin(
        sub="entra-oid-4711", email=base.EMAIL, amr=["mfa"], extra={"email_verified": True}
    )
    assert base.round_trip(Client())["Location"] == "/"


# --- the secret file ------------------------------------------------------------------------------
def test_a_secret_file_name_with_a_nul_byte_is_refused_naming_the_field(sso: Sso, world: Any) -> None:
    with pytest.raises(DomainError) as raised:
        do_configure_identity_provider(
            agency=sso.agency,
            settings=base.settings_for(sso.op, client_secret_file="client\x00-secret"),
            acting_user=world.police_admin,
            version=sso.config.version,
        )
    assert raised.value.field == "client_secret_file"


def test_a_symlink_out_of_the_agencys_folder_is_not_a_secret_file(sso: Sso, world: Any) -> None:
    # held already
    root = Path(settings.CONVENE_OIDC_SECRETS_DIR)
    (root / "southshire-police").mkdir()
    (root / "southshire-police" / "client-secret").write_text("another agency's secret")
    (root / "northshire-police" / "borrowed").symlink_to(root / "southshire-police" / "client-secret")
    with pytest.raises(DomainError) as raised:
        do_configure_identity_provider(
            agency=sso.agency,
            settings=base.settings_for(sso.op, client_secret_file="borrowed"),
            acting_user=world.police_admin,
            version=sso.config.version,
        )
    assert raised.value.field == "client_secret_file"


# --- changing the provider ----------------------------------------------------------------------
def test_a_new_issuer_cannot_sign_in_someone_by_the_old_issuers_subject(sso: Sso, world: Any) -> None:
    # Given Amber linked her account at the agency's provider, by its subject
    assert base.round_trip(Client())["Location"] == "/"
    # When the agency moves to another provider, where the same subject is someone else's account
    with running_provider(base.CLIENT_ID, base.CLIENT_SECRET, {base.CALLBACK}) as other:
        do_configure_identity_provider(
            agency=sso.agency,
            settings=base.settings_for(other),
            acting_user=world.police_admin,
            version=sso.config.version,
        )
        other.next_login = NextLogin(sub="entra-oid-4711", email="mallory@northshire.police.uk", amr=["mfa"])
        client = Client()
        response = client.get(base.at_provider(base.to_provider(client)))
    # Then that account is nobody in Convene, and the old links are gone (audited, with the count)
    assert response.status_code == 403
    assert not _signed_in(client)
    assert not ExternalIdentity.objects.exists()
    change = AuditEvent.objects.filter(op="membership", detail__change="identity_provider_changed").get()
    assert change.detail["identities_unlinked"] == 1 and "issuer" in change.detail["fields"]


# --- what a refusal tells ------------------------------------------------------------------------
def test_a_refused_first_link_tells_nothing_about_the_record_the_claim_names(sso: Sso, world: Any) -> None:
    # Given three addresses at the allowed domain: nobody's; a person already linked to another
    # provider account; and a person who also holds a role in another agency
    assert base.round_trip(Client())["Location"] == "/"  # Amber is linked to entra-oid-4711
    busy, _ = do_create_person(
        username="bea_busy",
        first_name="Bea",
        last_name="Busy",
        email="bea@northshire.police.uk",
        acting_user=None,
    )
    do_add_membership(user=busy, agency=sso.agency, role="practitioner", acting_user=None)
    do_add_membership(user=busy, agency=world.agencies["cps"], role="practitioner", acting_user=None)
    answers = []
    for sub, email in [
        ("acct-1", "nobody@northshire.police.uk"),
        ("acct-2", base.EMAIL),
        ("acct-3", "bea@northshire.police.uk"),
    ]:
        sso.op.next_login = NextLogin(sub=sub, email=email, amr=["mfa"])
        response = base.round_trip(Client())
        answers.append((response.status_code, response.context["refused"]))
    # Then the browser is told the same each time
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 403 and "not linked to anyone in Convene" in answers[0][1]
    # And the audit says which it was
    reasons = [e.detail["reason"] for e in AuditEvent.objects.filter(op="sign_in_failed").order_by("id")]
    assert reasons == ["unknown_person", "linked_to_another_account", "not_for_this_provider"]


# --- algorithm confusion, and the session ---------------------------------------------------------
@pytest.mark.parametrize("alg", ["none", "HS256"])
def test_an_unsigned_or_hmac_signed_id_token_is_refused(sso: Sso, alg: str) -> None:
    # held already
    # Given a token unsigned, or signed with HMAC keyed by the provider's public key (which anyone
    # can fetch), even where the discovery document offers those algorithms
    sso.op.discovery_changes = {"id_token_signing_alg_values_supported": ["RS256", "HS256", "none"]}
    sso.op.next_login = NextLogin(sub="entra-oid-4711", email=base.EMAIL, amr=["mfa"], alg=alg)
    client = Client()
    response = base.round_trip(client)
    assert response.status_code == 400
    assert not _signed_in(client)
    assert AuditEvent.objects.get(op="sign_in_failed").detail["reason"] == "token_rejected"


def test_a_provider_offering_only_symmetric_or_no_signatures_is_refused(sso: Sso) -> None:
    # held already
    sso.op.discovery_changes = {"id_token_signing_alg_values_supported": ["HS256", "none"]}
    response = Client().get("/signin/sso/northshire-police/begin/")
    assert response.status_code == 400
    assert AuditEvent.objects.get(op="sign_in_failed").detail["reason"] == "unsupported_signature"


def test_signing_in_through_the_provider_gives_a_new_session_key(sso: Sso) -> None:
    # held already
    client = Client()
    callback = base.at_provider(base.to_provider(client))
    before = client.session.session_key
    assert client.get(callback)["Location"] == "/"
    assert client.session.session_key != before
    assert _signed_in(client)


# --- sessions the provider began --------------------------------------------------------------------
@pytest.mark.parametrize(
    "change", [{"is_enabled": False}, {"issuer": "https://login.example.org/another-tenant/v2.0"}]
)
def test_turning_the_provider_off_or_moving_it_ends_the_sessions_it_began(
    sso: Sso, world: Any, change: dict[str, Any]
) -> None:
    # Given Amber signed in through the agency's provider, and a colleague signed in with a password
    client = Client()
    assert base.round_trip(client)["Location"] == "/"
    assert _signed_in(client)
    # When the agency admin turns the provider off, or points it at another issuer
    do_configure_identity_provider(
        agency=sso.agency,
        settings=base.settings_for(sso.op, **change),
        acting_user=world.police_admin,
        version=sso.config.version,
    )
    # Then her next request finds her signed out
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/signin/?expired=1"
    assert not _signed_in(client)


# --- the start page ---------------------------------------------------------------------------------
def test_finding_your_agency_by_email_never_puts_the_address_in_a_url(sso: Sso) -> None:
    client = Client(enforce_csrf_checks=True)
    page = client.get("/signin/sso/").content.decode()
    assert '<form method="post"' in page and "csrfmiddlewaretoken" in page
    # An address in the query string is not looked up (nothing sends one there)
    asked = client.get("/signin/sso/", {"email": "someone@northshire.police.uk"})
    assert asked.status_code == 200 and not asked.context.get("found")
    # And the form posts it, with the CSRF token
    assert client.post("/signin/sso/", {"email": "someone@northshire.police.uk"}).status_code == 403
    token = client.cookies["csrftoken"].value
    found = client.post(
        "/signin/sso/", {"email": "someone@northshire.police.uk", "csrfmiddlewaretoken": token}
    )
    assert found.status_code == 200 and found.context["found"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_admins_configuring_the_first_provider_at_once_get_one_provider_and_a_conflict(
    world: Any, settings: Any, tmp_path: Any
) -> None:
    import threading

    from django.db import connections

    from agencies.models import AgencyIdentityProvider

    # Given two admins of Northshire Police saving the agency's first provider at the same moment
    settings.CONVENE_OIDC_ALLOW_HTTP_LOOPBACK = False
    settings.CONVENE_OIDC_SECRETS_DIR = tmp_path
    (tmp_path / "northshire-police").mkdir()
    (tmp_path / "northshire-police" / "client-secret").write_text("x")
    police = world.agencies["police"]
    values = dataclasses.asdict(
        base.settings_for(base.Provider("c", "s", set(), issuer="https://login.example.org/northshire"))
    )
    barrier, outcomes = threading.Barrier(2), []

    def save() -> None:
        try:
            barrier.wait(timeout=10)
            do_configure_identity_provider(
                agency=police,
                settings=ProviderSettings(**values),
                acting_user=world.police_admin,
                version=None,
            )
            outcomes.append("saved")
        except DomainError as exc:
            outcomes.append(type(exc).__name__ + ":" + (exc.field or ""))
        except Exception as exc:  # noqa: BLE001 - what the race raised is the finding
            outcomes.append(type(exc).__name__)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=save) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # Then one provider is saved and the other admin is told to reload (the version), never a 500
    assert sorted(outcomes) == ["DomainError:version", "saved"], outcomes
    assert AgencyIdentityProvider.objects.filter(agency=police).count() == 1
