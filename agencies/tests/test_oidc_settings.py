"""The agency admin's single sign-on page: who may use it (sharing.policy), and what it accepts."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser

from agencies.models import User
from agencies.sso_models import AgencyIdentityProvider
from audit.models import AuditEvent
from sharing import policy

URL = "/people/northshire-police/single-sign-on/"
SECRET = "the-client-secret-itself-7d1c"


@pytest.fixture
def secrets_dir(settings: Any, tmp_path: Any) -> Any:
    settings.CONVENE_OIDC_SECRETS_DIR = tmp_path
    (tmp_path / "northshire-police").mkdir()
    (tmp_path / "northshire-police" / "client-secret").write_text(SECRET)
    (tmp_path / "southshire-police").mkdir()
    (tmp_path / "southshire-police" / "client-secret").write_text("another agency's secret")
    return tmp_path


def form(**changes: Any) -> dict[str, Any]:
    data = {
        "is_enabled": "on",
        "issuer": "https://login.microsoftonline.com/3f2a0c1e-0000-4000-8000-000000000001/v2.0",
        "client_id": "7a1b2c3d-convene",
        "client_secret_file": "client-secret",
        "allowed_email_domains": "northshire.police.uk, Northshire.pnn.police.uk",
        "person_claim": "email",
        "mfa_policy": "amr_contains",
        "mfa_values": "mfa",
        "acr_values": "",
        "max_session_minutes": "480",
    }
    data.update(changes)
    return data


def test_an_agency_admin_sets_up_the_agencys_provider(world: Any, signed_in: Any, secrets_dir: Any) -> None:
    # Given Northshire Police's agency admin
    client = signed_in(world.police_admin)
    # When they open the page, it names the redirect URI to register at the provider
    page = client.get(URL)
    assert page.status_code == 200
    assert "http://testserver/signin/sso/northshire-police/callback/" in page.content.decode()
    # And when they save the provider's settings
    response = client.post(URL, form())
    # Then they are saved, with the secret's file name only, and audited by field name
    assert response.status_code == 302 and response["Location"] == URL
    provider = AgencyIdentityProvider.objects.get(agency=world.agencies["police"])
    assert provider.is_enabled and provider.client_secret_file == "client-secret"
    assert provider.allowed_email_domains == ["northshire.police.uk", "northshire.pnn.police.uk"]
    assert SECRET not in str(AgencyIdentityProvider.objects.values().get(pk=provider.pk))
    event = AuditEvent.objects.filter(object_type="agencies.AgencyIdentityProvider").get()
    assert event.detail["change"] == "identity_provider_created" and "issuer" in event.detail["fields"]
    assert SECRET not in client.get(URL).content.decode()
    # And a change later needs the version they saw
    response = client.post(URL, form(max_session_minutes="60", version=str(provider.version)))
    assert response.status_code == 302
    provider.refresh_from_db()
    assert provider.max_session_minutes == 60 and provider.version == 2
    stale = client.post(URL, form(max_session_minutes="90", version="1"))
    assert stale.status_code == 409
    provider.refresh_from_db()
    assert provider.max_session_minutes == 60


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"client_secret_file": "../../../etc/passwd"},
            "client_secret_file",
            "inside this agency's secrets folder",
        ),
        ({"client_secret_file": "../southshire-police/client-secret"}, "client_secret_file", "this agency's"),
        (
            {"client_secret_file": "/etc/hostname"},
            "client_secret_file",
            "inside this agency's secrets folder",
        ),
        ({"client_secret_file": "no-such-file"}, "client_secret_file", "no readable, non-empty secret"),
        ({"issuer": "http://idp.northshire.police.uk"}, "issuer", "must use https"),
        ({"issuer": "https://idp.example.org/?tenant=1"}, "issuer", "without a query"),
        ({"allowed_email_domains": "not a domain!"}, "allowed_email_domains", "is not a domain name"),
        ({"allowed_email_domains": " "}, "allowed_email_domains", "This field is required"),
        ({"mfa_values": ""}, "mfa_values", "amr or acr values"),
        ({"person_claim": "email address"}, "person_claim", "claim name"),
        ({"max_session_minutes": "2"}, "max_session_minutes", "from 5 to 1440"),
        ({"mfa_policy": "trust_everything"}, "mfa_policy", "valid choice"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(
    world: Any, signed_in: Any, secrets_dir: Any, changes: dict[str, str], field: str, message: str
) -> None:
    client = signed_in(world.police_admin)
    response = client.post(URL, form(**changes))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field]), errors
    assert not AgencyIdentityProvider.objects.exists()


def test_http_issuers_are_accepted_only_on_loopback_when_allowed(
    world: Any, signed_in: Any, secrets_dir: Any, settings: Any
) -> None:
    client = signed_in(world.police_admin)
    assert client.post(URL, form(issuer="http://127.0.0.1:9999")).status_code == 400
    settings.CONVENE_OIDC_ALLOW_HTTP_LOOPBACK = True
    assert client.post(URL, form(issuer="http://idp.example.org")).status_code == 400
    assert client.post(URL, form(issuer="http://127.0.0.1:9999")).status_code == 302


@pytest.mark.parametrize(
    "persona", ["outsider_admin", "police_practitioner", "police_chair", "probation_admin"]
)
def test_anyone_else_finds_no_such_page(world: Any, signed_in: Any, secrets_dir: Any, persona: str) -> None:
    client = signed_in(world.users[persona])
    missing = client.get("/people/no-such-agency/single-sign-on/")
    for response in (client.get(URL), client.post(URL, form())):
        assert response.status_code == 404
        assert response.content == missing.content
    assert not AgencyIdentityProvider.objects.exists()


def test_a_superuser_configures_any_agency_through_the_same_page(
    world: Any, signed_in: Any, secrets_dir: Any
) -> None:
    root = User.objects.create_superuser(username="root_ops", password="x" * 16, email="ops@example.org")
    client = signed_in(root)
    assert client.get(URL).status_code == 200
    assert client.post(URL, form()).status_code == 302
    assert AgencyIdentityProvider.objects.filter(agency=world.agencies["police"]).exists()


def test_the_policy_answers_who_may_configure_sign_in(world: Any) -> None:
    police = world.agencies["police"]
    assert policy.can_configure_sso(world.police_admin, police)
    assert policy.can_configure_sso(world.police_admin, police.pk)
    for persona in ("police_practitioner", "police_chair", "police_auditor", "police_dpo", "outsider_admin"):
        assert not policy.can_configure_sso(world.users[persona], police), persona
    assert not policy.can_configure_sso(AnonymousUser(), police)
    assert not policy.can_configure_sso(None, police)  # type: ignore[arg-type]  # no user at all, on purpose
    root = User.objects.create_superuser(username="root_ops", password="x" * 16)
    assert policy.can_configure_sso(root, police)
    User.objects.filter(pk=root.pk).update(is_active=False)
    root.refresh_from_db()
    assert not policy.can_configure_sso(root, police)
