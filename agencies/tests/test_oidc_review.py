"""Attacks on single sign-on found by the security review, each against the real test provider.

Every test here failed on the code as it was merged (07fbf67) and passes with its fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.test import Client

from agencies.models import ExternalIdentity
from agencies.services import do_add_membership, do_create_person
from agencies.sso_services import do_configure_identity_provider
from agencies.tests import test_oidc as base
from agencies.tests.oidc_provider import NextLogin
from audit.models import AuditEvent

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
