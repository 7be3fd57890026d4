"""OpenID Connect sign-in per agency, built on Authlib (authorization code flow, PKCE S256, nonce).

Authlib checks the ID token's signature (from the provider's JWKS), ``iss`` (from discovery),
``aud`` (our client id), ``exp``/``iat`` and the ``nonce`` bound to the session. This module adds
what Convene decides: which person the token stands for, whether the provider's second factor is
accepted, and how long the session may last.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.integrations.django_client import DjangoOAuth2App, OAuth
from authlib.integrations.requests_client import OAuth2Session
from django.conf import settings

from sharing import policy

from .models import Membership, User
from .sso_models import AgencyIdentityProvider, ExternalIdentity, MfaPolicy

# Only asymmetric signatures: an HMAC-signed ID token would be keyed with our own client secret.
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
SCOPES = "openid email profile"


class SsoRefused(Exception):
    """A sign-in through the provider that Convene refuses. ``reason`` is a fixed code, never a value;
    ``shown`` is the code whose message the browser sees, where saying more would tell about
    someone's record (the audit keeps ``reason``)."""

    def __init__(self, reason: str, *, username: str = "", shown: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.username = username
        self.shown = shown or reason


# --- the second factor (pure) ------------------------------------------------------------------
def provider_second_factor_accepted(policy: str, accepted: Iterable[str], acr: object, amr: object) -> bool:
    """Whether the provider's own second factor counts for Convene, from the raw ``acr``/``amr``.

    Fails closed: an unknown policy, no accepted values, or claims of the wrong shape mean no,
    and the person is then asked for Convene's own code.
    """
    wanted = {value for value in accepted if isinstance(value, str) and value}
    if not wanted:
        return False
    if policy == MfaPolicy.AMR_CONTAINS:
        if not isinstance(amr, list):
            return False
        return any(isinstance(method, str) and method in wanted for method in amr)
    if policy == MfaPolicy.ACR_IN:
        return isinstance(acr, str) and acr in wanted
    return False


def audit_claims(claims: Mapping[str, Any]) -> dict[str, Any]:
    """The raw ``acr`` and ``amr`` for the audit record (short strings; never a token)."""
    acr = claims.get("acr")
    amr = claims.get("amr")
    return {
        "acr": acr[:100] if isinstance(acr, str) else None,
        "amr": [m[:40] for m in amr[:10] if isinstance(m, str)] if isinstance(amr, list) else None,
    }


def session_ends_at(claims: Mapping[str, Any], max_session_minutes: int, now: float) -> float:
    """The session ends no later than the ID token's ``exp`` nor ``max_session_minutes`` after the
    provider authenticated the person (``auth_time``, else the token's ``iat``, else now)."""
    started = claims.get("auth_time") or claims.get("iat") or now
    return min(float(claims["exp"]), float(started) + max_session_minutes * 60)


# --- configuration checks ---------------------------------------------------------------------
def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def _address_allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A provider lives at a public address; loopback only when tests and development allow it."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return bool(settings.CONVENE_OIDC_ALLOW_HTTP_LOOPBACK)
    return address.is_global and not address.is_multicast


def _literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def issuer_problem(issuer: str) -> str | None:
    """Why this issuer cannot be used, or None. https only (http to loopback in tests and dev),
    and never an internal address written as such (names are checked again at every fetch)."""
    try:
        parts = urlsplit(issuer)
        parts.port  # noqa: B018  # raises ValueError for a port that is not a number
    except ValueError:
        return "Enter the issuer as a full URL, such as https://login.example.org/realm."
    if not parts.hostname or parts.query or parts.fragment or parts.username or parts.password:
        return "Enter the issuer as a full URL without a query, such as https://login.example.org/realm."
    host = parts.hostname
    literal = _literal_address(host)
    internal = (literal is not None and not _address_allowed(literal)) or (
        host == "localhost" and not settings.CONVENE_OIDC_ALLOW_HTTP_LOOPBACK
    )
    if internal:
        return "The issuer must be the provider's public address, not an internal one."
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and settings.CONVENE_OIDC_ALLOW_HTTP_LOOPBACK and _is_loopback(host):
        return None
    return "The issuer must use https."


def destination_problem(url: str) -> str | None:
    """Why Convene must not send a request for a provider to this URL, or None.

    The issuer is typed by an agency admin and the other endpoints come from its discovery
    document, so every request (and every redirect it follows) is checked where it goes: https to
    public addresses only; http only to loopback, and only where CONVENE_OIDC_ALLOW_HTTP_LOOPBACK
    (tests, development). A name that does not resolve is left for the request itself to fail.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "malformed"
    host = parts.hostname
    if not host:
        return "no_host"
    if parts.scheme == "http":
        if not (settings.CONVENE_OIDC_ALLOW_HTTP_LOOPBACK and _is_loopback(host)):
            return "not_https"
    elif parts.scheme != "https":
        return "not_https"
    literal = _literal_address(host)
    if literal is not None:
        addresses = {literal}
    else:
        try:
            infos = socket.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            return None
        addresses = {ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos}
    if not addresses or not all(_address_allowed(address) for address in addresses):
        return "internal_address"
    return None


class GuardedSession(OAuth2Session):
    """Authlib's HTTP session, refusing to send anything to a destination that is not a provider's
    (destination_problem). ``send`` sees the first request and every redirect requests follows."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if destination_problem(str(request.url or "")) is not None:
            raise SsoRefused("unsafe_destination")
        response: requests.Response = super().send(request, **kwargs)
        return response


class GuardedApp(DjangoOAuth2App):
    client_cls = GuardedSession


class GuardedOAuth(OAuth):
    oauth2_client_cls = GuardedApp


def secret_path(agency_slug: str, name: str) -> Path | None:
    """The client-secret file ``name`` of this agency: only inside its own folder of
    CONVENE_OIDC_SECRETS_DIR, so that no admin can point their provider at another agency's
    secret (or at any other file on the server) and have Convene send it to an issuer they run."""
    try:
        base = (Path(settings.CONVENE_OIDC_SECRETS_DIR) / agency_slug).resolve()
        candidate = (base / name).resolve()
    except (OSError, ValueError):  # a NUL byte, a symlink loop: no such file, not a server error
        return None
    if not agency_slug or not candidate.is_relative_to(base) or candidate == base:
        return None
    return candidate


def secret_file_problem(agency_slug: str, name: str) -> str | None:
    path = secret_path(agency_slug, name)
    if path is None:
        return (
            f"Name a file inside this agency's secrets folder ({agency_slug}/ in CONVENE_OIDC_SECRETS_DIR)."
        )
    try:
        readable = path.is_file() and bool(path.read_text(encoding="utf-8").strip())
    except (OSError, UnicodeDecodeError):
        readable = False
    if not readable:
        return "There is no readable, non-empty secret file with that name in this agency's secrets folder."
    return None


def read_client_secret(provider: AgencyIdentityProvider) -> str:
    """The client secret, read when needed; a missing or unreadable file refuses the sign-in."""
    path = secret_path(provider.agency.slug, provider.client_secret_file)
    if path is None:
        raise SsoRefused("secret_unavailable")
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise SsoRefused("secret_unavailable") from exc
    if not secret:
        raise SsoRefused("secret_unavailable")
    return secret


# --- the Authlib client --------------------------------------------------------------------------
def client_for(provider: AgencyIdentityProvider) -> DjangoOAuth2App:
    """A client for this agency's provider, built from the current configuration."""
    oauth = GuardedOAuth()
    client: DjangoOAuth2App = oauth.register(
        name=f"agency{provider.agency_id}",
        client_id=provider.client_id,
        client_secret=read_client_secret(provider),
        server_metadata_url=provider.metadata_url,
        client_kwargs={
            "scope": SCOPES,
            "code_challenge_method": "S256",
            "default_timeout": settings.CONVENE_OIDC_TIMEOUT_SECONDS,
        },
    )
    return client


# What Convene reads from a discovery document. Authlib passes the whole document to its HTTP
# session as settings, so anything else in it (code_challenge_method, default_timeout, scope ...)
# would override Convene's own: PKCE could be switched off by the document.
METADATA_KEYS = frozenset(
    {
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "userinfo_endpoint",
        "end_session_endpoint",
        "id_token_signing_alg_values_supported",
        "response_types_supported",
        "subject_types_supported",
        "scopes_supported",
        "claims_supported",
        "code_challenge_methods_supported",
        "token_endpoint_auth_methods_supported",
        "_loaded_at",  # Authlib's own mark that the document was fetched
    }
)
# Where the browser or Convene is sent: only ever at the issuer's own origin.
ENDPOINT_KEYS = (
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "userinfo_endpoint",
    "end_session_endpoint",
)
REQUIRED_ENDPOINT_KEYS = ("authorization_endpoint", "token_endpoint", "jwks_uri")


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.password:
        return None
    return parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


def load_metadata(client: DjangoOAuth2App, provider: AgencyIdentityProvider) -> dict[str, Any]:
    """The discovery document, checked: it must name our issuer exactly, every endpoint must be at
    the issuer's origin, only the keys Convene reads are kept, and ID tokens are only accepted with
    asymmetric signatures."""
    metadata: dict[str, Any] = client.load_server_metadata()
    if metadata.get("issuer") != provider.issuer:
        raise SsoRefused("issuer_mismatch")
    for key in [k for k in metadata if k not in METADATA_KEYS]:
        del metadata[key]  # in place: it is the client's own copy, which Authlib reads later
    origin = _origin(provider.issuer)
    for key in ENDPOINT_KEYS:
        value = metadata.get(key)
        if value is None and key not in REQUIRED_ENDPOINT_KEYS:
            continue
        if not isinstance(value, str) or origin is None or _origin(value) != origin:
            raise SsoRefused("endpoint_not_at_issuer")
    offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    allowed = [alg for alg in offered if alg in SIGNING_ALGORITHMS]
    if not allowed:
        raise SsoRefused("unsupported_signature")
    metadata["id_token_signing_alg_values_supported"] = allowed
    return metadata


def claims_options(provider: AgencyIdentityProvider) -> dict[str, dict[str, Any]]:
    """What the ID token must carry. Authlib's default checks ``iss`` but, when the token names an
    ``azp``, not that ``aud`` holds our client id; Convene requires both, and a subject. Convene
    always sends ``max_age``, so the token must say when the person authenticated (``auth_time``,
    OpenID Connect Core 3.1.2.1): without it a provider session begun days ago would pass for a
    fresh one, and the session limit would run from when the token was issued instead."""
    return {
        "iss": {"essential": True, "values": [provider.issuer]},
        "aud": {"essential": True, "values": [provider.client_id]},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "auth_time": {"essential": True},
    }


# --- which person -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Resolved:
    user: User
    identity: ExternalIdentity | None  # None: the link is made now, at this first sign-in


def _in_allowed_domain(provider: AgencyIdentityProvider, value: object) -> bool:
    if not isinstance(value, str) or "@" not in value:
        return False
    domain = value.rsplit("@", 1)[1].strip().lower()
    return domain in {d.lower() for d in provider.allowed_email_domains}


def _email_domain_allowed(provider: AgencyIdentityProvider, claims: Mapping[str, Any]) -> bool:
    return _in_allowed_domain(provider, claims.get("email"))


def _email_unverified(claims: Mapping[str, Any]) -> bool:
    """The provider says the email is not verified: anything but true, when it says at all (some
    providers send the string "false", which is truthy)."""
    return "email_verified" in claims and claims["email_verified"] is not True


def _member_ids(provider: AgencyIdentityProvider) -> Any:
    return Membership.objects.active().filter(agency_id=provider.agency_id).values("user_id")


def resolve_person(provider: AgencyIdentityProvider, claims: Mapping[str, Any]) -> Resolved:
    """The person these verified claims stand for: someone an agency admin added to this agency.

    A provider account is linked by its ``sub`` at the first sign-in, to the one active member
    whose email matches the configured claim (itself at an allowed domain); nobody is ever created
    here. Whether this agency's provider may speak for that person at all is the policy's answer
    (sharing.policy.provider_may_sign_in), at every sign-in.
    """
    subject = claims.get("sub")
    value = claims.get(provider.person_claim)
    claimed = value.strip().lower() if isinstance(value, str) else ""
    shown = claimed[:150]  # for the audit and lockout only; the whole value is what must match
    if not isinstance(subject, str) or not subject:
        raise SsoRefused("no_subject", username=shown)
    if _email_unverified(claims):
        raise SsoRefused("email_not_verified", username=shown)
    if not _email_domain_allowed(provider, claims):
        raise SsoRefused("email_domain_not_allowed", username=shown)
    identity = (
        ExternalIdentity.objects.select_related("user").filter(provider=provider, subject=subject).first()
    )
    if identity is not None:
        user = identity.user
        if not User.objects.filter(pk=user.pk, is_active=True, pk__in=_member_ids(provider)).exists():
            raise SsoRefused("not_a_member", username=user.username)
        if not policy.provider_may_sign_in(user, provider.agency_id):
            raise SsoRefused("not_for_this_provider", username=user.username)
        return Resolved(user=user, identity=identity)
    if not claimed:
        raise SsoRefused("no_person_claim")
    if not _in_allowed_domain(provider, claimed):
        # The claim matched to a person's email must itself be at an allowed domain, whatever
        # the email claim says: otherwise any claim an account holder can set names anyone.
        raise SsoRefused("email_domain_not_allowed", username=shown)
    candidates = list(
        User.objects.filter(is_active=True, email__iexact=claimed, pk__in=_member_ids(provider))[:2]
    )
    # From here the claim names a record in Convene, which may not be the caller's own: whatever
    # stops the link, the browser is told the same as for nobody at all (the audit says which).
    if len(candidates) != 1:
        raise SsoRefused("unknown_person", username=shown)
    user = candidates[0]
    if not policy.provider_may_sign_in(user, provider.agency_id):
        raise SsoRefused("not_for_this_provider", username=user.username, shown="unknown_person")
    if ExternalIdentity.objects.filter(provider=provider, user=user).exists():
        # This person is already linked to another account at the provider: never re-link silently.
        raise SsoRefused("linked_to_another_account", username=user.username, shown="unknown_person")
    return Resolved(user=user, identity=None)
