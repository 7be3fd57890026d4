"""Expire agreements whose end date has passed. Run daily (cron or the scheduler)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from sharing.services import do_expire_agreements


class Command(BaseCommand):
    help = "Mark active or suspended agreements past their end date as expired (audited)."

    def handle(self, *args: Any, **options: Any) -> None:
        expired = do_expire_agreements()
        for agreement in expired:
            self.stdout.write(f"expired {agreement.reference}")
        self.stdout.write(f"{len(expired)} agreement(s) expired.")
