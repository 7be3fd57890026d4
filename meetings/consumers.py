"""Live feeds over Channels: the meeting room and the general case/dashboard feed.

Notify-then-fetch (ARCHITECTURE-NOTES.md §4): events carry ids, versions and a kind only; pages
re-fetch through the permission-checked views. Every connect, subscription and forwarded event is
checked by ``sharing.policy``; ``authz.changed`` (share revoked, membership ended, agreement
suspended, agency excluded from an item, sign-out everywhere) re-checks at once and closes the
socket with 4403 or narrows its subscriptions. Group names are built here, never taken from the client.

Verdicts (the room, ``MeetingConsumer``). Re-checking before each forwarded event must not mean a
dozen queries per event per socket (500 attendees, one decision: thousands of queries on one sync
thread). So the room keeps the policy's answers as *verdicts*: one for the socket (session, second
factor, memberships, named attendee: ``recheck``) and one per agenda item (``policy.agenda_item_view``
sees content or not). A verdict is used for an event only while it is current, that is until the
earliest of:

- ``VERDICT_SECONDS`` after it was computed — the periodic re-validation (every
  ``REVALIDATE_SECONDS``, jittered and staggered per socket) runs the full re-check and recomputes the
  item verdicts well before that, so steady-state events do not touch the database;
- any ``authz.changed`` event, which drops every verdict and re-checks at once (closes with 4403 or
  narrows, as before), and any room event that changes who sees what (``agenda``, ``attendance``,
  ``exclusion``), which drops them before the event is judged;
- an end the policy's answer already carries: a membership's ``valid_to``, a break-glass
  ``expires_at``, the session's end (idle or absolute limit, as last read from the session store);
  and a ``session.ended`` (this session signed out), which drops them and re-checks at once. Ends
  that would cost a query (a share's ``valid_to``, an agreement's ``ends_on``) are bounded by
  ``VERDICT_SECONDS``.

Sessions (``agencies.sessions``). Every check reads the session afresh from the store, never the
copy read at connect: signed out, idle or past the absolute limit, the socket closes with 4401
(``SIGNED_OUT``); access withdrawn while the session stands closes with 4403. Each socket joins its
session's group (a keyed digest of the session key), which ``do_sign_out`` tells; and a timer
re-checks at the moment the session would end, so a quiet socket closes on time too.

Every full re-check also brings the socket's ``agency.<id>`` groups in line with the user's
memberships, so an agency joined after connect delivers its ``authz.changed`` events here too.

An event arriving when the verdict has lapsed gets the full re-check first, exactly as before.
A re-check that started before an ``authz.changed`` never stores its (older) answer.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import datetime
from typing import Any, cast

from channels.db import aclose_old_connections, database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from agencies import sessions
from core.events import (
    ActionOverdue,
    AuthzChanged,
    BreakglassOpened,
    CaseChanged,
    ClientMessage,
    DisclosureRecorded,
    MeetingChanged,
    MeetingInvited,
    NotificationNew,
    SessionEnded,
    cleaned,
    group_kind,
)
from core.parsing import loads_json
from sharing import policy

FORBIDDEN = 4403  # access withdrawn (a share, a membership, an exclusion): "your access has changed"
SIGNED_OUT = 4401  # the session is over (signed out, idle or absolute limit, signed out everywhere)
SESSION_RECHECK_MARGIN = 0.05  # seconds after the session's end before the expiry timer re-checks
# Time-based expiry (a share or agreement reaching its end) sends no event: every socket re-checks in
# full about every REVALIDATE_SECONDS (±20 %, first run staggered), and a verdict lapses after
# VERDICT_SECONDS however the timer fares. Keep VERDICT_SECONDS above 1.2 × REVALIDATE_SECONDS.
REVALIDATE_SECONDS = 60.0
VERDICT_SECONDS = 90.0
MEETING_WIDE_KINDS = frozenset({"current_item", "started", "signed_off", "attendance", "agenda", "scheduled"})
# Room events after which who-sees-what may differ: the verdicts are dropped before judging them.
RESHAPING_KINDS = frozenset({"agenda", "attendance", "exclusion"})


def _clock() -> float:
    """Monotonic seconds for verdict lifetimes (tests move it forward)."""
    return time.monotonic()


def _seconds_until(moments: list[datetime | None]) -> float:
    """Seconds from now to the earliest of ``moments`` (datetimes, None ignored), at most VERDICT_SECONDS."""
    now = timezone.now()
    ends = [(m - now).total_seconds() for m in moments if m is not None]
    return max(0.0, min([VERDICT_SECONDS, *ends]))


def session_user(session: Any) -> Any:
    """The active user this session's values sign in, if its auth hash still matches theirs.

    A password change or 'sign out everywhere' changes the hash, which ends the socket as it ends
    the session.
    """
    from agencies.models import User

    if session is None:
        return None
    user_pk = session.get(SESSION_KEY)
    if user_pk is None:
        return None
    user = User.objects.filter(pk=user_pk, is_active=True).first()
    if user is None:
        return None
    if not constant_time_compare(session.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash()):
        return None
    return user


def session_is_current(session: Any) -> Any:
    """The signed-in user behind these session values, if still valid and past the second factor.

    ``session`` holds the values as stored now (``agencies.sessions.stored_session``), never the
    copy the socket read at connect. OTPMiddleware only runs for HTTP, so the socket checks the
    session's OTP device itself: the device must exist, be confirmed and belong to the user.
    """
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.models import Device

    user = session_user(session)
    if user is None:
        return None
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)
    device = Device.from_persistent_id(persistent_id) if persistent_id else None
    if device is None or device.user_id != user.pk or not device.confirmed:
        return None
    if not policy.memberships(user):
        return None
    return user


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """Shared connect/verify/revoke logic: joins ``user.<id>`` and ``agency.<id>`` groups.

    ``GROUP_KINDS`` names every kind of group the consumer joins (``join`` refuses any other): it
    must handle every event type ``core.events.EVENT_TYPES`` sends to those kinds (a test checks).
    """

    GROUP_KINDS: frozenset[str] = frozenset({"user", "agency", "session"})
    user: Any = None
    groups_joined: set[str]
    timer: asyncio.Task[None] | None = None
    expiry_timer: asyncio.Task[None] | None = None  # wakes when the session would end (idle or absolute)
    session_ends_at: datetime | None = None  # as the last check read it from the session store
    expiry_armed_for: datetime | None = None  # the session end the expiry timer waits for
    refusal: int = FORBIDDEN  # the close code the last failed check calls for
    generation: int = 0  # bumped by drop_verdicts(); a re-check begun under an older one stores nothing
    verdict_until: float = 0.0  # _clock() time until which the socket's last re-check holds

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        """A client's message, decoded as untrusted JSON: one nested too deep (or not JSON at all) is
        dropped as malformed (None), rather than raising inside the consumer and killing the socket."""
        try:
            return loads_json(text_data)
        except ValueError:
            return None

    async def tell(self, message: ClientMessage) -> None:
        """Send the page one declared message (core.events): a forwarded event or a reply."""
        await self.send_json(message)

    async def connect(self) -> None:
        self.groups_joined = set()
        await aclose_old_connections()
        answer = await database_sync_to_async(self._first_verdict)()
        if answer is None:
            await self.close(code=self.refusal)
            return
        lifetime, agency_ids = answer
        self.verdict_until = _clock() + lifetime
        session_key = self.scope["session"].session_key
        for group in [f"user.{self.user.pk}", sessions.socket_group(session_key), *self.initial_groups()]:
            await self.join(group)
        await self._follow_agencies(agency_ids)
        await self.accept()
        self.timer = asyncio.ensure_future(self._revalidate_periodically())
        self._arm_expiry()

    def _arm_expiry(self) -> None:
        """(Re)start the timer that re-checks the moment the session would end, however quiet the socket."""
        if self.session_ends_at is None:
            return
        current = asyncio.current_task()
        if self.expiry_timer is not None and self.expiry_timer is not current:
            if self.expiry_armed_for == self.session_ends_at and not self.expiry_timer.done():
                return  # already waiting for this very end
            self.expiry_timer.cancel()
        self.expiry_armed_for = self.session_ends_at
        delay = (self.session_ends_at - timezone.now()).total_seconds() + SESSION_RECHECK_MARGIN
        self.expiry_timer = asyncio.ensure_future(self._expire_at(max(delay, SESSION_RECHECK_MARGIN)))

    async def _expire_at(self, delay: float) -> None:
        await asyncio.sleep(delay)
        if not await self.recheck():  # a session HTTP use kept alive re-arms the timer instead
            await self.forbid()

    async def _revalidate_periodically(self) -> None:
        # The first run is staggered so that sockets opened together do not re-check together.
        delay = REVALIDATE_SECONDS * random.uniform(0.5, 1.0)  # noqa: S311 - spreading load, not a secret
        while True:
            await asyncio.sleep(delay)
            delay = REVALIDATE_SECONDS * random.uniform(0.8, 1.2)  # noqa: S311
            if not await self.recheck():
                await self.forbid()
                return
            await self.revalidated()

    async def revalidated(self) -> None:
        """After a periodic re-check passed: narrow finer subscriptions (subclasses)."""

    async def forbid(self) -> None:
        """Close the socket: 4401 if the session is over, 4403 if access was withdrawn."""
        self._stop_timer()
        await self.close(code=self.refusal)

    def _stop_timer(self) -> None:
        for timer in (self.timer, self.expiry_timer):
            if timer is not None and timer is not asyncio.current_task():
                timer.cancel()
        self.timer = None
        self.expiry_timer = None

    def _first_verdict(self) -> tuple[float, list[int]] | None:
        self.user = self._load_user()
        if self.user is None:
            return None
        self.refusal = FORBIDDEN
        if not self.authorise():
            return None
        return self._verdict_lifetime(), sorted(policy.agency_ids(self.user))

    def _verdict_lifetime(self) -> float:
        """How long the socket's verdict holds: VERDICT_SECONDS, or less if a membership or the session
        ends sooner."""
        ends = [m.valid_to for m in policy.memberships(self.user)]
        return _seconds_until([*ends, self.session_ends_at])

    def _current_user(self) -> Any:
        """The user behind the socket's session as stored now (None: the socket must close).

        Sets ``refusal``: 4401 when the session itself is over (signed out, past its idle or
        absolute limit, its hash no longer matching), 4403 when it stands but access does not.
        """
        self.refusal = SIGNED_OUT
        session = self.scope.get("session")
        stored = sessions.stored_session(getattr(session, "session_key", None))
        if stored is None:
            return None
        user = session_is_current(stored.data)
        if user is None:
            if session_user(stored.data) is not None:
                self.refusal = FORBIDDEN
            return None
        self.session_ends_at = stored.ends_at
        return user

    def _load_user(self) -> Any:
        scoped = self.scope.get("user")
        user = self._current_user()
        if user is None or scoped is None or getattr(scoped, "pk", None) != user.pk:
            return None
        return user

    def authorise(self) -> bool:
        return True

    def initial_groups(self) -> list[str]:
        return []

    async def join(self, group: str) -> None:
        if group_kind(group) not in self.GROUP_KINDS:
            raise ValueError(f"{type(self).__name__} does not join {group_kind(group)} groups.")
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.add(group)

    async def leave(self, group: str) -> None:
        await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined.discard(group)

    async def disconnect(self, code: int) -> None:
        self._stop_timer()
        for group in list(getattr(self, "groups_joined", ())):
            await self.leave(group)

    async def recheck(self) -> bool:
        """Drop cached memberships and check the session and the subscription again.

        On success the socket's verdict is renewed (see the module docstring), unless an
        ``authz.changed`` arrived while the check ran: its answer may predate the change.
        """
        await aclose_old_connections()
        generation = self.generation

        def check() -> tuple[float, list[int]] | None:
            if self.user is not None:
                policy.forget(self.user)
            user = self._current_user()
            if user is None or user.pk != self.user.pk:
                return None
            self.user = user
            self.refusal = FORBIDDEN
            if not self.authorise():
                return None
            return self._verdict_lifetime(), sorted(policy.agency_ids(user))

        answer = await database_sync_to_async(check)()
        if answer is None:
            self.verdict_until = 0.0
            return False
        lifetime, agency_ids = answer
        await self._follow_agencies(agency_ids)
        if generation == self.generation:
            self.verdict_until = _clock() + lifetime
        self._arm_expiry()
        return True

    async def _follow_agencies(self, agency_ids: list[int]) -> None:
        """Be in the ``agency.<id>`` groups of the agencies the user belongs to now: a membership
        gained after connect must bring that agency's ``authz.changed`` events to this socket too."""
        wanted = {f"agency.{a}" for a in agency_ids}
        held = {g for g in self.groups_joined if g.startswith("agency.")}
        for group in sorted(wanted - held):
            await self.join(group)
        for group in sorted(held - wanted):
            await self.leave(group)

    def verdict_is_current(self) -> bool:
        return _clock() < self.verdict_until

    def drop_verdicts(self) -> None:
        """Forget every verdict: the next event re-checks in full, and older re-checks store nothing."""
        self.generation += 1
        self.verdict_until = 0.0

    async def session_ended(self, event: SessionEnded) -> None:
        """This socket's session was signed out: re-check at once (and close with 4401)."""
        self.drop_verdicts()
        if not await self.recheck():
            await self.forbid()

    async def authz_changed(self, event: AuthzChanged) -> None:
        self.drop_verdicts()
        if not await self.recheck():
            await self.forbid()
            return
        await self.narrow()

    async def narrow(self) -> None:
        """Re-check finer subscriptions after an access change (subclasses)."""

    async def action_overdue(self, event: ActionOverdue) -> None:
        if await self.recheck():
            await self.tell(cleaned(event))
        else:
            await self.forbid()

    async def meeting_invited(self, event: MeetingInvited) -> None:
        if await self.recheck():
            await self.tell(cleaned(event))

    async def breakglass_opened(self, event: BreakglassOpened) -> None:
        if await self.recheck():
            await self.tell(cleaned(event))

    async def notification_new(self, event: NotificationNew) -> None:
        """A new notice for this person (no content): the page re-fetches its header badge."""
        if await self.recheck():
            await self.tell({"type": "notification.new"})


class MeetingConsumer(LiveConsumer):
    """``ws/meetings/<uuid>/``: the live room. Only the meeting's named attendees connect."""

    GROUP_KINDS = LiveConsumer.GROUP_KINDS | {"meeting"}

    meeting: Any = None
    item_verdicts: dict[str, tuple[bool, float]]  # item id → (sees content, _clock() time it holds until)

    async def connect(self) -> None:
        self.item_verdicts = {}
        await super().connect()

    def authorise(self) -> bool:
        if self.meeting is None:
            self.meeting = policy.visible_meeting(self.user, self.scope["url_route"]["kwargs"]["meeting_id"])
            return self.meeting is not None
        return policy.can_view_meeting(self.user, self.meeting)

    def initial_groups(self) -> list[str]:
        return [f"meeting.{self.meeting.pk}"]

    def _item_verdict(self, item_id: str) -> tuple[bool, float]:
        """Whether this attendee sees the item's content (``policy.agenda_item_view``), and for how long."""
        item = (
            self.meeting.items.filter(pk=item_id)
            .select_related("case")
            .prefetch_related("excluded_agencies")
            .first()
        )
        if item is None:
            return False, VERDICT_SECONDS
        view = policy.agenda_item_view(self.user, self.meeting, item)
        if view is None or not view.sees_content:
            return False, VERDICT_SECONDS
        access = view.access
        return True, _seconds_until([access.break_glass_expires_at if access is not None else None])

    async def _shaped(self, event: MeetingChanged) -> MeetingChanged | None:
        """What this attendee receives of a room event (``policy.room_event``); None: nothing.

        Item events reach only attendees who see that item's content; meeting-wide events about an
        item reach everyone, with its case id only for those who see the content.
        """
        item_id = event.get("item_id")
        if not item_id:
            return event
        sees = await self._sees_item(str(item_id))
        shaped = policy.room_event(
            dict(event), sees_content=sees, meeting_wide=event.get("kind") in MEETING_WIDE_KINDS
        )
        # room_event passes the event on whole or without its case id (a NotRequired key)
        return cast(MeetingChanged | None, shaped)

    async def _sees_item(self, key: str) -> bool:
        """Whether this attendee sees the item's content (a current verdict, or a fresh one).

        An item verdict never outlives the socket verdict it was computed under.
        """
        cached = self.item_verdicts.get(key)
        if cached is not None and _clock() < cached[1]:
            return cached[0]
        generation = self.generation
        verdict: tuple[bool, float] = await database_sync_to_async(self._item_verdict)(key)
        sees, lifetime = verdict
        if generation == self.generation:
            self.item_verdicts[key] = (sees, min(_clock() + lifetime, self.verdict_until))
        return sees

    def drop_verdicts(self) -> None:
        super().drop_verdicts()
        self.item_verdicts = {}

    async def revalidated(self) -> None:
        """After the periodic full re-check: recompute the item verdicts in hand, so they stay current."""
        generation = self.generation

        def recompute() -> dict[str, tuple[bool, float]]:
            return {key: self._item_verdict(key) for key in list(self.item_verdicts)}

        fresh = await database_sync_to_async(recompute)()
        if generation == self.generation:
            until = _clock()
            self.item_verdicts = {
                k: (sees, min(until + seconds, self.verdict_until)) for k, (sees, seconds) in fresh.items()
            }

    async def meeting_changed(self, event: MeetingChanged) -> None:
        if event.get("kind") in RESHAPING_KINDS:
            self.drop_verdicts()
        if not self.verdict_is_current() and not await self.recheck():
            await self.forbid()
            return
        shaped = await self._shaped(event)
        if shaped is not None:
            await self.tell(cleaned(shaped))

    async def narrow(self) -> None:
        # Tell the page to re-fetch: an exclusion from the current item shows on the next fetch.
        await self.tell({"type": "authz.changed", "meeting_id": str(self.meeting.pk)})

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """The room is receive-only: changes go through the permission-checked views."""


class LiveFeedConsumer(LiveConsumer):
    """``ws/live/``: case pages and dashboards subscribe to cases the policy lets them see.

    The client sends ``{"subscribe": "<case uuid>"}`` or ``{"unsubscribe": …}``; the reply says
    whether it was accepted. A refused case looks the same whether it is missing or forbidden.
    """

    GROUP_KINDS = LiveConsumer.GROUP_KINDS | {"case"}
    cases: set[str]

    async def connect(self) -> None:
        self.cases = set()
        await super().connect()

    def _can_view(self, case_id: str) -> bool:
        return policy.visible_case(self.user, case_id) is not None

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            return
        for verb in ("subscribe", "unsubscribe"):
            raw = content.get(verb)
            if raw is None:
                continue
            try:
                case_id = str(uuid.UUID(str(raw)))
            except ValueError:
                if verb == "subscribe":
                    await self.tell({"type": "subscribe.refused"})
                else:
                    await self.tell({"type": "unsubscribe.refused"})
                return
            if verb == "unsubscribe":
                self.cases.discard(case_id)
                await self.leave(f"case.{case_id}")
                await self.tell({"type": "unsubscribed", "case_id": case_id})
                return
            if not await self.recheck():
                await self.forbid()
                return
            if await database_sync_to_async(self._can_view)(case_id):
                self.cases.add(case_id)
                await self.join(f"case.{case_id}")
                await self.tell({"type": "subscribed", "case_id": case_id})
            else:
                await self.tell({"type": "subscribe.refused", "case_id": case_id})
            return

    async def revalidated(self) -> None:
        await self.narrow()

    async def narrow(self) -> None:
        for case_id in sorted(self.cases):
            if not await database_sync_to_async(self._can_view)(case_id):
                self.cases.discard(case_id)
                await self.leave(f"case.{case_id}")
                await self.tell({"type": "unsubscribed", "case_id": case_id})

    async def case_changed(self, event: CaseChanged) -> None:
        await self._forward_case_event(event)

    async def disclosure_recorded(self, event: DisclosureRecorded) -> None:
        await self._forward_case_event(event)

    async def _forward_case_event(self, event: CaseChanged | DisclosureRecorded) -> None:
        """A subscribed case's event reaches the socket only after a re-check that it may still see it."""
        case_id = str(event.get("case_id", ""))
        if case_id not in self.cases:
            return
        if not await self.recheck():
            await self.forbid()
            return
        if await database_sync_to_async(self._can_view)(case_id):
            await self.tell(cleaned(event))
        else:
            await self.narrow()
