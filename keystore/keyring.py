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
from functools import lru_cache

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.keyfiles import read_or_create

from .crypto import (
    MIN_TOKEN,
    TOKEN_VERSION,
    DecryptionError,
    FieldCipher,
    KeyDestroyedError,
    MasterKey,
    MasterKeyError,
    check_token,
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
    """Unwrapped data keys, as ready-to-use :class:`FieldCipher` objects, keyed by the id's 16 bytes.

    Reads take no lock (a dict read is atomic under the GIL) and check the entry's expiry every
    time; inserts and evictions take the lock. When full, the oldest inserted entry goes. A key
    being destroyed is remembered so that a lookup racing with the destruction cannot put it
    back; :meth:`clear` forgets everything, that memory included.
    """

    def __init__(self) -> None:
        self._items: dict[bytes, tuple[float, FieldCipher]] = {}
        self._destroyed: set[bytes] = set()
        self._lock = threading.Lock()

    def entry(self, raw_id: bytes) -> FieldCipher | None:
        item = self._items.get(raw_id)
        if item is None or item[0] < time.monotonic():
            return None
        return item[1]

    def get(self, dek_id: uuid.UUID) -> bytes | None:
        cipher = self.entry(dek_id.bytes)
        return None if cipher is None else cipher.dek

    def put(self, dek_id: uuid.UUID, dek: bytes) -> FieldCipher:
        cipher = FieldCipher(dek, dek_id)
        raw_id = cipher.header[1:]
        expires = time.monotonic() + settings.CONVENE_DEK_CACHE_SECONDS
        with self._lock:
            if raw_id in self._destroyed:
                return cipher  # usable by this caller, never cached
            self._items.pop(raw_id, None)
            self._items[raw_id] = (expires, cipher)
            while len(self._items) > _CACHE_MAX:
                del self._items[next(iter(self._items))]
        return cipher

    def evict(self, dek_id: uuid.UUID, destroyed: bool = False) -> None:
        raw_id = dek_id.bytes
        with self._lock:
            if destroyed:
                self._destroyed.add(raw_id)
            self._items.pop(raw_id, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._destroyed.clear()


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


def _load(dek_id: uuid.UUID) -> FieldCipher:
    """Unwrap a data key from the key store and cache it; raises, never returns garbage."""
    from .models import DataKey

    row = DataKey.objects.using(KEYSTORE_DB).filter(id=dek_id).values_list("wrapped_dek", "kek_id").first()
    if row is None:
        raise KeyDestroyedError(f"Data key {dek_id} is not in the key store.")
    wrapped, kek_id = row
    if wrapped is None:
        raise KeyDestroyedError(f"Data key {dek_id} was destroyed.")
    return dek_cache.put(dek_id, unwrap_dek(master_key(kek_id), bytes(wrapped), dek_id))


def get_cipher(dek_id: uuid.UUID) -> FieldCipher:
    """The data key as a ready :class:`FieldCipher`; raises KeyDestroyedError or DecryptionError."""
    item = dek_cache._items.get(dek_id.bytes)  # the hot path: dek_cache.entry() inlined
    if item is None or item[0] < time.monotonic():
        return _load(dek_id)
    return item[1]


def cipher_for_token(token: bytes) -> FieldCipher:
    """The cipher for a stored token, found from the 16 id bytes in its header (no UUID built on a hit).

    Raises DecryptionError if the token is not a Convene ciphertext, KeyDestroyedError if its key is gone.
    """
    if len(token) < MIN_TOKEN or token[0] != TOKEN_VERSION:
        check_token(token)  # raises DecryptionError
    raw_id = token[1:17]
    item = dek_cache._items.get(raw_id)
    if item is None or item[0] < time.monotonic():
        return _load(uuid.UUID(bytes=raw_id))
    return item[1]


def get_dek(dek_id: uuid.UUID) -> bytes:
    """The unwrapped data key; raises KeyDestroyedError or DecryptionError, never returns garbage."""
    return get_cipher(dek_id).dek


def destroy_data_key(dek_id: uuid.UUID) -> bool:
    """Crypto-shred: erase the wrapped key. Returns False if it was already gone.

    The key leaves this process's cache at once (and cannot be re-cached by a lookup racing with
    this call), so every later decrypt here goes to the key store and fails.
    """
    from .models import DataKey

    dek_cache.evict(dek_id, destroyed=True)
    with transaction.atomic(using=KEYSTORE_DB):
        updated = (
            DataKey.objects.using(KEYSTORE_DB)
            .filter(id=dek_id, destroyed_at__isnull=True)
            .update(wrapped_dek=None, destroyed_at=timezone.now())
        )
    dek_cache.evict(dek_id, destroyed=True)
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
