"""Tell owners and chairs about overdue actions (ids only over the live feed; audited)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand

from meetings.services import do_notify_overdue_actions


class Command(BaseCommand):
    help = "Send action.overdue events to each overdue action's owner and the chair who set it."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--today", type=date.fromisoformat, default=None, help="Override today (YYYY-MM-DD)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count = do_notify_overdue_actions(today=options["today"])
        self.stdout.write(f"{count} overdue action(s) notified.")
