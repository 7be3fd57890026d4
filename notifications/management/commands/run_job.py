"""Run one scheduled job now, in this process, by name (the same function the schedule runs)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from notifications.schedule import JOBS


class Command(BaseCommand):
    help = "Run one job of the schedule now: " + ", ".join(sorted(JOBS))

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("job", choices=sorted(JOBS))

    def handle(self, *args: Any, job: str, **options: Any) -> None:
        if job not in JOBS:
            raise CommandError(f"Unknown job {job}.")
        self.stdout.write(f"{job}: {JOBS[job].run()}")
