"""Mutations for single sign-on: an agency's provider settings, and what a sign-in through it links.

Each validates, writes and audits in one transaction. Permission checks are the caller's
(sharing.policy.can_configure_sso); the audit records name changed fields, never a value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, fields

from django.db import transaction
from django.utils import timezone

from audit.models import Op
from audit.services import record_event
from core.errors import DomainError, check_version

from . import oidc
from .models import Agency, User
from .sso_models import AgencyIdentityProvider, ExternalIdentity, MfaPolicy, ProviderAttestedDevice

CLAIM_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_:.-]{0,59}$")
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
MAX_SESSION_MINUTES = 24 * 60


@dataclass(frozen=True)
class ProviderSettings:
    is_enabled: bool
    issuer: str
    client_id: str
    client_secret_file: str
    allowed_email_domains: tuple[str, ...]
    person_claim: str
    mfa_policy: str
    mfa_values: tuple[str, ...]
    acr_values: str
    max_session_minutes: int


def _clean_list(values: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for value in values:
        item = value.strip()
        if item:
            seen.setdefault(item, None)
    return tuple(seen)


def check_provider_settings(agency: Agency, data: ProviderSettings) -> ProviderSettings:
    """Validate every field, naming the first one that is wrong; returns the normalised settings."""
    issuer = data.issuer.strip()
    problem = oidc.issuer_problem(issuer)
    if problem:
        raise DomainError(problem, field="issuer")
    client_id = data.client_id.strip()
    if not client_id or len(client_id) > 200:
        raise DomainError("Enter the client id the provider gave Convene.", field="client_id")
    secret_file = data.client_secret_file.strip()
    problem = (
        oidc.secret_file_problem(agency.slug, secret_file)
        if secret_file
        else "Name the file that holds the secret."
    )
    if problem:
        raise DomainError(problem, field="client_secret_file")
    domains = _clean_list(d.lower() for d in data.allowed_email_domains)
    if not domains:
        raise DomainError(
            "Enter at least one email domain, such as northshire.police.uk.", field="allowed_email_domains"
        )
    for domain in domains:
        if not DOMAIN.match(domain):
            raise DomainError(f"{domain[:80]!r} is not a domain name.", field="allowed_email_domains")
    claim = data.person_claim.strip()
    if not CLAIM_NAME.match(claim):
        raise DomainError("Enter a claim name such as email or preferred_username.", field="person_claim")
    if data.mfa_policy not in MfaPolicy.values:
        raise DomainError("Choose how the second factor is checked.", field="mfa_policy")
    mfa_values = _clean_list(data.mfa_values)
    if data.mfa_policy != MfaPolicy.CONVENE_TOTP and not mfa_values:
        raise DomainError(
            "Enter the amr or acr values that show the provider asked for MFA.", field="mfa_values"
        )
    if any(len(v) > 100 for v in mfa_values):
        raise DomainError("Each accepted value is at most 100 characters.", field="mfa_values")
    acr_values = data.acr_values.strip()
    if len(acr_values) > 200:
        raise DomainError("The requested acr values are at most 200 characters.", field="acr_values")
    if not 5 <= data.max_session_minutes <= MAX_SESSION_MINUTES:
        raise DomainError(
            f"Enter a session length from 5 to {MAX_SESSION_MINUTES} minutes.", field="max_session_minutes"
        )
    return ProviderSettings(
        is_enabled=bool(data.is_enabled),
        issuer=issuer,
        client_id=client_id,
        client_secret_file=secret_file,
        allowed_email_domains=domains,
        person_claim=claim,
        mfa_policy=data.mfa_policy,
        mfa_values=mfa_values,
        acr_values=acr_values,
        max_session_minutes=data.max_session_minutes,
    )


@transaction.atomic
def do_configure_identity_provider(
    *, agency: Agency, settings: ProviderSettings, acting_user: User, version: int | None
) -> AgencyIdentityProvider:
    """Create or change the agency's provider. ``version`` is None only when there is none yet."""
    clean = check_provider_settings(agency, settings)
    # the agency's row first: two admins saving its first provider at once queue here, and the second
    # then finds the first's provider (and is asked for its version) instead of hitting the unique index
    Agency.objects.select_for_update().filter(pk=agency.pk).first()
    provider = AgencyIdentityProvider.objects.select_for_update().filter(agency=agency).first()
    created = provider is None
    if provider is None:
        provider = AgencyIdentityProvider(agency=agency)
    else:
        check_version(provider.version, version, "single sign-on configuration")
    changed: list[str] = []
    for item in fields(clean):
        value = getattr(clean, item.name)
        if isinstance(value, tuple):
            value = list(value)
        if created or getattr(provider, item.name) != value:
            setattr(provider, item.name, value)
            changed.append(item.name)
    if not created and not changed:
        return provider
    if not created:
        provider.version += 1
    provider.save()
    detail: dict[str, object] = {
        "change": "identity_provider_created" if created else "identity_provider_changed",
        "fields": changed,
    }
    if not created and "issuer" in changed:
        # A subject is unique only within its issuer: the new issuer's "sub" of one person may be
        # another's at the old one. Everyone links again, by their email, at their next sign-in.
        unlinked, _ = ExternalIdentity.objects.filter(provider=provider).delete()
        detail["identities_unlinked"] = unlinked
    record_event(Op.MEMBERSHIP, actor=acting_user, agency=agency, obj=provider, detail=detail)
    return provider


@transaction.atomic
def do_link_sso_sign_in(
    *, provider: AgencyIdentityProvider, resolved: oidc.Resolved, subject: str, attested: bool
) -> ProviderAttestedDevice | None:
    """Record a sign-in through the provider: link the account at the first one, and return the
    provider's second factor as a device when it is accepted (None: Convene's own code is asked)."""
    user = resolved.user
    now = timezone.now()
    if resolved.identity is None:
        ExternalIdentity.objects.create(provider=provider, subject=subject, user=user, last_sign_in_at=now)
        record_event(
            Op.MEMBERSHIP,
            actor=user,
            agency=provider.agency,
            obj=provider,
            detail={"change": "identity_linked", "user_id": user.pk},
        )
    else:
        ExternalIdentity.objects.filter(pk=resolved.identity.pk).update(last_sign_in_at=now)
    if not attested:
        return None
    device, _ = ProviderAttestedDevice.objects.get_or_create(
        provider=provider, user=user, defaults={"name": f"{provider.agency.name} sign-in", "confirmed": True}
    )
    return device
