"""The lean per-value path (cached FieldCipher, lock-free cache read, precomputed AAD) keeps every
guarantee of the plain path: the same token format and AAD bytes, immediate failure after a key is
destroyed, the cache TTL, and binding to the row's primary key."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from cases.models import Case, Note
from keystore import keyring
from keystore.crypto import (
    DecryptionError,
    KeyDestroyedError,
    decrypt_value,
    encrypt_value,
    field_aad,
    token_dek_id,
)
from keystore.keyring import (
    cipher_for_token,
    create_data_key,
    dek_cache,
    destroy_data_key,
    get_cipher,
    get_dek,
)
from keystore.routers import KEYSTORE_DB

BODY = Note._meta.get_field("body")
VALUE = "Seen at the bus station on Tuesday; " * 2


def _note(dek_id: uuid.UUID) -> Note:
    return Note(id=uuid.uuid4(), case=Case(data_key_id=dek_id))


def test_field_tokens_are_byte_compatible_with_the_plain_functions(db: Any) -> None:
    # given a data key and an unsaved note under it
    dek_id = create_data_key("case")
    note = _note(dek_id)
    aad = field_aad("cases.Note", note.pk, "body", dek_id)
    # then the field's AAD is exactly the documented label|pk|field|dek_id|v1
    assert aad == f"cases.Note|{note.pk}|body|{dek_id}|v1".encode()
    assert BODY.aad(note, dek_id) == aad
    # when the field encrypts, then the plain functions decrypt it (same header, nonce, AAD)
    token = BODY.encrypt(note, VALUE)
    assert token[0] == 1 and token_dek_id(token) == dek_id
    assert decrypt_value(get_dek(dek_id), token, aad).decode() == VALUE
    # and a token made by the plain functions (as existing data was) decrypts through the field
    old = encrypt_value(get_dek(dek_id), dek_id, VALUE.encode(), aad)
    assert BODY.decrypt(note, old) == VALUE
    # and the cached cipher and a raw key are interchangeable in encrypt_value
    assert BODY.decrypt(note, encrypt_value(get_cipher(dek_id), dek_id, VALUE.encode(), aad)) == VALUE


def test_a_token_bound_to_one_pk_fails_for_another_even_after_the_memo_was_built(db: Any) -> None:
    # given a token for a note, decrypted once (the instance now memoises its AAD prefix)
    dek_id = create_data_key("case")
    note = _note(dek_id)
    token = BODY.encrypt(note, VALUE)
    assert BODY.decrypt(note, token) == VALUE
    # when the same instance's pk changes, then the token no longer authenticates
    note.id = uuid.uuid4()
    with pytest.raises(DecryptionError):
        BODY.decrypt(note, token)
    # and a token under another field's name fails too
    with pytest.raises(DecryptionError):
        decrypt_value(get_dek(dek_id), token, field_aad("cases.Note", note.pk, "other", dek_id))


def test_destroying_a_key_makes_the_next_decrypt_fail_at_once_without_clearing_the_cache(db: Any) -> None:
    # given a warm cache: the key was just used to encrypt and decrypt
    dek_id = create_data_key("case")
    note = _note(dek_id)
    token = BODY.encrypt(note, VALUE)
    assert BODY.decrypt(note, token) == VALUE
    # when the key is destroyed (no cache clearing by the caller)
    assert destroy_data_key(dek_id) is True
    # then the very next decrypt and encrypt in this process fail closed
    with pytest.raises(KeyDestroyedError):
        BODY.decrypt(note, token)
    with pytest.raises(KeyDestroyedError):
        BODY.encrypt(note, VALUE)
    with pytest.raises(KeyDestroyedError):
        cipher_for_token(token)


def test_a_lookup_racing_with_destruction_cannot_put_the_key_back(db: Any) -> None:
    # given a key being destroyed
    dek_id = create_data_key("case")
    dek = get_dek(dek_id)
    destroy_data_key(dek_id)
    # when a lookup that had read the wrapped key before the destruction now caches it
    dek_cache.put(dek_id, dek)
    # then it is not cached: the next read goes to the key store and fails
    assert dek_cache.get(dek_id) is None
    with pytest.raises(KeyDestroyedError):
        get_cipher(dek_id)


def test_cached_keys_expire_after_the_ttl(db: Any, monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    # given a cached key
    settings.CONVENE_DEK_CACHE_SECONDS = 60
    dek_id = create_data_key("case")
    note = _note(dek_id)
    token = BODY.encrypt(note, VALUE)
    keys = connections[KEYSTORE_DB]
    with CaptureQueriesContext(keys) as warm:
        assert BODY.decrypt(note, token) == VALUE
    assert len(warm.captured_queries) == 0
    # when the TTL has passed
    now = keyring.time.monotonic()
    monkeypatch.setattr(keyring.time, "monotonic", lambda: now + 61)
    # then the next read unwraps the key from the key store again
    with CaptureQueriesContext(keys) as cold:
        assert BODY.decrypt(note, token) == VALUE
    assert len(cold.captured_queries) == 1


def test_not_a_convene_token_fails_closed(db: Any) -> None:
    note = _note(create_data_key("case"))
    for junk in (b"\x02" + os.urandom(60), b"\x01" + os.urandom(20)):
        with pytest.raises(DecryptionError):
            BODY.decrypt(note, junk)
    with pytest.raises(KeyDestroyedError):
        BODY.decrypt(note, b"")
    # an unknown data key id
    with pytest.raises(KeyDestroyedError):
        BODY.decrypt(note, b"\x01" + uuid.uuid4().bytes + os.urandom(40))
