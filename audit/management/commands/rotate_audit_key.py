"""Replace the audit signing key: a new key, registered, vouched for by a checkpoint both keys sign."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from audit.services import SigningKeyRetired, do_rotate_signing_key


class Command(BaseCommand):
    help = (
        "Make a new Ed25519 audit signing key, add its public half to the register (valid from now; the "
        "old key's validity ends now) and sign a checkpoint of the chain head with the old and the new key."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--new-key-file",
            help=(
                "Where to write the new private key (mode 0600, never overwritten). Required when "
                "CONVENE_AUDIT_SIGNING_KEY(_FILE) is set; install it there, then restart web and sealer."
            ),
        )

    def handle(self, *args: Any, new_key_file: str | None = None, **options: Any) -> None:
        try:
            rotation = do_rotate_signing_key(new_key_file=Path(new_key_file) if new_key_file else None)
        except (ValueError, SigningKeyRetired, FileExistsError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit signing key {rotation.old_key_id} retired; {rotation.new_key_id} signs from now. "
                f"Checkpoint at tree size {rotation.checkpoint.tree_size} signed by both."
            )
        )
        if settings.CONVENE_AUDIT_SIGNING_KEY:
            self.stdout.write(
                f"The new private key is in {rotation.key_path}. Put it where CONVENE_AUDIT_SIGNING_KEY_FILE "
                "points (the audit signing secret), restart the web and sealer services, then destroy this "
                "file and every copy of the old key. Until the restart, checkpoints wait (sealing goes on)."
            )
        else:
            self.stdout.write(f"The new private key replaced {rotation.key_path}.")
        self.stdout.write("Public keys: /.well-known/convene-audit-keys.json (also in every audit_export).")
