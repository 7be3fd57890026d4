"""The Redis channel layer across two processes (run with REDIS_URL; never skipped in CI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from meetings import services

from .helpers import schedule, start
from .test_consumers import open_socket

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

SEND = """
import django, json, sys
django.setup()
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
layer = get_channel_layer()
assert type(layer).__name__ == "RedisPubSubChannelLayer", type(layer)
async_to_sync(layer.group_send)(sys.argv[1], json.loads(sys.argv[2]))
print("sent", flush=True)
"""

LISTEN = """
import asyncio, django, json, sys
django.setup()
from channels.layers import get_channel_layer

async def main():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(sys.argv[1], channel)
    print("ready", flush=True)
    message = await asyncio.wait_for(layer.receive(channel), timeout=15)
    print(json.dumps(message), flush=True)
    await layer.group_discard(sys.argv[1], channel)

asyncio.run(main())
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    env["REDIS_URL"] = settings.REDIS_URL
    # django-stubs reads this project setting as Collection[str]; it is Channels' dict of layers
    layers = cast(dict[str, Any], settings.CHANNEL_LAYERS)
    env["CHANNELS_PREFIX"] = layers["default"]["CONFIG"]["prefix"]
    return env


async def test_event_sent_by_another_process_reaches_this_process_socket(world, signed_in):
    # given the probation practitioner's socket in this process, on the Redis layer
    assert "RedisPubSubChannelLayer" in settings.CHANNEL_LAYERS["default"]["BACKEND"]
    meeting = await sync_to_async(lambda: start(schedule(world)))()
    comm, ok, _ = await open_socket(signed_in, world.probation_practitioner, f"/ws/meetings/{meeting.pk}/")
    assert ok
    payload = {
        "type": "meeting.changed",
        "meeting_id": str(meeting.pk),
        "version": 99,
        "kind": "current_item",
    }
    # when a separate Python process group_sends to the meeting's group
    result = await sync_to_async(subprocess.run)(
        [sys.executable, "-c", SEND, f"meeting.{meeting.pk}", json.dumps(payload)],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # then this process's socket receives it
    assert await comm.receive_json_from(timeout=5) == payload
    await comm.disconnect()


def test_event_sent_by_this_process_reaches_another_process(world):
    # given another process listening on the meeting's group through Redis
    meeting = start(schedule(world))
    item = meeting.items.get()
    listener = subprocess.Popen(
        [sys.executable, "-c", LISTEN, f"meeting.{meeting.pk}"],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert listener.stdout is not None and listener.stderr is not None  # both are pipes
    try:
        assert listener.stdout.readline().strip() == "ready", listener.stderr.read()[-2000:]
        # when the chair records minutes here (broadcast on commit)
        services.do_record_minutes(item=item, body="Minutes text", version=0, acting_user=world.police_chair)
        # then the other process receives the ids-only event
        line = listener.stdout.readline()
        message = json.loads(line)
        assert message["kind"] == "minutes" and message["item_id"] == str(item.pk)
        assert "Minutes text" not in line
    finally:
        listener.kill()
        listener.wait(timeout=10)
