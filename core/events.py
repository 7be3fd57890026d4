"""Broadcasts to WebSocket groups, sent only after the transaction commits.

Payloads carry a type, ids and versions — never a field value (ARCHITECTURE-NOTES.md §4). Each
payload is round-tripped through JSON before it is queued, so a non-serialisable value fails in
tests rather than in production. A channel layer that is down loses the live nudge, never data:
pages re-fetch on reconnect.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)
ALLOWED_KEYS = frozenset(
    {"type", "event", "case_id", "meeting_id", "item_id", "object_id", "version", "kind"}
)


def _send(group: str, payload: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, payload)
    except Exception as exc:  # noqa: BLE001 - live updates are best effort; data is already committed
        log.warning("live update to %s not sent: %s", group, type(exc).__name__)


def send_on_commit(group: str, payload: dict[str, Any]) -> None:
    unknown = set(payload) - ALLOWED_KEYS
    if unknown:
        raise ValueError(f"Event payloads carry ids and versions only; unexpected keys: {sorted(unknown)}")
    payload = json.loads(json.dumps(payload))
    transaction.on_commit(lambda: _send(group, payload))


# --- declared event types: notifications (issue 18) ------------------------------------------------
# Sent to ``user.<id>`` when a notice is made for the person or they read one; carries no content
# and no count: open pages re-fetch their header badge (notifications/_badge.html).
NOTIFICATION_NEW = "notification.new"
