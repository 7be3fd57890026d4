"""Single sign-on pages: finding your organisation, the OpenID Connect round trip, the provider's
logout, and the agency admin's configuration page.

Redirects to a provider follow links, never form posts, because the pages' Content-Security-Policy
allows forms to submit to Convene only (form-action 'self').
"""

from __future__ import annotations

import time
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_ip_address
from axes.utils import reset as reset_failures
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.signals import user_login_failed
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_http_methods
from django_otp import login as otp_login
from django_otp import user_has_device
from joserfc.errors import JoseError

from audit.models import Op
from audit.services import record_event
from core.errors import ConflictError, DomainError
from core.parsing import posted
from sharing import policy

from . import oidc
from .middleware import SESSION_STARTED, SSO_ISSUER, SSO_PROVIDER, SSO_UNTIL
from .models import Agency
from .sso_forms import FindOrganisationForm, IdentityProviderForm
from .sso_logout import SSO_END_SESSION
from .sso_models import AgencyIdentityProvider
from .sso_services import do_configure_identity_provider, do_link_sso_sign_in
from .views import _safe_next, lockout_response

SSO_NEXT = "convene_sso_next"
LEEWAY_SECONDS = 60
BACKEND = "django.contrib.auth.backends.ModelBackend"
TOKEN_ERRORS = (AuthlibBaseError, JoseError, requests.RequestException, ValueError, KeyError, TypeError)

REFUSALS = {
    "token_rejected": "Your organisation's sign-in could not be confirmed. Start again from this page.",
    "no_id_token": "Your organisation's sign-in could not be confirmed. Start again from this page.",
    "issuer_mismatch": "Your organisation's sign-in is not set up correctly. Ask your agency admin.",
    "unsupported_signature": "Your organisation's sign-in is not set up correctly. Ask your agency admin.",
    "endpoint_not_at_issuer": "Your organisation's sign-in is not set up correctly. Ask your agency admin.",
    "unsafe_destination": "Your organisation's sign-in is not set up correctly. Ask your agency admin.",
    "secret_unavailable": "Your organisation's sign-in is not available at the moment. "
    "Ask your agency admin.",
    "provider_unreachable": "Your organisation's sign-in service could not be reached. Try again in a "
    "few minutes, or sign in with your username.",
    "no_subject": "Your organisation's sign-in did not say who you are. Ask your agency admin.",
    "no_person_claim": "Your organisation's sign-in did not say who you are. Ask your agency admin.",
    "email_domain_not_allowed": "Your organisation account's email domain is not accepted for this "
    "agency. Sign in with the account your agency gave you.",
    "email_not_verified": "Your organisation account's email address is not verified. Ask your agency admin.",
    "unknown_person": "Your organisation account is not linked to anyone in Convene. Ask your agency "
    "admin to add you.",
    "not_a_member": "You no longer hold a role in this agency. Ask your agency admin.",
    "linked_to_another_account": "Your Convene account is linked to a different organisation account. "
    "Ask your agency admin.",
    "not_for_this_provider": "You hold a role in more than one agency, or administer Convene, so "
    "sign in with your username and security code instead.",
    "session_expired": "Your organisation's sign-in has already expired. Start again from this page.",
}
PERSON_REFUSALS = frozenset(
    {"no_subject", "no_person_claim", "email_domain_not_allowed", "unknown_person", "not_a_member"}
    | {"linked_to_another_account", "not_for_this_provider", "email_not_verified"}
)


def _enabled_providers() -> list[AgencyIdentityProvider]:
    return list(
        AgencyIdentityProvider.objects.filter(is_enabled=True, agency__is_active=True)
        .select_related("agency")
        .order_by("agency__name")
    )


def _enabled_provider(slug: str) -> AgencyIdentityProvider:
    provider = (
        AgencyIdentityProvider.objects.filter(agency__slug=slug, is_enabled=True, agency__is_active=True)
        .select_related("agency")
        .first()
    )
    if provider is None:
        raise Http404("No such organisation sign-in.")
    return provider


def _start_page(request: HttpRequest, *, status: int = 200, **context: Any) -> HttpResponse:
    context.setdefault("providers", _enabled_providers())
    context.setdefault("form", FindOrganisationForm())
    return render(request, "agencies/sso_start.html", context, status=status)


@require_http_methods(["GET", "POST"])
def sso_start(request: HttpRequest) -> HttpResponse:
    """Choose your agency, or give your email address and Convene finds it by its domain.

    The address is posted, never put in a URL (where access logs, history and referrers keep it).
    """
    if request.method != "POST":
        return _start_page(request, next=_safe_next(request))
    form = FindOrganisationForm(request.POST)
    if not form.is_valid():
        return _start_page(request, form=form, status=400, next=_safe_next(request))
    domain = form.cleaned_data["email"].rsplit("@", 1)[1].lower()
    matches = [p for p in _enabled_providers() if domain in p.allowed_email_domains]
    if not matches:
        form.add_error(
            "email",
            "No agency signs in to Convene with that email domain. Choose your agency, or sign in "
            "with your username.",
        )
        return _start_page(request, form=form, status=400, next=_safe_next(request))
    return _start_page(request, form=form, providers=matches, found=True, next=_safe_next(request))


def _refused(
    request: HttpRequest,
    provider: AgencyIdentityProvider,
    reason: str,
    *,
    username: str = "",
    error: str = "",
    claims: dict[str, Any] | None = None,
    shown: str = "",
) -> HttpResponse:
    """Audit a refused sign-in (with the raw acr/amr, never a token) and say why, plainly.

    When the token named someone, the refusal counts towards the lockout like a wrong password.
    """
    detail: dict[str, Any] = {"stage": "oidc", "agency_id": provider.agency_id, "reason": reason}
    if error:
        detail["error"] = error
    if claims is not None:
        detail.update(oidc.audit_claims(claims))
    if username:
        request.convene_sign_in_detail = detail  # type: ignore[attr-defined]  # read by auth_events
        user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)
        if getattr(request, "axes_locked_out", False):
            return lockout_response(request, {"username": username})
    else:
        record_event(Op.SIGN_IN_FAILED, outcome="denied", detail=detail)
    status = 403 if reason in PERSON_REFUSALS else 503 if reason == "provider_unreachable" else 400
    message = REFUSALS.get(shown or reason, REFUSALS["token_rejected"])
    return _start_page(request, status=status, refused=message)


@require_GET
def sso_begin(request: HttpRequest, slug: str) -> HttpResponse:
    """Send the browser to the agency's provider: authorization code flow with PKCE (S256) and nonce."""
    provider = _enabled_provider(slug)
    try:
        client = oidc.client_for(provider)
        oidc.load_metadata(client, provider)
    except oidc.SsoRefused as exc:
        return _refused(request, provider, exc.reason)
    except TOKEN_ERRORS as exc:
        return _refused(request, provider, "provider_unreachable", error=type(exc).__name__)
    redirect_uri = request.build_absolute_uri(reverse("agencies:sso_callback", args=[provider.agency.slug]))
    extra: dict[str, Any] = {"max_age": provider.max_session_minutes * 60}
    if provider.acr_values:
        extra["acr_values"] = provider.acr_values
    request.session[SSO_NEXT] = _safe_next(request)
    response = client.authorize_redirect(request, redirect_uri, **extra)
    add_never_cache_headers(response)
    return response


@require_GET
def sso_callback(request: HttpRequest, slug: str) -> HttpResponse:
    """The provider sends the browser back here with a code; Convene checks the ID token and the person."""
    provider = _enabled_provider(slug)
    try:
        client = oidc.client_for(provider)
        metadata = oidc.load_metadata(client, provider)
        token = client.authorize_access_token(
            request, leeway=LEEWAY_SECONDS, claims_options=oidc.claims_options(provider)
        )
    except oidc.SsoRefused as exc:
        return _refused(request, provider, exc.reason)
    except requests.RequestException as exc:
        return _refused(request, provider, "provider_unreachable", error=type(exc).__name__)
    except TOKEN_ERRORS as exc:
        return _refused(request, provider, "token_rejected", error=type(exc).__name__)
    claims: dict[str, Any] = dict(token.get("userinfo") or {})
    if not claims:
        return _refused(request, provider, "no_id_token")
    try:
        resolved = oidc.resolve_person(provider, claims)
    except oidc.SsoRefused as exc:
        return _refused(request, provider, exc.reason, username=exc.username, claims=claims, shown=exc.shown)
    user = resolved.user
    if AxesProxyHandler.is_locked(request, {"username": user.get_username()}):
        record_event(
            Op.SIGN_IN_FAILED,
            username=user.get_username(),
            outcome="denied",
            detail={"stage": "oidc", "agency_id": provider.agency_id, "reason": "locked"},
        )
        return lockout_response(request, {"username": user.get_username()})
    now = time.time()
    until = oidc.session_ends_at(claims, provider.max_session_minutes, now)
    if until <= now:
        return _refused(request, provider, "session_expired", username=user.get_username(), claims=claims)
    attested = oidc.provider_second_factor_accepted(
        provider.mfa_policy, provider.mfa_values, claims.get("acr"), claims.get("amr")
    )
    device = do_link_sso_sign_in(
        provider=provider, resolved=resolved, subject=claims["sub"], attested=attested
    )
    target = request.session.pop(SSO_NEXT, "/")
    request.convene_sign_in_detail = {  # type: ignore[attr-defined]  # read by auth_events
        "stage": "oidc",
        "agency_id": provider.agency_id,
        "second_factor": "provider" if attested else "convene_totp",
        **oidc.audit_claims(claims),
    }
    login(request, user, backend=BACKEND)
    request.session[SSO_PROVIDER] = provider.pk
    request.session[SSO_ISSUER] = provider.issuer
    request.session[SSO_UNTIL] = until
    request.session[SSO_END_SESSION] = str(metadata.get("end_session_endpoint") or "")
    request.session[SESSION_STARTED] = now
    if device is None:
        request.session["convene_next"] = target
        return redirect("agencies:verify" if user_has_device(user) else "agencies:enrol")
    otp_login(request, device)
    reset_failures(ip=get_client_ip_address(request), username=user.get_username())
    return redirect(target)


# --- the agency admin's configuration page ------------------------------------------------------
def _configurable_agency(request: HttpRequest, slug: str) -> Agency:
    """The agency, if this person may configure its sign-in; otherwise it does not exist for them."""
    agency = Agency.objects.filter(slug=slug).first()
    if agency is None or not policy.can_configure_sso(request.user, agency):
        raise Http404("No such agency.")
    return agency


def _initial(provider: AgencyIdentityProvider | None) -> dict[str, Any]:
    if provider is None:
        return {"person_claim": "email", "max_session_minutes": 8 * 60, "mfa_policy": "convene_totp"}
    return {
        "is_enabled": provider.is_enabled,
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "client_secret_file": provider.client_secret_file,
        "allowed_email_domains": " ".join(provider.allowed_email_domains),
        "person_claim": provider.person_claim,
        "mfa_policy": provider.mfa_policy,
        "mfa_values": " ".join(provider.mfa_values),
        "acr_values": provider.acr_values,
        "max_session_minutes": provider.max_session_minutes,
        "version": provider.version,
    }


@require_http_methods(["GET", "POST"])
def sso_settings(request: HttpRequest, slug: str) -> HttpResponse:
    agency = _configurable_agency(request, slug)
    provider = AgencyIdentityProvider.objects.filter(agency=agency).first()
    form = IdentityProviderForm(posted(request), initial=_initial(provider))
    status = 200
    conflict = ""
    if request.method == "POST" and form.is_valid():
        try:
            do_configure_identity_provider(
                agency=agency,
                settings=form.to_settings(),
                acting_user=request.user,  # type: ignore[arg-type]  # RequireVerifiedMiddleware: signed in
                version=form.cleaned_data["version"],
            )
        except ConflictError as exc:
            conflict, status = exc.message, 409
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"Single sign-on for {agency} is saved.")
            return redirect("agencies:sso_settings", slug=agency.slug)
    if form.errors:
        status = 400
    callback = request.build_absolute_uri(reverse("agencies:sso_callback", args=[agency.slug]))
    context = {
        "agency": agency,
        "provider": provider,
        "form": form,
        "conflict": conflict,
        "callback_url": callback,
        "logout_url": request.build_absolute_uri("/signin/?signedout=1"),
    }
    return render(request, "agencies/sso_settings.html", context, status=status)
