"""Sessions as a live socket sees them: read afresh from the session store, within both limits.

A socket holds its session for hours; HTTP reads the session on every request. So every re-check a
socket makes reads the session again (``stored_session``): a session signed out (its row deleted),
past its idle limit (the store's expiry, pushed on by every HTTP request) or past its absolute limit
(``CONVENE_SESSION_ABSOLUTE_SECONDS`` after the sign-in) is over for the socket as for HTTP.

Each socket also joins its session's group (``socket_group``), named by a keyed digest of the
session key, never the key itself: signing out tells that session's sockets, and no other's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import import_module
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import salted_hmac

SESSION_STARTED = "convene_started_at"  # time.time() of the first signed-in request (middleware)
# A session begun at an agency's provider ends no later than this time.time() (its ID token, its max age).
SSO_UNTIL = "convene_sso_until"


def _now() -> datetime:
    """The time sessions are judged at (tests move it forward)."""
    return timezone.now()


@dataclass(frozen=True)
class StoredSession:
    """A session's values as stored now, and when it ends unless HTTP use pushes its idle limit on."""

    data: dict[str, Any]
    ends_at: datetime


def socket_group(session_key: str) -> str:
    """The channel-layer group of one session's sockets (a keyed digest: the key never leaves here)."""
    digest = salted_hmac("convene.socket-session", session_key, algorithm="sha256").hexdigest()
    return f"session.{digest}"


def absolute_end(data: dict[str, Any]) -> datetime | None:
    """When the session reaches its absolute limit (None until the middleware has stamped its start)."""
    started = data.get(SESSION_STARTED)
    if started is None:
        return None
    try:
        moment = datetime.fromtimestamp(float(started), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return _now()  # a start that cannot be read: the session is over (fail closed)
    return moment + timedelta(seconds=settings.CONVENE_SESSION_ABSOLUTE_SECONDS)


def provider_end(data: dict[str, Any]) -> datetime | None:
    """When a session begun at an agency's provider must end (None for a password session)."""
    until = data.get(SSO_UNTIL)
    if until is None:
        return None
    try:
        return datetime.fromtimestamp(float(until), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return _now()  # fail closed


def stored_session(session_key: str | None) -> StoredSession | None:
    """The session as stored now; None if it is signed out, idle too long, or past its absolute limit."""
    if not session_key:
        return None
    now = _now()
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    model = getattr(store, "get_model_class", None)
    if model is not None:  # database-backed sessions: the row holds the idle expiry
        row = model().objects.filter(session_key=session_key, expire_date__gt=now).first()
        if row is None:
            return None
        data = store.decode(row.session_data)
        idle_end = row.expire_date
    else:
        data = store.load()
        idle_end = store.get_expiry_date()
    if not data:
        return None
    ends = [idle_end]
    absolute = absolute_end(data)
    if absolute is not None:
        ends.append(absolute)
    provider = provider_end(data)
    if provider is not None:
        ends.append(provider)
    ends_at = min(ends)
    if ends_at <= now:
        return None
    return StoredSession(data=data, ends_at=ends_at)
