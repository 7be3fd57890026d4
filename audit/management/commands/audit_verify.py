"""Walk the audit hash chain and every signed checkpoint; exit non-zero naming the first bad sequence."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand
from tqdm import tqdm

from audit.models import AuditSeal
from audit.services import verify_chain


class Command(BaseCommand):
    help = (
        "Verify the audit log: every event against its hash chain, every checkpoint against its signature. "
        "Exit 0 when intact; 1 naming the first sequence number changed, deleted, inserted or reordered."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--no-progress", action="store_true", help="Do not draw a progress bar.")
        parser.add_argument("--chunk", type=int, default=20_000, help="Events fetched per query.")
        parser.add_argument(
            "--since-checkpoint",
            action="store_true",
            help="Check only events from the newest signed checkpoint an intact run covered (the nightly "
            "run; PostgreSQL). Every checkpoint's signature is still checked.",
        )

    def handle(
        self,
        *args: Any,
        no_progress: bool = False,
        chunk: int = 20_000,
        since_checkpoint: bool = False,
        **options: Any,
    ) -> None:
        total = AuditSeal.objects.count()
        bar = tqdm(total=total, unit="event", unit_scale=True, disable=no_progress, file=sys.stderr)
        try:
            result = verify_chain(progress=bar.update, chunk=chunk, since_checkpoint=since_checkpoint)
        finally:
            bar.close()
        if result.ok:
            self.stdout.write(
                self.style.SUCCESS(
                    f"{result.message} {result.verified} event(s) verified against {result.checkpoints} "
                    f"checkpoint(s); {result.unsealed} awaiting sealing."
                )
            )
            return
        self.stderr.write(f"TAMPERING DETECTED at sequence {result.first_bad_seq}: {result.message}")
        sys.exit(1)
