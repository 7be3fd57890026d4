"""Revoke an API token by its prefix (the 8 characters after ``cvn_``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from agencies.models import ApiToken
from agencies.services import do_revoke_token
from core.errors import DomainError


class Command(BaseCommand):
    help = "Revoke the API token with this prefix (shown when it was issued, and in /api/v1/me/tokens/)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("prefix")

    def handle(self, *args: Any, prefix: str, **options: Any) -> None:
        prefix = prefix.removeprefix("cvn_").split("_")[0]
        token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
        if token is None:
            raise CommandError(f"There is no token with prefix {prefix!r}.")
        try:
            do_revoke_token(token=token)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Token {prefix} of {token.user.username} is revoked.")
