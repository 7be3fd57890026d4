"""Journey: sign in with your organisation's account through its OpenID provider, then sign out there.

The provider is the suite's own (agencies/tests/oidc_provider.py), served on 127.0.0.1 by this test
process; the e2e server fetches its discovery document, keys and tokens over HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from agencies.tests.oidc_provider import NextLogin, Provider, running_provider

pytestmark = pytest.mark.e2e

SLUG = "northshire-police"
CLIENT_ID = "convene-e2e"
CLIENT_SECRET = "e2e-client-secret-5f0a9c"
CONFIGURE = """
from agencies.models import Agency, User
from agencies.sso_models import AgencyIdentityProvider
from agencies.sso_services import ProviderSettings, do_configure_identity_provider
agency = Agency.objects.get(slug={slug!r})
current = AgencyIdentityProvider.objects.filter(agency=agency).first()
do_configure_identity_provider(
    agency=agency,
    settings=ProviderSettings(
        is_enabled=True, issuer={issuer!r}, client_id={client_id!r}, client_secret_file="client-secret",
        allowed_email_domains=("demo.convene.example",), person_claim="email", mfa_policy="amr_contains",
        mfa_values=("mfa",), acr_values="", max_session_minutes=60,
    ),
    acting_user=User.objects.get(username="police.admin"),
    version=current.version if current else None,
)
"""


@pytest.fixture
def provider(e2e_server: Any) -> Iterator[Provider]:
    callback = f"{e2e_server.base_url}/signin/sso/{SLUG}/callback/"
    secrets = e2e_server.var_dir / "oidc-secrets" / SLUG
    secrets.mkdir(parents=True, exist_ok=True)
    (secrets / "client-secret").write_text(CLIENT_SECRET)
    with running_provider(CLIENT_ID, CLIENT_SECRET, {callback}) as op:
        e2e_server.manage("shell", "-c", CONFIGURE.format(slug=SLUG, issuer=op.issuer, client_id=CLIENT_ID))
        yield op


def test_a_chair_signs_in_with_their_organisation_and_signs_out_there_too(
    page: Any, provider: Provider, visit: Any
) -> None:
    # given the police chair's force account, which reports a second factor (amr "mfa")
    provider.next_login = NextLogin(
        sub="force-oid-0001", email="police.chair@demo.convene.example", amr=["pwd", "mfa"]
    )
    page.goto("/signin/")
    # when they choose to sign in with their organisation, and their agency
    page.get_by_role("link", name="Sign in with your organisation").click()
    visit(page, "sso-01-choose-agency")
    page.get_by_role("link", name="Continue with Northshire Police").click()
    # then, back from the provider, they are on their dashboard without Convene's own code
    page.wait_for_url("**/")
    identity = page.locator("#acting-as")
    assert "Northshire Police" in identity.inner_text() and "Chair" in identity.inner_text()
    assert provider.authorize_requests[-1]["code_challenge_method"] == "S256"
    # when they sign out, Convene sends them on to the provider's logout, which sends them back
    page.get_by_role("button", name="Sign out").first.click()
    page.wait_for_url("**/signin/?signedout=1*")
    assert provider.logouts and provider.logouts[-1]["client_id"] == CLIENT_ID
    page.goto("/")
    assert "/signin/" in page.url
