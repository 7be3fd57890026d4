"""WebSocket handshakes are accepted only from the site's own origins: scheme, host and port (issue 14)."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from core.origins import parse_origin, site_origins

from .test_consumers import asgi_application, open_socket


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "origin",
    [b"https://localhost", b"http://localhost:8001", b"https://localhost:80", b"ws://localhost", b"null"],
)
async def test_the_same_host_under_another_scheme_or_port_is_refused(
    world: Any, signed_in: Any, origin: bytes
) -> None:
    # given a signed-in person whose site is http://localhost (the test settings)
    # when a page on another origin of the same host opens the live feed with their cookie
    comm, ok, _ = await open_socket(signed_in, world.police_practitioner, "/ws/live/", origin=origin)
    # then the handshake is refused
    assert not ok


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("origin", [b"http://localhost", b"http://localhost:80", b"HTTP://LOCALHOST"])
async def test_the_sites_own_origin_is_accepted(world: Any, signed_in: Any, origin: bytes) -> None:
    comm, ok, _ = await open_socket(signed_in, world.police_practitioner, "/ws/live/", origin=origin)
    assert ok
    await comm.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_handshake_without_an_origin_is_refused(world: Any, signed_in: Any) -> None:
    application = await sync_to_async(asgi_application)()
    client = await sync_to_async(signed_in)(world.police_practitioner)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    comm = WebsocketCommunicator(
        application, "/ws/live/", headers=[(b"host", b"localhost"), (b"cookie", cookie.encode())]
    )
    connected, _ = await comm.connect(timeout=5)
    assert not connected


def test_origins_compare_scheme_host_and_port() -> None:
    assert parse_origin("http://localhost") == ("http", "localhost", 80)
    assert parse_origin("https://Example.org:443") == ("https", "example.org", 443)
    assert parse_origin("http://[::1]:8000") == ("http", "::1", 8000)
    for not_an_origin in (
        "localhost",
        "ftp://example.org",
        "https://example.org/path",
        "https://u@x.org",
        "",
    ):
        assert parse_origin(not_an_origin) is None, not_an_origin


@override_settings(
    CONVENE_ALLOWED_ORIGINS=[],
    CSRF_TRUSTED_ORIGINS=["https://convene.example.org"],
    ALLOWED_HOSTS=["convene.example.org", "10.0.0.5", ".example.org", "*"],
)
def test_without_a_list_the_origins_come_from_csrf_trusted_origins_and_allowed_hosts() -> None:
    assert site_origins() == {("https", "convene.example.org", 443), ("https", "10.0.0.5", 443)}


@override_settings(CONVENE_ALLOWED_ORIGINS=["http://127.0.0.1:8000", "http://localhost:8000"])
def test_a_configured_list_is_used_as_it_stands() -> None:
    assert site_origins() == {("http", "127.0.0.1", 8000), ("http", "localhost", 8000)}


@pytest.mark.parametrize("bad", ["localhost", "https://*.example.org", "https://example.org/app"])
def test_a_configured_entry_that_is_not_an_origin_stops_the_start(bad: str) -> None:
    with override_settings(CONVENE_ALLOWED_ORIGINS=[bad]), pytest.raises(ImproperlyConfigured):
        site_origins()


def test_the_system_check_names_a_misconfigured_or_empty_origin_list() -> None:
    from core.checks import check_websocket_origins

    assert check_websocket_origins(None) == []
    with override_settings(CONVENE_ALLOWED_ORIGINS=["localhost"]):
        assert [e.id for e in check_websocket_origins(None)] == ["convene.E020"]
    with override_settings(CONVENE_ALLOWED_ORIGINS=[], CSRF_TRUSTED_ORIGINS=[], ALLOWED_HOSTS=["*"]):
        assert [e.id for e in check_websocket_origins(None)] == ["convene.E020"]
