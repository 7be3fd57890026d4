"""Ending a provider's session too when a person signs out (OpenID Connect RP-initiated logout).

Its own module because both sign-out (views.py) and single sign-on (sso_views.py, which writes the
session keys) need it, and sso_views already builds on views.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

from .middleware import SSO_PROVIDER
from .sso_models import AgencyIdentityProvider

SSO_END_SESSION = "convene_sso_end_session"


def provider_logout_url(request: HttpRequest) -> str | None:
    """Where to end the provider's session too (RP-initiated logout), for a session begun there.

    Read before the Convene session is flushed; None for a password sign-in or a provider that
    publishes no end_session_endpoint.
    """
    endpoint = request.session.get(SSO_END_SESSION) or ""
    provider_id = request.session.get(SSO_PROVIDER)
    if not endpoint or provider_id is None or urlsplit(endpoint).scheme not in ("https", "http"):
        return None
    provider = AgencyIdentityProvider.objects.filter(pk=provider_id).first()
    if provider is None:
        return None
    params = {
        "client_id": provider.client_id,
        "post_logout_redirect_uri": request.build_absolute_uri("/signin/?signedout=1"),
        "state": generate_token(20),
    }
    url: str = add_params_to_uri(endpoint, params)
    return url


def provider_logout_page(request: HttpRequest, url: str) -> HttpResponse:
    """Convene's session has ended; the browser goes on to the provider by a link (and a refresh)."""
    response = render(request, "agencies/sso_signed_out.html", {"logout_url": url})
    add_never_cache_headers(response)
    return response
