"""Changes to the keystore: rewrapping data keys under the newest master key, with its audit event.

Creating and destroying a data key belong to the records they protect (keystore.keyring's
``create_data_key`` in each record's service, and erasure in lifecycle); this module holds the
keystore's own mutation, key rotation, which ``manage.py rotate_keys`` runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from audit.models import Op
from audit.services import record_event
from core.errors import DomainError

from .crypto import DecryptionError, unwrap_dek, wrap_dek
from .keyring import current_master_key, ensure_canaries, master_key
from .models import DataKey
from .routers import KEYSTORE_DB


@dataclass(frozen=True)
class Rotation:
    """What a rotation did: counts only (never a key)."""

    kek_id: str
    rewrapped: int
    already_current: int
    failed: int


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


def do_rotate_keys(*, batch_size: int = 500, progress: bool = True) -> Rotation:
    """Rewrap every data key not under the newest master key, and record one KEY_ROTATION event.

    The rewrap is committed batch by batch in the keystore's database, each batch whole or not at
    all, so an interrupted rotation is resumed by running it again. The audit event (counts and
    the new master key's id; outcome "partial" when some keys could not be unwrapped) is written
    once the rewrap has run, so a rotation that fails part-way leaves no event saying it ran.
    """
    if batch_size < 1:
        raise DomainError("The batch size is at least 1.", field="batch_size")
    ensure_canaries()
    newest = current_master_key()
    counts = rewrap(batch_size=batch_size, progress=progress)
    record_event(
        Op.KEY_ROTATION,
        username="rotate_keys",
        object_type="keystore.DataKey",
        outcome="ok" if not counts["failed"] else "partial",
        detail={"kek_id": newest.key_id, **counts},
    )
    return Rotation(newest.key_id, counts["rewrapped"], counts["already_current"], counts["failed"])
