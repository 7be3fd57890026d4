"""Master keys, data keys and the in-process cache of unwrapped data keys.

Master keys come from ``CONVENE_MASTER_KEYS`` (newest first). In the embedded default only, a key
file is created on first run with mode 0600. Unwrapped data keys are cached in process for
``CONVENE_DEK_CACHE_SECONDS``; destroying a key evicts it at once.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import OrderedDict
from functools import lru_cache

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.keyfiles import read_or_create

from .crypto import (
    DecryptionError,
    KeyDestroyedError,
    MasterKey,
    MasterKeyError,
    derive_key,
    new_master_key_spec,
    parse_master_keys,
    unwrap_dek,
    wrap_dek,
)
from .routers import KEYSTORE_DB

CANARY = b"convene-master-key-canary"
_CACHE_MAX = 4096


@lru_cache(maxsize=1)
def master_keys() -> tuple[MasterKey, ...]:
    spec = settings.CONVENE_MASTER_KEYS
    if not spec:
        if not settings.CONVENE_CREATE_KEY_FILES:
            raise MasterKeyError(
                "No master key: set CONVENE_MASTER_KEYS (or CONVENE_MASTER_KEYS_FILE). "
                "Convene will not start without it."
            )
        spec = read_or_create(settings.CONVENE_KEY_DIR / "master-keys", lambda: new_master_key_spec("k1"))
    return tuple(parse_master_keys(spec))


def current_master_key() -> MasterKey:
    return master_keys()[0]


def master_key(key_id: str) -> MasterKey:
    for key in master_keys():
        if key.key_id == key_id:
            return key
    raise DecryptionError(f"Master key {key_id!r} is not configured; the data key cannot be unwrapped.")


@lru_cache(maxsize=1)
def index_root_key() -> bytes:
    spec = settings.CONVENE_INDEX_KEY
    if not spec:
        if not settings.CONVENE_CREATE_KEY_FILES:
            raise MasterKeyError("No blind-index key: set CONVENE_INDEX_KEY (or CONVENE_INDEX_KEY_FILE).")
        spec = read_or_create(settings.CONVENE_KEY_DIR / "index-key", lambda: os.urandom(32).hex())
    try:
        root = bytes.fromhex(spec)
    except ValueError as exc:
        raise MasterKeyError("CONVENE_INDEX_KEY must be 64 hexadecimal characters.") from exc
    if len(root) != 32:
        raise MasterKeyError("CONVENE_INDEX_KEY must be 64 hexadecimal characters.")
    return root


@lru_cache(maxsize=64)
def index_key(purpose: str) -> bytes:
    return derive_key(index_root_key(), f"blind-index|{purpose}")


class _DekCache:
    def __init__(self) -> None:
        self._items: OrderedDict[uuid.UUID, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, dek_id: uuid.UUID) -> bytes | None:
        with self._lock:
            item = self._items.get(dek_id)
            if item is None:
                return None
            if item[0] < time.monotonic():
                del self._items[dek_id]
                return None
            self._items.move_to_end(dek_id)
            return item[1]

    def put(self, dek_id: uuid.UUID, dek: bytes) -> None:
        with self._lock:
            self._items[dek_id] = (time.monotonic() + settings.CONVENE_DEK_CACHE_SECONDS, dek)
            self._items.move_to_end(dek_id)
            while len(self._items) > _CACHE_MAX:
                self._items.popitem(last=False)

    def evict(self, dek_id: uuid.UUID) -> None:
        with self._lock:
            self._items.pop(dek_id, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


dek_cache = _DekCache()


def create_data_key(scope: str) -> uuid.UUID:
    """Make and store a new wrapped data key; return its id."""
    from .models import DataKey

    kek = current_master_key()
    dek_id = uuid.uuid4()
    dek = os.urandom(32)
    DataKey.objects.using(KEYSTORE_DB).create(
        id=dek_id, scope=scope, wrapped_dek=wrap_dek(kek, dek, dek_id), kek_id=kek.key_id
    )
    dek_cache.put(dek_id, dek)
    return dek_id


def create_data_keys(scope: str, count: int) -> list[uuid.UUID]:
    """Bulk form of :func:`create_data_key` for large seeds."""
    from .models import DataKey

    kek = current_master_key()
    rows = []
    for _ in range(count):
        dek_id = uuid.uuid4()
        dek = os.urandom(32)
        rows.append(
            DataKey(id=dek_id, scope=scope, wrapped_dek=wrap_dek(kek, dek, dek_id), kek_id=kek.key_id)
        )
        dek_cache.put(dek_id, dek)
    DataKey.objects.using(KEYSTORE_DB).bulk_create(rows, batch_size=2000)
    return [row.id for row in rows]


def get_dek(dek_id: uuid.UUID) -> bytes:
    """The unwrapped data key; raises KeyDestroyedError or DecryptionError, never returns garbage."""
    from .models import DataKey

    cached = dek_cache.get(dek_id)
    if cached is not None:
        return cached
    row = DataKey.objects.using(KEYSTORE_DB).filter(id=dek_id).values_list("wrapped_dek", "kek_id").first()
    if row is None:
        raise KeyDestroyedError(f"Data key {dek_id} is not in the key store.")
    wrapped, kek_id = row
    if wrapped is None:
        raise KeyDestroyedError(f"Data key {dek_id} was destroyed.")
    dek = unwrap_dek(master_key(kek_id), bytes(wrapped), dek_id)
    dek_cache.put(dek_id, dek)
    return dek


def destroy_data_key(dek_id: uuid.UUID) -> bool:
    """Crypto-shred: erase the wrapped key. Returns False if it was already gone."""
    from .models import DataKey

    dek_cache.evict(dek_id)
    with transaction.atomic(using=KEYSTORE_DB):
        updated = (
            DataKey.objects.using(KEYSTORE_DB)
            .filter(id=dek_id, destroyed_at__isnull=True)
            .update(wrapped_dek=None, destroyed_at=timezone.now())
        )
    return bool(updated)


def ensure_canaries() -> None:
    """Record a canary for each configured master key that does not have one yet."""
    from .models import KeyCanary

    known = set(KeyCanary.objects.using(KEYSTORE_DB).values_list("kek_id", flat=True))
    for key in master_keys():
        if key.key_id not in known:
            canary_id = uuid.UUID(int=0)
            KeyCanary.objects.using(KEYSTORE_DB).create(
                kek_id=key.key_id, wrapped=wrap_dek(key, CANARY, canary_id)
            )


def verify_master_keys() -> None:
    """Raise MasterKeyError if a configured master key does not match the one the store was made with."""
    from .models import KeyCanary

    canaries = dict(KeyCanary.objects.using(KEYSTORE_DB).values_list("kek_id", "wrapped"))
    for key in master_keys():
        wrapped = canaries.get(key.key_id)
        if wrapped is None:
            continue
        try:
            value = unwrap_dek(key, bytes(wrapped), uuid.UUID(int=0))
        except DecryptionError as exc:
            raise MasterKeyError(
                f"Master key {key.key_id!r} is not the key this key store was created with. "
                "Convene refuses to start rather than serve data it cannot decrypt."
            ) from exc
        if value != CANARY:
            raise MasterKeyError(f"Master key {key.key_id!r} failed its check value.")


def reset_for_tests() -> None:
    master_keys.cache_clear()
    index_root_key.cache_clear()
    index_key.cache_clear()
    dek_cache.clear()
