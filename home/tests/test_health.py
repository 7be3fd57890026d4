"""/healthz: the process is alive. /readyz: the database, key store and channel layer answer."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from home import views


@pytest.mark.django_db
def test_healthz_needs_no_sign_in() -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ready_when_everything_answers() -> None:
    response = Client().get("/readyz")
    assert response.status_code == 200 and response.json() == {"status": "ready"}


@pytest.mark.django_db
def test_readyz_names_a_failing_channel_layer(monkeypatch: Any) -> None:
    # Given a channel layer that cannot be reached
    class Broken:
        async def new_channel(self) -> str:
            raise ConnectionRefusedError("redis down")

    monkeypatch.setattr(views, "get_channel_layer", lambda: Broken())
    # When readiness is asked, then 503 names the channel layer (and only it)
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "failing": {"channel_layer": "ConnectionRefusedError"},
    }


@pytest.mark.django_db
def test_readyz_names_a_failing_database(monkeypatch: Any) -> None:
    # Given a key store database that errors
    real = views._check_database
    monkeypatch.setattr(
        views, "_check_database", lambda alias: "OperationalError" if alias == "keystore" else real(alias)
    )
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == {"keystore": "OperationalError"}


@pytest.mark.django_db
def test_readyz_on_a_real_database_error(monkeypatch: Any) -> None:
    from django.db import OperationalError, connections

    # Given the main database refusing queries
    class Cursor:
        def __enter__(self) -> Cursor:
            raise OperationalError("connection refused")

        def __exit__(self, *exc: Any) -> None:
            return None

    monkeypatch.setattr(connections["default"], "cursor", lambda: Cursor())
    monkeypatch.setattr(connections["default"], "close", lambda: None)
    failures = views._check_database("default")
    assert failures == "OperationalError"


@pytest.mark.django_db
def test_readyz_names_a_channel_layer_that_does_not_answer_in_time(monkeypatch: Any) -> None:
    import asyncio

    # Given a channel layer that accepts a message but never delivers it
    class Silent:
        async def new_channel(self) -> str:
            return "ready.ping"

        async def send(self, channel: str, message: dict) -> None:
            return None

        async def receive(self, channel: str) -> dict:
            await asyncio.sleep(60)
            return {}

    monkeypatch.setattr(views, "get_channel_layer", lambda: Silent())
    monkeypatch.setattr(views, "READY_TIMEOUT_SECONDS", 0.2)
    # Then readiness answers promptly with 503 naming the channel layer
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == {"channel_layer": "TimeoutError"}


@pytest.mark.redis
@pytest.mark.django_db
def test_readyz_round_trips_through_redis() -> None:
    # On the Redis channel layer (CI), the ping goes out and comes back within the time limit
    response = Client().get("/readyz")
    assert response.status_code == 200, response.content
