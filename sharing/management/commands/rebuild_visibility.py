"""Check or rebuild the case-list candidate rows (after a restore or a bulk load)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from sharing import visibility


class Command(BaseCommand):
    help = (
        "Write missing CaseVisibility rows (the index behind case lists) and correct drifted ones. "
        "With --check, change nothing and exit 1 if rows are missing."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--check", action="store_true", help="Report missing rows; write nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["check"]:
            missing = visibility.missing_pairs()
            if missing:
                raise CommandError(
                    f"{len(missing)}{'+' if len(missing) >= 100 else ''} case/agency pair(s) have no "
                    "candidate row: their cases are missing from case lists. "
                    "Run `python manage.py rebuild_visibility` to write them."
                )
            drifted = visibility.drifted_rows().count()
            if drifted:
                raise CommandError(
                    f"{drifted} candidate row(s) carry a created_at that is not their case's: those "
                    "cases are out of order in lists. Run `python manage.py rebuild_visibility`."
                )
            self.stdout.write("Every visible case has its candidate row, in step with the case.")
            return
        with transaction.atomic():
            added = visibility.rebuild()
        self.stdout.write(f"{added} candidate row(s) written or corrected.")
