"""API authentication and the base permission: signed in, second factor passed, active member."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, permissions

from sharing import policy


class VerifiedSessionAuthentication(authentication.SessionAuthentication):
    """The browser session, but only once the second factor has been passed."""

    def authenticate(self, request: Any) -> tuple[Any, None] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        if not user.is_verified():
            return None
        return result

    def authenticate_header(self, request: Any) -> str:
        return "Session"


class IsVerifiedMember(permissions.BasePermission):
    message = "Sign in with your second factor, as a current member of an agency."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        verified = getattr(user, "is_verified", None)
        if verified is None or not verified():
            return False
        return bool(policy.memberships(user))
