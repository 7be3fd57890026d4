"""Issue an API token for a person; the token is printed once and only its hash is kept."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from agencies.models import User
from agencies.services import do_issue_token
from core.errors import DomainError


class Command(BaseCommand):
    help = "Issue an API token for USERNAME, valid for --days days (1–365, default 30). Printed once."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--days", type=int, default=30, help="How many days the token lasts (1–365).")
        parser.add_argument("--name", default="", help="A label for the token, e.g. the integration's name.")

    def handle(self, *args: Any, username: str, days: int, name: str, **options: Any) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"There is no account called {username!r}.")
        if not user.is_active:
            raise CommandError(f"{username} is deactivated: a token for them would never work.")
        try:
            token, raw = do_issue_token(user=user, days=days, name=name)
        except DomainError as exc:
            raise CommandError(f"--days: {exc.message}") from exc
        self.stdout.write(raw)
        self.stderr.write(
            f"Token {token.prefix} for {username}, valid until {token.expires_at:%Y-%m-%d %H:%M %Z}. "
            "It is shown only now: store it safely. Revoke it with: "
            f"python manage.py revoke_token {token.prefix}"
        )
