"""AES-256-GCM envelope encryption: master keys (KEKs) wrap per-case data keys (DEKs).

Token format for a field value: ``b"\\x01" | dek_id (16 bytes) | nonce (12) | ciphertext‖tag``.
The associated data binds each token to ``app.Model|pk|field|dek_id|v1`` so that a token moved to
another row, field or key fails authentication. Every failure raises; nothing returns ciphertext.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import uuid
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

TOKEN_VERSION = 1
_HEADER = 1 + 16 + 12
MIN_TOKEN = _HEADER + 16  # header + GCM tag


class DecryptionError(Exception):
    """A value could not be decrypted: wrong key, tampered or moved ciphertext, or a destroyed key.

    The message never contains the value or the key.
    """


class KeyDestroyedError(DecryptionError):
    """The data key was destroyed (crypto-shredded); the value is gone for good."""


class MasterKeyError(Exception):
    """The master key configuration is missing or wrong."""


@dataclass(frozen=True)
class MasterKey:
    key_id: str
    secret: bytes


def parse_master_keys(spec: str) -> list[MasterKey]:
    """Parse ``"id:base64,id:base64"`` (newest first) into master keys, validating each."""
    keys: list[MasterKey] = []
    for index, part in enumerate(item.strip() for item in spec.split(",") if item.strip()):
        key_id, sep, encoded = part.partition(":")
        if not sep or not key_id:
            raise MasterKeyError(f"Master key {index + 1} must look like 'id:base64key'.")
        try:
            secret = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except ValueError as exc:
            raise MasterKeyError(f"Master key {key_id!r} is not valid base64.") from exc
        if len(secret) != 32:
            raise MasterKeyError(f"Master key {key_id!r} must be 32 bytes (AES-256).")
        keys.append(MasterKey(key_id=key_id, secret=secret))
    if not keys:
        raise MasterKeyError("No master key is configured (CONVENE_MASTER_KEYS).")
    if len({key.key_id for key in keys}) != len(keys):
        raise MasterKeyError("Master key ids must be unique.")
    return keys


def new_master_key_spec(key_id: str) -> str:
    return f"{key_id}:{base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip('=')}"


def wrap_dek(kek: MasterKey, dek: bytes, dek_id: uuid.UUID) -> bytes:
    nonce = os.urandom(12)
    aad = f"dek|{dek_id}|{kek.key_id}".encode()
    return nonce + AESGCM(kek.secret).encrypt(nonce, dek, aad)


def unwrap_dek(kek: MasterKey, wrapped: bytes, dek_id: uuid.UUID) -> bytes:
    aad = f"dek|{dek_id}|{kek.key_id}".encode()
    try:
        return AESGCM(kek.secret).decrypt(wrapped[:12], wrapped[12:], aad)
    except InvalidTag as exc:
        raise DecryptionError(f"Data key {dek_id} does not unwrap under master key {kek.key_id!r}.") from exc


_PK_TEXT_MAX = 8192
_pk_text: dict[uuid.UUID, bytes] = {}


def pk_text(pk: object) -> bytes:
    """``str(pk)`` as UTF-8, as it appears in the associated data; UUID keys are memoised.

    Only exact ``uuid.UUID`` keys are memoised (equal UUIDs have equal text); the memo is bounded
    and simply emptied when full. It holds primary keys only, never a value.
    """
    if type(pk) is uuid.UUID:
        text = _pk_text.get(pk)
        if text is None:
            if len(_pk_text) >= _PK_TEXT_MAX:
                _pk_text.clear()
            text = _pk_text[pk] = str(pk).encode()
        return text
    return str(pk).encode()


def aad_tail(dek_id: uuid.UUID) -> bytes:
    """The end of every field AAD under this data key: ``|dek_id|vN``."""
    return f"|{dek_id}|v{TOKEN_VERSION}".encode()


def field_aad(label: str, pk: object, field: str, dek_id: uuid.UUID) -> bytes:
    """``app.Model|pk|field|dek_id|vN``: binds a token to its row, field and data key."""
    return f"{label}|".encode() + pk_text(pk) + f"|{field}".encode() + aad_tail(dek_id)


class FieldCipher:
    """One data key, ready to use: its AES-GCM object and the token header and AAD tail it implies.

    Built once per data key and kept in the key ring's cache, so the per-value path does no key
    schedule, no UUID formatting and no header building. Holds the key: never log or repr it.
    """

    __slots__ = ("aad_tail", "aead", "dek", "dek_id", "header")

    def __init__(self, dek: bytes, dek_id: uuid.UUID) -> None:
        self.dek = dek
        self.dek_id = dek_id
        self.aead = AESGCM(dek)
        self.header = bytes([TOKEN_VERSION]) + dek_id.bytes
        self.aad_tail = aad_tail(dek_id)

    def __repr__(self) -> str:
        return f"<FieldCipher {self.dek_id}>"

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(12)
        return self.header + nonce + self.aead.encrypt(nonce, plaintext, aad)


def encrypt_value(dek: bytes | FieldCipher, dek_id: uuid.UUID, plaintext: bytes, aad: bytes) -> bytes:
    if isinstance(dek, FieldCipher):
        if dek.dek_id != dek_id:
            raise ValueError("The cipher is for another data key.")
        return dek.seal(plaintext, aad)
    nonce = os.urandom(12)
    return bytes([TOKEN_VERSION]) + dek_id.bytes + nonce + AESGCM(dek).encrypt(nonce, plaintext, aad)


def check_token(token: bytes) -> None:
    if len(token) < MIN_TOKEN or token[0] != TOKEN_VERSION:
        raise DecryptionError("The stored value is not a Convene ciphertext.")


def token_dek_id(token: bytes) -> uuid.UUID:
    check_token(token)
    return uuid.UUID(bytes=bytes(token[1:17]))


def decrypt_value(dek: bytes | FieldCipher, token: bytes, aad: bytes) -> bytes:
    """Decrypt a token with a raw data key or a cached :class:`FieldCipher`; raise on any failure."""
    if type(token) is not bytes:
        token = bytes(token)
    aead = dek.aead if isinstance(dek, FieldCipher) else AESGCM(dek)
    try:
        return aead.decrypt(token[17:29], token[29:], aad)
    except InvalidTag as exc:
        raise DecryptionError(
            "A stored value failed authentication (wrong key, or moved or altered)."
        ) from exc


def derive_key(root: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=purpose.encode()).derive(root)


def blind_index(key: bytes, normalised: str) -> str:
    """HMAC-SHA256 of a normalised value, truncated to 128 bits, hex encoded (exact match only)."""
    return hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()[:32]
