"""``manage.py seed_large --size tiny|small|large``: the benchmark world (bench/seed.py)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection


class Command(BaseCommand):
    help = "Build a benchmark world in bulk (real encryption, sealed audit chain). Needs an empty database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--size", choices=["tiny", "small", "large"], default="tiny")
        parser.add_argument("--no-progress", action="store_true", help="No progress bars.")

    def handle(self, *args: Any, **options: Any) -> None:
        from bench.seed import run_seed

        size = options["size"]
        if size != "tiny" and connection.vendor != "postgresql":
            raise CommandError("The small and large worlds need PostgreSQL (set DATABASE_URL).")
        try:
            run_seed(size, progress=not options["no_progress"], echo=self.stdout.write)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
