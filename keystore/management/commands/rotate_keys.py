"""``manage.py rotate_keys``: rewrap every data key under the newest master key.

Put the new master key at the FRONT of ``CONVENE_MASTER_KEYS`` (keep the old ones after it), then
run this command. In the embedded default (key file, no environment variable) ``--new-key-id ID``
prepends a freshly generated key to the key file first.

It works in batches, each committed on its own, and skips keys already under the newest master
key, so it is safe to interrupt and re-run. Once it reports no key left under an old master key,
the old key can be removed from the configuration. Values themselves are not re-encrypted: only
the small wrapped data keys change. It records one KEY_ROTATION audit event (counts only).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from audit.models import Op
from audit.services import record_event
from keystore.crypto import DecryptionError, new_master_key_spec, parse_master_keys, unwrap_dek, wrap_dek
from keystore.keyring import current_master_key, ensure_canaries, master_key, master_keys, reset_for_tests
from keystore.models import DataKey
from keystore.routers import KEYSTORE_DB


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


def rewrap(batch_size: int = 500, progress: bool = True) -> dict[str, int]:
    """Rewrap every live data key not under the newest master key. Returns counts."""
    newest = current_master_key()
    pending = (
        DataKey.objects.using(KEYSTORE_DB).filter(wrapped_dek__isnull=False).exclude(kek_id=newest.key_id)
    )
    total = pending.count()
    counts = {"rewrapped": 0, "failed": 0, "already_current": 0}
    counts["already_current"] = (
        DataKey.objects.using(KEYSTORE_DB).filter(wrapped_dek__isnull=False, kek_id=newest.key_id).count()
    )
    failed_ids: set[Any] = set()
    with tqdm(total=total, unit="key", desc=f"rewrapping under {newest.key_id}", disable=not progress) as bar:
        while True:
            batch = list(
                pending.exclude(id__in=failed_ids)
                .order_by("id")
                .values_list("id", "wrapped_dek", "kek_id")[:batch_size]
            )
            if not batch:
                break
            with transaction.atomic(using=KEYSTORE_DB):
                for dek_id, wrapped, kek_id in batch:
                    try:
                        dek = unwrap_dek(master_key(kek_id), bytes(wrapped or b""), dek_id)
                    except DecryptionError:
                        failed_ids.add(dek_id)
                        counts["failed"] += 1
                        continue
                    # only if nobody rewrapped (or destroyed) it meanwhile
                    counts["rewrapped"] += (
                        DataKey.objects.using(KEYSTORE_DB)
                        .filter(id=dek_id, kek_id=kek_id, wrapped_dek__isnull=False)
                        .update(
                            wrapped_dek=wrap_dek(newest, dek, dek_id),
                            kek_id=newest.key_id,
                            rewrapped_at=timezone.now(),
                        )
                    )
            bar.update(len(batch))
    return counts


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
        ensure_canaries()
        newest = current_master_key()
        counts = rewrap(batch_size=max(1, options["batch_size"]), progress=not options["no_progress"])
        record_event(
            Op.KEY_ROTATION,
            username="rotate_keys",
            object_type="keystore.DataKey",
            outcome="ok" if not counts["failed"] else "partial",
            detail={"kek_id": newest.key_id, **counts},
        )
        self.stdout.write(
            f"Rewrapped {counts['rewrapped']} data keys under {newest.key_id}; "
            f"{counts['already_current']} were already current; {counts['failed']} could not be unwrapped."
        )
        if counts["failed"]:
            raise CommandError(
                f"{counts['failed']} data keys could not be unwrapped: an old master key is missing. "
                "Keep every old key configured until this command reports none."
            )
