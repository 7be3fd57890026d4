from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.db import DatabaseError


@register(Tags.security, deploy=True)
def check_no_demo_accounts(app_configs: Any, **kwargs: Any) -> list[Error]:
    """Demo accounts have a published password: they must never exist in production."""
    if settings.CONVENE_ALLOW_DEMO_ACCOUNTS:
        return []
    from agencies.models import User

    try:
        count = User.objects.filter(is_demo=True, is_active=True).count()
    except DatabaseError:
        return []
    if count:
        return [
            Error(
                f"{count} demo account(s) can sign in, and their password is published in the README.",
                hint="Remove them: python manage.py seed_demo --remove",
                id="convene.E010",
            )
        ]
    return []


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
