"""``manage.py rotate_keys``: rewrap every data key under the newest master key.

Put the new master key at the FRONT of ``CONVENE_MASTER_KEYS`` (keep the old ones after it), then
run this command. In the embedded default (key file, no environment variable) ``--new-key-id ID``
prepends a freshly generated key to the key file first.

It works in batches, each committed on its own, and skips keys already under the newest master
key, so it is safe to interrupt and re-run. Once it reports no key left under an old master key,
the old key can be removed from the configuration. Values themselves are not re-encrypted: only
the small wrapped data keys change. The rewrap and its one KEY_ROTATION audit event (counts only)
are ``keystore.services.do_rotate_keys``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from keystore.crypto import new_master_key_spec, parse_master_keys
from keystore.keyring import master_keys, reset_for_tests
from keystore.services import do_rotate_keys


def key_file() -> Path:
    return Path(settings.CONVENE_KEY_DIR) / "master-keys"


def prepend_key_to_file(key_id: str) -> None:
    """Add a new master key at the front of the embedded key file (mode 0600, replaced atomically)."""
    if settings.CONVENE_MASTER_KEYS:
        raise CommandError(
            "Master keys come from CONVENE_MASTER_KEYS: put the new key at its front "
            '(e.g. generate one with `python -c "from keystore.crypto import new_master_key_spec as n; '
            "print(n('k2'))\"`), restart, then run rotate_keys without --new-key-id."
        )
    if not settings.CONVENE_CREATE_KEY_FILES:
        raise CommandError("No key file is in use; set CONVENE_MASTER_KEYS.")
    path = key_file()
    master_keys()  # creates the file on first run
    existing = path.read_text().strip()
    if key_id in {key.key_id for key in parse_master_keys(existing)}:
        raise CommandError(f"A master key with id {key_id!r} already exists.")
    spec = f"{new_master_key_spec(key_id)},{existing}"
    parse_master_keys(spec)
    tmp = path.with_name(path.name + ".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(spec + "\n")
    os.replace(tmp, path)
    reset_for_tests()  # drop the cached key list so the new key is used at once


class Command(BaseCommand):
    help = "Rewrap every data key under the newest master key (safe to interrupt and re-run)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--new-key-id", help="Embedded key file only: prepend a new master key with this id."
        )
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["new_key_id"]:
            prepend_key_to_file(options["new_key_id"])
        done = do_rotate_keys(batch_size=max(1, options["batch_size"]), progress=not options["no_progress"])
        self.stdout.write(
            f"Rewrapped {done.rewrapped} data keys under {done.kek_id}; "
            f"{done.already_current} were already current; {done.failed} could not be unwrapped."
        )
        if done.failed:
            raise CommandError(
                f"{done.failed} data keys could not be unwrapped: an old master key is missing. "
                "Keep every old key configured until this command reports none."
            )
