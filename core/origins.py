"""The site's own origins, and the WebSocket guard that accepts only them (cross-site WebSocket hijacking).

A browser sends ``Origin`` with every WebSocket handshake; the session cookie goes along whatever page
opened the socket. So a socket is accepted only when its origin is exactly one of the site's own,
compared as scheme, host and port (``http://localhost:8000`` is not ``https://localhost`` nor
``http://localhost:8001``). Channels' ``AllowedHostsOriginValidator`` compares the host alone.

The origins come from ``CONVENE_ALLOWED_ORIGINS`` (``scheme://host[:port]`` each). Left empty, they
are ``CSRF_TRUSTED_ORIGINS`` plus ``https://`` on every literal name in ``ALLOWED_HOSTS``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

Origin = tuple[str, str, int]  # scheme, host, port
DEFAULT_PORTS = {"http": 80, "https": 443}


def parse_origin(value: str) -> Origin | None:
    """``(scheme, host, port)`` of an origin such as ``https://example.org``; None if it is not one."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None or parts.path not in ("", "/"):
        return None
    if parts.query or parts.fragment:
        return None
    return scheme, parts.hostname.lower(), port if port is not None else DEFAULT_PORTS[scheme]


def configured_origins() -> list[str]:
    """The origin strings the settings name (see the module docstring)."""
    explicit = list(getattr(settings, "CONVENE_ALLOWED_ORIGINS", []) or [])
    if explicit:
        return explicit
    derived = list(settings.CSRF_TRUSTED_ORIGINS)
    for host in settings.ALLOWED_HOSTS:
        if host and "*" not in host and not host.startswith("."):
            derived.append(f"https://{host}")
    return derived


def site_origins() -> frozenset[Origin]:
    """The site's own origins; ImproperlyConfigured if one is not ``scheme://host[:port]``."""
    origins = set()
    for value in configured_origins():
        if "*" in value:
            raise ImproperlyConfigured(f"CONVENE_ALLOWED_ORIGINS: no wildcards ({value!r}).")
        origin = parse_origin(value)
        if origin is None:
            raise ImproperlyConfigured(
                f"CONVENE_ALLOWED_ORIGINS: {value!r} is not an origin (scheme://host[:port])."
            )
        origins.add(origin)
    return frozenset(origins)


def origin_header(scope: dict[str, Any]) -> str | None:
    """The handshake's one ``Origin`` header (None when missing, repeated or not text)."""
    values = [value for name, value in scope.get("headers", []) if name.lower() == b"origin"]
    if len(values) != 1:
        return None
    try:
        return bytes(values[0]).decode("ascii")
    except UnicodeDecodeError:
        return None


class SiteOriginValidator:
    """ASGI middleware: a WebSocket whose ``Origin`` is not one of the site's own is refused."""

    def __init__(self, application: Any, origins: frozenset[Origin] | None = None) -> None:
        self.application = application
        self.origins = site_origins() if origins is None else origins

    def allows(self, scope: dict[str, Any]) -> bool:
        header = origin_header(scope)
        origin = parse_origin(header) if header is not None else None
        return origin is not None and origin in self.origins

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not self.allows(scope):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.application(scope, receive, send)
