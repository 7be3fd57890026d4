"""Seal pending audit events and sign a checkpoint of the chain head now."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from audit.services import make_checkpoint, public_key_b64


class Command(BaseCommand):
    help = "Seal pending audit events, sign a checkpoint (Ed25519) and write it to CONVENE_CHECKPOINT_DIR."

    def handle(self, *args: Any, **options: Any) -> None:
        checkpoint = make_checkpoint()
        if checkpoint is None:
            self.stdout.write("The audit chain is empty: nothing to checkpoint.")
            return
        path = settings.CONVENE_CHECKPOINT_DIR / f"checkpoint-{checkpoint.tree_size:012d}.note"
        self.stdout.write(checkpoint.note, ending="")
        self.stdout.write(
            self.style.SUCCESS(f"Checkpoint at tree size {checkpoint.tree_size} written to {path}")
        )
        self.stdout.write(f"Audit public key (for tools/verify_audit_export.py): {public_key_b64()}")
