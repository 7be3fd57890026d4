"""Broadcasts to WebSocket groups, sent only after the transaction commits.

Payloads carry a type, ids and versions — never a field value (ARCHITECTURE-NOTES.md §4). Each
payload is round-tripped through JSON before it is queued, so a non-serialisable value fails in
tests rather than in production. A channel layer that is down loses the live nudge, never data:
pages re-fetch on reconnect.

Every event has a declared type here: a ``TypedDict`` naming its keys, and an entry in
``EVENT_TYPES`` naming the kinds of group it may be sent to (``user.<id>``, ``agency.<id>``,
``case.<uuid>``, ``meeting.<uuid>``, ``session.<digest>``). ``send_on_commit`` refuses anything
else, so a consumer that joins a kind of group can be checked (meetings/tests) to handle every type
that group may carry: Channels closes a socket that receives a type it has no handler for.

The types are checked statically too: ``send_on_commit`` takes an ``Event`` (the union of the
declared types), consumer handlers take their own type, and a socket's replies to its page are a
declared ``Reply``. This module is type-checked strictly (pyproject's overrides).
"""

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, NotRequired, TypeAlias, TypedDict, TypeVar, cast

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)


# --- the declared events ------------------------------------------------------------------------
class AuthzChanged(TypedDict):
    """Who may see what has changed: every receiving socket re-checks at once."""

    type: Literal["authz.changed"]
    case_id: NotRequired[str]


class SessionEnded(TypedDict):
    """This session was signed out: its sockets re-check and close (4401)."""

    type: Literal["session.ended"]


class CaseChanged(TypedDict):
    type: Literal["case.changed"]
    case_id: str
    version: int
    kind: str
    object_id: NotRequired[str]


class DisclosureRecorded(TypedDict):
    type: Literal["disclosure.recorded"]
    case_id: str


class BreakglassOpened(TypedDict):
    type: Literal["breakglass.opened"]
    case_id: str


class MeetingChanged(TypedDict):
    type: Literal["meeting.changed"]
    meeting_id: str
    version: int
    kind: str
    item_id: NotRequired[str]
    case_id: NotRequired[str]


class MeetingInvited(TypedDict):
    type: Literal["meeting.invited"]
    meeting_id: str


class ActionOverdue(TypedDict):
    type: Literal["action.overdue"]
    case_id: str
    object_id: str
    meeting_id: str | None
    version: int


# --- declared event types: notifications (issue 18) ----------------------------------------------
class NotificationNew(TypedDict):
    """A notice was made for this person, or they read one: no content and no count; open pages
    re-fetch their header badge (templates/notifications/_badge.html)."""

    type: Literal["notification.new"]


NOTIFICATION_NEW: Final = "notification.new"

# The three families, as the consumers (meetings/consumers.py) handle them: access changes that make
# a socket re-check, the meeting room's events, and the live feed's (case pages, dashboards, badges).
AuthzEvent: TypeAlias = AuthzChanged | SessionEnded
RoomEvent: TypeAlias = MeetingChanged
LiveEvent: TypeAlias = (
    CaseChanged | DisclosureRecorded | BreakglassOpened | MeetingInvited | ActionOverdue | NotificationNew
)
Event: TypeAlias = AuthzEvent | RoomEvent | LiveEvent
"""Any declared event: what ``send_on_commit`` accepts."""


# --- what a socket says to its own page (not sent to groups) ------------------------------------
class Subscribed(TypedDict):
    """The live feed accepted ``{"subscribe": case_id}``."""

    type: Literal["subscribed"]
    case_id: str


class Unsubscribed(TypedDict):
    """The live feed left the case: asked to, or the user may no longer see it."""

    type: Literal["unsubscribed"]
    case_id: str


class SubscribeRefused(TypedDict):
    """Missing or forbidden look the same; no case id when the one sent was not a UUID."""

    type: Literal["subscribe.refused"]
    case_id: NotRequired[str]


class UnsubscribeRefused(TypedDict):
    """``{"unsubscribe": …}`` with something that is not a UUID."""

    type: Literal["unsubscribe.refused"]


class RoomAccessChanged(TypedDict):
    """The room re-checked after an ``authz.changed`` and stays open: the page re-fetches."""

    type: Literal["authz.changed"]
    meeting_id: str


Reply: TypeAlias = Subscribed | Unsubscribed | SubscribeRefused | UnsubscribeRefused | RoomAccessChanged
ClientMessage: TypeAlias = Event | Reply
"""Everything a page's socket may receive: a declared event (cleaned) or a reply."""

E = TypeVar("E", bound=Event)


GROUP_KINDS: frozenset[str] = frozenset({"user", "agency", "case", "meeting", "session"})


@dataclass(frozen=True)
class EventType:
    """One declared event: its payload's shape and the kinds of group it is sent to."""

    payload: type  # a TypedDict class of Event (mypy has no type for "a TypedDict class")
    groups: frozenset[str]

    @property
    def name(self) -> str:
        return str(self.payload.__annotations__["type"].__args__[0])

    @property
    def required(self) -> frozenset[str]:
        # a TypedDict class has these at runtime; typeshed does not declare them on type[...]
        return frozenset(self.payload.__required_keys__)  # type: ignore[attr-defined]

    @property
    def keys(self) -> frozenset[str]:
        return self.required | frozenset(self.payload.__optional_keys__)  # type: ignore[attr-defined]


_DECLARED = (
    EventType(AuthzChanged, frozenset({"user", "agency", "case"})),
    EventType(SessionEnded, frozenset({"session"})),
    EventType(CaseChanged, frozenset({"case"})),
    EventType(DisclosureRecorded, frozenset({"case"})),
    EventType(BreakglassOpened, frozenset({"agency"})),
    EventType(MeetingChanged, frozenset({"meeting"})),
    EventType(MeetingInvited, frozenset({"user"})),
    EventType(ActionOverdue, frozenset({"user"})),
    EventType(NotificationNew, frozenset({"user"})),
)
EVENT_TYPES: dict[str, EventType] = {event.name: event for event in _DECLARED}
# Every key any event may carry: what a client may ever receive (consumers filter on it too).
ALLOWED_KEYS: frozenset[str] = frozenset().union(*(event.keys for event in _DECLARED))


def group_kind(group: str) -> str:
    """``case`` for ``case.<uuid>``: the kind of group a name belongs to."""
    return group.split(".", 1)[0]


def check_event(group: str, payload: Mapping[str, Any]) -> EventType:
    """The declared type of ``payload`` if it may go to ``group``; ValueError otherwise."""
    event = EVENT_TYPES.get(str(payload.get("type")))
    if event is None:
        raise ValueError(f"Undeclared event type {payload.get('type')!r}: declare it in core/events.py.")
    kind = group_kind(group)
    if kind not in event.groups:
        raise ValueError(f"A {event.name} event is not sent to {kind} groups.")
    unknown = set(payload) - event.keys
    if unknown:
        raise ValueError(f"Event payloads carry ids and versions only; unexpected keys: {sorted(unknown)}")
    missing = event.required - set(payload)
    if missing:
        raise ValueError(f"A {event.name} event needs {sorted(missing)}.")
    return event


def _send(group: str, payload: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, payload)
    except Exception as exc:  # noqa: BLE001 - live updates are best effort; data is already committed
        log.warning("live update to a %s group not sent: %s", group_kind(group), type(exc).__name__)


def cleaned(event: E) -> E:
    """What a client receives of ``event``: the declared id/version keys only (defence in depth,
    since a group message is only as well-formed as its sender)."""
    # the comprehension keeps a subset of the keys of a declared event, so it is still one
    return cast(E, {key: value for key, value in event.items() if key in ALLOWED_KEYS})


def send_on_commit(group: str, payload: Event) -> None:
    """Queue ``payload`` (a declared event, see above) for ``group`` once the transaction commits.

    The type lets mypy check the payload's keys where it is built; ``check_event`` checks it again
    at run time, with the kind of group it goes to.
    """
    check_event(group, payload)
    message = json.loads(json.dumps(dict(payload)))
    transaction.on_commit(lambda: _send(group, message))
