"""Live feeds over Channels: the meeting room and the general case/dashboard feed.

Notify-then-fetch (ARCHITECTURE-NOTES.md §4): events carry ids, versions and a kind only; pages
re-fetch through the permission-checked views. Every connect, subscription and forwarded event is
checked by ``sharing.policy``; ``authz.changed`` (share revoked, membership ended, agreement
suspended, agency excluded from an item, sign-out everywhere) re-checks at once and closes the
socket with 4403 or narrows its subscriptions. Group names are built here, never taken from the client.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from channels.db import aclose_old_connections, database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.utils.crypto import constant_time_compare

from core.events import ALLOWED_KEYS
from sharing import policy

FORBIDDEN = 4403
REVALIDATE_SECONDS = 60  # time-based expiry (a share or agreement reaching its end) sends no event
MEETING_WIDE_KINDS = frozenset({"current_item", "started", "signed_off", "attendance", "agenda", "scheduled"})


def session_is_current(session: Any) -> Any:
    """The signed-in user behind this session, if it is still valid and passed the second factor.

    OTPMiddleware only runs for HTTP, so the socket checks the session's OTP device itself: the
    device must exist, be confirmed and belong to the user. A password change or 'sign out
    everywhere' changes the session hash, which ends the socket as it ends the session.
    """
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.models import Device

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
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)
    device = Device.from_persistent_id(persistent_id) if persistent_id else None
    if device is None or device.user_id != user.pk or not device.confirmed:
        return None
    if not policy.memberships(user):
        return None
    return user


def _clean(event: dict[str, Any]) -> dict[str, Any]:
    """What a client receives: the allowed id/version keys only (defence in depth)."""
    return {k: v for k, v in event.items() if k in ALLOWED_KEYS}


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """Shared connect/verify/revoke logic: joins ``user.<id>`` and ``agency.<id>`` groups."""

    user: Any = None
    groups_joined: set[str]
    timer: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self.groups_joined = set()
        await aclose_old_connections()
        self.user = await database_sync_to_async(self._load_user)()
        if self.user is None or not await database_sync_to_async(self.authorise)():
            await self.close(code=FORBIDDEN)
            return
        agency_ids = await database_sync_to_async(lambda: sorted(policy.agency_ids(self.user)))()
        for group in [f"user.{self.user.pk}", *(f"agency.{a}" for a in agency_ids), *self.initial_groups()]:
            await self.join(group)
        await self.accept()
        self.timer = asyncio.ensure_future(self._revalidate_periodically())

    async def _revalidate_periodically(self) -> None:
        while True:
            await asyncio.sleep(REVALIDATE_SECONDS)
            if not await self.recheck():
                await self.forbid()
                return
            await self.revalidated()

    async def revalidated(self) -> None:
        """After a periodic re-check passed: narrow finer subscriptions (subclasses)."""

    async def forbid(self) -> None:
        self._stop_timer()
        await self.close(code=FORBIDDEN)

    def _stop_timer(self) -> None:
        if self.timer is not None and self.timer is not asyncio.current_task():
            self.timer.cancel()
        self.timer = None

    def _load_user(self) -> Any:
        session = self.scope.get("session")
        scoped = self.scope.get("user")
        user = session_is_current(session)
        if user is None or scoped is None or getattr(scoped, "pk", None) != user.pk:
            return None
        return user

    def authorise(self) -> bool:
        return True

    def initial_groups(self) -> list[str]:
        return []

    async def join(self, group: str) -> None:
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
        """Drop cached memberships and check the session and the subscription again."""
        await aclose_old_connections()

        def check() -> bool:
            if self.user is not None:
                policy.forget(self.user)
            user = session_is_current(self.scope.get("session"))
            if user is None or user.pk != self.user.pk:
                return False
            self.user = user
            return self.authorise()

        return await database_sync_to_async(check)()

    async def authz_changed(self, event: dict[str, Any]) -> None:
        if not await self.recheck():
            await self.forbid()
            return
        await self.narrow()

    async def narrow(self) -> None:
        """Re-check finer subscriptions after an access change (subclasses)."""

    async def action_overdue(self, event: dict[str, Any]) -> None:
        if await self.recheck():
            await self.send_json(_clean(event))
        else:
            await self.forbid()

    async def meeting_invited(self, event: dict[str, Any]) -> None:
        if await self.recheck():
            await self.send_json(_clean(event))

    async def breakglass_opened(self, event: dict[str, Any]) -> None:
        if await self.recheck():
            await self.send_json(_clean(event))


class MeetingConsumer(LiveConsumer):
    """``ws/meetings/<uuid>/``: the live room. Only the meeting's named attendees connect."""

    meeting: Any = None

    def authorise(self) -> bool:
        from .models import Meeting

        if self.meeting is None:
            pk = self.scope["url_route"]["kwargs"]["meeting_id"]
            self.meeting = Meeting.objects.filter(pk=pk).first()
            if self.meeting is None:
                return False
        return policy.can_view_meeting(self.user, self.meeting)

    def initial_groups(self) -> list[str]:
        return [f"meeting.{self.meeting.pk}"]

    def _may_receive(self, event: dict[str, Any]) -> bool:
        """Item events reach only attendees who see that item's content."""
        item_id = event.get("item_id")
        if not item_id or event.get("kind") in MEETING_WIDE_KINDS:
            return True
        from .models import AgendaItem

        item = AgendaItem.objects.filter(pk=item_id, meeting=self.meeting).select_related("case").first()
        if item is None:
            return event.get("kind") == "agenda"
        view = policy.agenda_item_view(self.user, self.meeting, item)
        return view is not None and view.sees_content

    async def meeting_changed(self, event: dict[str, Any]) -> None:
        if not await self.recheck():
            await self.forbid()
            return
        if await database_sync_to_async(self._may_receive)(event):
            await self.send_json(_clean(event))

    async def narrow(self) -> None:
        # Tell the page to re-fetch: an exclusion from the current item shows on the next fetch.
        await self.send_json({"type": "authz.changed", "meeting_id": str(self.meeting.pk)})

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """The room is receive-only: changes go through the permission-checked views."""


class LiveFeedConsumer(LiveConsumer):
    """``ws/live/``: case pages and dashboards subscribe to cases the policy lets them see.

    The client sends ``{"subscribe": "<case uuid>"}`` or ``{"unsubscribe": …}``; the reply says
    whether it was accepted. A refused case looks the same whether it is missing or forbidden.
    """

    cases: set[str]

    async def connect(self) -> None:
        self.cases = set()
        await super().connect()

    def _can_view(self, case_id: str) -> bool:
        from cases.models import Case

        case = Case.objects.filter(pk=case_id).first()
        return case is not None and policy.can_view_case(self.user, case)

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
                await self.send_json({"type": f"{verb}.refused"})
                return
            if verb == "unsubscribe":
                self.cases.discard(case_id)
                await self.leave(f"case.{case_id}")
                await self.send_json({"type": "unsubscribed", "case_id": case_id})
                return
            if not await self.recheck():
                await self.forbid()
                return
            if await database_sync_to_async(self._can_view)(case_id):
                self.cases.add(case_id)
                await self.join(f"case.{case_id}")
                await self.send_json({"type": "subscribed", "case_id": case_id})
            else:
                await self.send_json({"type": "subscribe.refused", "case_id": case_id})
            return

    async def revalidated(self) -> None:
        await self.narrow()

    async def narrow(self) -> None:
        for case_id in sorted(self.cases):
            if not await database_sync_to_async(self._can_view)(case_id):
                self.cases.discard(case_id)
                await self.leave(f"case.{case_id}")
                await self.send_json({"type": "unsubscribed", "case_id": case_id})

    async def case_changed(self, event: dict[str, Any]) -> None:
        case_id = str(event.get("case_id", ""))
        if case_id not in self.cases:
            return
        if not await self.recheck():
            await self.forbid()
            return
        if await database_sync_to_async(self._can_view)(case_id):
            await self.send_json(_clean(event))
        else:
            await self.narrow()
