"""Recompute every live case's retention review date (run nightly, and after changing rules)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from cases.models import Case
from lifecycle.services import do_recompute_retention


class Command(BaseCommand):
    help = "Recompute Case.retention_review_on for every case not erased, from the retention rules."

    def handle(self, *args: Any, **options: Any) -> None:
        changed = 0
        total = 0
        ids = (
            Case.objects.filter(erased_at__isnull=True)
            .order_by("pk")
            .values_list("pk", "retention_review_on")
        )
        for pk, before in ids.iterator(chunk_size=2000):
            total += 1
            if do_recompute_retention(Case(pk=pk)) != before:
                changed += 1
        self.stdout.write(f"Retention sweep: {total} cases checked, {changed} review dates changed.")
