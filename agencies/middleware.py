"""Absolute session limit (the idle limit is SESSION_COOKIE_AGE with SESSION_SAVE_EVERY_REQUEST)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from .sessions import SESSION_STARTED, SSO_UNTIL

__all__ = ["SESSION_STARTED", "SSO_UNTIL", "RequireVerifiedMiddleware", "SessionPolicyMiddleware"]


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
            elif now - float(started) > settings.CONVENE_SESSION_ABSOLUTE_SECONDS or now >= float(
                request.session.get(SSO_UNTIL, now + 1)
            ):
                from .services import do_sign_out

                do_sign_out(request=request)
                if request.path.startswith("/api/"):
                    return self.get_response(request)
                return redirect("/signin/?expired=1")
        return self.get_response(request)


PUBLIC_PREFIXES = (
    "/signin/",
    "/static/",
    "/healthz",
    "/readyz",
    "/api/",
    "/favicon.ico",
    "/.well-known/convene-audit-keys.json",
)


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
