"""Typed requests for the pages and API views behind sign-in (Healthchecks' ``ApiRequest``).

``RequireVerifiedMiddleware`` lets no request reach a member page unless its user is signed in and
past the second factor, and the API's default permission (``agencies.api.IsVerifiedMember``) does
the same for every API view. Behind them ``request.user`` is a ``User``, never an
``AnonymousUser``: annotate such a page's request ``MemberRequest`` (a class-based API view's
``MemberApiRequest``) instead of re-checking. DRF's ``@api_view`` fixes its function's request type
to ``Request``; such a view takes its user with ``member(request)``. Sign-in pages and public paths
keep ``HttpRequest``.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from rest_framework.request import Request

from .models import User

__all__ = ["MemberApiRequest", "MemberRequest", "member"]


class MemberRequest(HttpRequest):
    """A page request past ``RequireVerifiedMiddleware``: a signed-in, verified person."""

    user: User


class MemberApiRequest(Request):
    """An API request past ``IsVerifiedMember`` (a session past the second factor, or a token)."""

    user: User


def member(request: HttpRequest | Request) -> User:
    """The signed-in person behind a request that sign-in let through."""
    user = request.user
    if not isinstance(user, User):  # not reached: the middleware and IsVerifiedMember refuse first
        raise PermissionDenied
    return user
