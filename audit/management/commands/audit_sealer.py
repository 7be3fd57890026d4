"""Long-running sealer: chain pending audit events every few seconds and sign a checkpoint periodically."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from audit.services import SigningKeyRetired, make_checkpoint, seal_pending

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Seal pending audit events every CONVENE_AUDIT_SEAL_INTERVAL_SECONDS and sign a checkpoint every "
        "CONVENE_AUDIT_CHECKPOINT_INTERVAL_SECONDS. Run exactly one per deployment (a second one waits)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Seal and checkpoint once, then exit.")
        parser.add_argument(
            "--heartbeat",
            help="A file touched after every successful round (a container health check reads its age).",
        )

    def handle(self, *args: Any, once: bool = False, heartbeat: str | None = None, **options: Any) -> None:
        seal_every = max(1, int(settings.CONVENE_AUDIT_SEAL_INTERVAL_SECONDS))
        checkpoint_every = max(seal_every, int(settings.CONVENE_AUDIT_CHECKPOINT_INTERVAL_SECONDS))
        if once:
            sealed = seal_pending()
            checkpoint = make_checkpoint()
            size = checkpoint.tree_size if checkpoint else 0
            self.stdout.write(f"Sealed {sealed} event(s); checkpoint at tree size {size}.")
            return
        next_checkpoint = time.monotonic() + checkpoint_every
        self.stdout.write(f"Sealing every {seal_every}s, checkpointing every {checkpoint_every}s.")
        while True:
            close_old_connections()
            try:
                sealed = seal_pending()
                if sealed:
                    log.info("Sealed %d audit event(s).", sealed)
                if time.monotonic() >= next_checkpoint:
                    next_checkpoint = time.monotonic() + checkpoint_every
                    try:
                        checkpoint = make_checkpoint()
                    except SigningKeyRetired as exc:  # rotated, new key not installed yet: keep sealing
                        log.warning("%s", exc)
                    else:
                        if checkpoint is not None:
                            log.info("Signed audit checkpoint at tree size %d.", checkpoint.tree_size)
                if heartbeat:
                    Path(heartbeat).touch()
            except Exception:  # keep sealing: a failed batch is rolled back whole and retried
                log.exception("Audit sealing failed; retrying.")
            time.sleep(seal_every)
