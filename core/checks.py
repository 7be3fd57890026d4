from __future__ import annotations

from typing import Any

from django.core.checks import Error, Tags, register


@register(Tags.security)
def check_websocket_origins(app_configs: Any, **kwargs: Any) -> list[Error]:
    """The live sockets accept only the site's own origins: they must be named, each scheme://host[:port]."""
    from django.core.exceptions import ImproperlyConfigured

    from core.origins import site_origins

    try:
        origins = site_origins()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="convene.E020")]
    if not origins:
        return [
            Error(
                "No WebSocket origin is allowed, so no live update can reach a browser.",
                hint="Set CONVENE_ALLOWED_ORIGINS (or CSRF_TRUSTED_ORIGINS / ALLOWED_HOSTS).",
                id="convene.E020",
            )
        ]
    return []
