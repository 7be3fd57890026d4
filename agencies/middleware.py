"""Absolute session limit (the idle limit is SESSION_COOKIE_AGE with SESSION_SAVE_EVERY_REQUEST)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

SESSION_STARTED = "convene_started_at"
# A session begun at an agency's provider ends no later than this (its ID token, its max age).
SSO_UNTIL = "convene_sso_until"
# ... and only while that provider is still on, with the issuer it was begun at.
SSO_PROVIDER = "convene_sso_provider"
SSO_ISSUER = "convene_sso_issuer"


def _provider_still_trusted(session: SessionBase) -> bool:
    """A session begun at an agency's provider lasts only while the agency keeps that provider on
    with the same issuer: turning it off (say, when the provider is compromised) or moving to
    another one ends every session it began, at their next request."""
    provider_id = session.get(SSO_PROVIDER)
    if provider_id is None:
        return True
    from .sso_models import AgencyIdentityProvider

    return AgencyIdentityProvider.objects.filter(
        pk=provider_id, is_enabled=True, agency__is_active=True, issuer=session.get(SSO_ISSUER, "")
    ).exists()


class SessionPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            started = request.session.get(SESSION_STARTED)
            now = time.time()
            if started is None:
                request.session[SESSION_STARTED] = now
            elif (
                now - float(started) > settings.CONVENE_SESSION_ABSOLUTE_SECONDS
                or now >= float(request.session.get(SSO_UNTIL, now + 1))
                or not _provider_still_trusted(request.session)
            ):
                logout(request)
                if request.path.startswith("/api/"):
                    return self.get_response(request)
                return redirect("/signin/?expired=1")
        return self.get_response(request)


PUBLIC_PREFIXES = ("/signin/", "/static/", "/healthz", "/readyz", "/api/", "/favicon.ico")


class RequireVerifiedMiddleware:
    """Deny by default: every page needs a signed-in person who has passed the second factor.

    The API answers 401/403 itself (agencies.api); sign-in pages, static files and health checks
    are the only public paths.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path
        if path.startswith(PUBLIC_PREFIXES) or path == "/signout/":
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            from urllib.parse import quote

            return redirect(f"/signin/?next={quote(path)}")
        if not user.is_verified():
            from django_otp import user_has_device

            return redirect("/signin/verify/" if user_has_device(user) else "/signin/enrol/")
        return self.get_response(request)
