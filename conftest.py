"""Project-wide pytest setup: every database test may use both databases (main and key store),
named personas, and clients signed in with both factors."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
REDIS = bool(os.environ.get("REDIS_URL"))


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    for item in items:
        marker = item.get_closest_marker("django_db")
        uses_db = {"db", "transactional_db", "django_db_reset_sequences"} & set(
            getattr(item, "fixturenames", ())
        )
        if marker is not None or uses_db:
            kwargs = dict(marker.kwargs) if marker is not None else {}
            if "transactional_db" in getattr(item, "fixturenames", ()):
                kwargs.setdefault("transaction", True)
            kwargs["databases"] = "__all__"
            item.add_marker(pytest.mark.django_db(**kwargs), append=False)
        if item.get_closest_marker("postgres") and not POSTGRES:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://…"))
        if item.get_closest_marker("redis") and not REDIS:
            item.add_marker(pytest.mark.skip(reason="needs Redis: set REDIS_URL=redis://…"))


@pytest.fixture(autouse=True)
def _fresh_policy_caches() -> Any:
    from keystore.keyring import dek_cache
    from sharing.policy import view_permission_id

    view_permission_id.cache_clear()
    yield
    dek_cache.clear()


@pytest.fixture
def world(db: Any) -> Any:
    from tests.world import build_world

    return build_world()


def _verify(client: Any, user: Any) -> Any:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    client.force_login(user)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def signed_in(client: Any) -> Callable[[Any], Any]:
    """signed_in(user) -> a Django test client signed in with password and second factor."""

    def make(user: Any) -> Any:
        from django.test import Client

        return _verify(Client(), user)

    return make


@pytest.fixture
def api(db: Any) -> Callable[[Any], Any]:
    """api(user) -> a DRF APIClient signed in with both factors."""

    def make(user: Any) -> Any:
        from rest_framework.test import APIClient

        return _verify(APIClient(), user)

    return make


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


def pytest_configure(config: Any) -> None:
    if os.environ.get("CONVENE_CI_STRICT") and not (POSTGRES and REDIS):
        raise pytest.UsageError(
            "CI runs the whole suite on PostgreSQL and Redis: set DATABASE_URL and REDIS_URL "
            "(no PostgreSQL- or Redis-only test may be skipped in CI)."
        )
