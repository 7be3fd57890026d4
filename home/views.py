"""The site's own pages: the dashboard (what each role sees first) and the health endpoints."""

from __future__ import annotations

import asyncio
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.decorators import login_required
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from notifications.scheduler import problems

from .dashboard import dashboard_context


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is alive."""
    return JsonResponse({"status": "ok"})


def _check_database(alias: str) -> str | None:
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        connections[alias].close()
        return type(exc).__name__
    return None


READY_TIMEOUT_SECONDS = 3.0


async def _layer_round_trip(layer: Any) -> None:
    # One event loop for the whole round trip: the Redis pub/sub layer's subscriptions belong to the
    # loop that made them, so separate async_to_sync calls would wait for a message that never comes.
    async def round_trip() -> None:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "ping"})
        await layer.receive(channel)

    await asyncio.wait_for(round_trip(), timeout=READY_TIMEOUT_SECONDS)


def _check_channel_layer() -> str | None:
    layer = get_channel_layer()
    if layer is None:
        return "not configured"
    try:
        async_to_sync(_layer_round_trip)(layer)
    except Exception as exc:  # noqa: BLE001 - any failure (or no answer in time) means not ready
        return type(exc).__name__
    return None


@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    """The database, the key store and the channel layer are reachable; 503 naming what is not."""
    failures = {}
    for name, check in (
        ("database", lambda: _check_database("default")),
        ("keystore", lambda: _check_database("keystore")),
        ("channel_layer", _check_channel_layer),
    ):
        error = check()
        if error:
            failures[name] = error
    if failures:
        return JsonResponse({"status": "unavailable", "failing": failures}, status=503)
    body: dict[str, Any] = {"status": "ready"}
    jobs = _job_problems()
    if jobs:  # a failed or late scheduled job is reported, but does not take the node out of service
        body["detail"] = {"jobs": jobs}
    return JsonResponse(body)


def _job_problems() -> dict[str, str]:
    try:
        return problems()
    except Exception as exc:  # noqa: BLE001 - the job table unreadable is itself worth reporting
        return {"scheduler": type(exc).__name__}


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "home/dashboard.html", dashboard_context(request.user))


__all__ = ["dashboard", "healthz", "readyz"]
