"""Who the user is: their active memberships, agencies and roles, cached on the user for the request."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, TypeAlias

from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef
from django.utils import timezone

from agencies.models import Agency, Membership, Role, User
from sharing.models import BreakGlass

# Whoever a rule is asked about: a signed-in person, or the anonymous user a request can arrive as
# (every rule answers "no" for them: they hold no membership).
Viewer: TypeAlias = User | AnonymousUser

CONTENT_ROLES = frozenset({Role.PRACTITIONER, Role.CHAIR})
_CACHE = "_convene_policy_cache"


def _cache(user: Viewer) -> dict[Any, Any]:
    cache = getattr(user, _CACHE, None)
    if cache is None:
        cache = {}
        setattr(user, _CACHE, cache)
    return cache


def _person_id(user: Viewer) -> int:
    """The id of a person the rules already found signed in and active (never the anonymous user's)."""
    if user.pk is None:
        raise ValueError("The anonymous user has no id.")
    return user.pk


def forget(user: Viewer) -> None:
    """Drop what this module cached on the user (after a change, or before a consumer re-check)."""
    if hasattr(user, _CACHE):
        delattr(user, _CACHE)


def memberships(user: Viewer) -> list[Membership]:
    """The user's active memberships, with their agencies (one query, cached for the request)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    cache = _cache(user)
    if "memberships" not in cache:
        glass = BreakGlass.objects.filter(user_id=OuterRef("user_id"), expires_at__gt=timezone.now())
        cache["memberships"] = list(
            Membership.objects.active()
            .filter(user=user)
            .select_related("agency")
            .annotate(holds_break_glass=Exists(glass))  # lets case lists skip the break-glass rule
        )
    result: list[Membership] = cache["memberships"]
    return result


def agency_ids(user: Viewer, roles: Iterable[str] | None = None) -> frozenset[int]:
    wanted = None if roles is None else set(roles)
    return frozenset(m.agency_id for m in memberships(user) if wanted is None or m.role in wanted)


def has_role(user: Viewer, role: str, agency: Agency | int | None = None) -> bool:
    agency_id = agency.pk if isinstance(agency, Agency) else agency
    return any(m.role == role and (agency_id is None or m.agency_id == agency_id) for m in memberships(user))


def primary_membership(user: Viewer, prefer_agency_id: int | None = None) -> Membership | None:
    """The membership a user acts under, for audit: one in the preferred agency if they hold it."""
    items = memberships(user)
    for membership in items:
        if prefer_agency_id is not None and membership.agency_id == prefer_agency_id:
            return membership
    return items[0] if items else None


def content_agencies(user: Viewer) -> frozenset[int]:
    """Agencies in which the user holds a role that sees case content (practitioner or chair)."""
    return agency_ids(user, CONTENT_ROLES)


def _content_memberships(user: Viewer) -> dict[int, Membership]:
    """Agency id → the membership that sees content there (a chair's wins over a practitioner's)."""
    mine: dict[int, Membership] = {}
    for membership in memberships(user):
        if membership.role not in CONTENT_ROLES:
            continue
        current = mine.get(membership.agency_id)
        if current is None or membership.role == Role.CHAIR:
            mine[membership.agency_id] = membership
    return mine


def is_operator(user: Viewer) -> bool:
    """Operators run the service itself: active superusers, signed in."""
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", False)
        and getattr(user, "is_superuser", False)
    )


def _is_uuid(value: object) -> bool:
    """Whether ``value`` reads as a UUID (a malformed id is answered like a missing one)."""
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
