"""System checks about the people who can sign in."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.db import DatabaseError

from .models import User


@register(Tags.security, deploy=True)
def check_no_demo_accounts(app_configs: Any, **kwargs: Any) -> list[Error]:
    """Demo accounts have a published password: they must never exist in production."""
    if settings.CONVENE_ALLOW_DEMO_ACCOUNTS:
        return []
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
