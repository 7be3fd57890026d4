"""Encrypted model fields: AES-256-GCM under the row's data key, bound to model, pk, field and key.

Values are decrypted lazily on attribute access (a list that shows no sensitive field decrypts
nothing) and a failure raises :class:`~keystore.crypto.DecryptionError`. ``values()`` and
``values_list()`` return :class:`Sealed` objects, never plaintext. Encrypted fields cannot be
filtered on; search goes through blind indexes.

A model with encrypted fields defines ``encryption_key_id()`` returning the data key to encrypt
under (its case's key, for case records).
"""

from __future__ import annotations

import json
import uuid
from os import urandom
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models.query_utils import DeferredAttribute

from .crypto import FieldCipher, KeyDestroyedError, decrypt_value, field_aad, pk_text
from .keyring import cipher_for_token, get_cipher


class Sealed:
    """Ciphertext as loaded from the database, not yet decrypted."""

    __slots__ = ("token",)

    def __init__(self, token: bytes) -> None:
        self.token = token

    def __repr__(self) -> str:
        return f"<Sealed {len(self.token)} bytes>"

    def __str__(self) -> str:
        return "[encrypted]"


_MISSING = object()
_AAD_MEMO = "_convene_aad_prefix"  # instance.__dict__ key: (class, pk, b"app.Model|pk")


class EncryptedAttribute(DeferredAttribute):
    field: EncryptedField

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        attname = self.field.attname
        value = instance.__dict__.get(attname, _MISSING)
        if value is _MISSING:
            value = super().__get__(instance, cls)  # deferred: load it
        if type(value) is Sealed:
            value = self.field.decrypt(instance, value.token)
            instance.__dict__[attname] = value
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        # A data descriptor: without __set__ the loaded value in the instance __dict__ would shadow
        # __get__ and callers would receive the Sealed token instead of the decrypted value.
        instance.__dict__[self.field.attname] = value


if TYPE_CHECKING:  # django-stubs' fields are generic; Django's classes cannot be subscripted at run time
    _BinaryField = models.BinaryField[Any, Any]
else:
    _BinaryField = models.BinaryField


class EncryptedField(_BinaryField):
    """Base for encrypted fields; subclasses convert between Python values and bytes."""

    descriptor_class = EncryptedAttribute
    # the decrypted value's type (subclasses below narrow it), not the stored bytes'
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("editable", True)
        super().__init__(*args, **kwargs)
        # The field's AAD piece, b"|attname", computed once.
        self._field_part = b""

    def contribute_to_class(self, cls: Any, name: str, private_only: bool = False) -> None:
        super().contribute_to_class(cls, name, private_only)
        self._field_part = f"|{self.attname}".encode()

    # conversion hooks -------------------------------------------------------------------------
    def to_bytes(self, value: Any) -> bytes:
        raise NotImplementedError

    def from_bytes(self, data: bytes) -> Any:
        raise NotImplementedError

    # crypto -----------------------------------------------------------------------------------
    def aad(self, instance: Any, dek_id: uuid.UUID) -> bytes:
        return field_aad(instance._meta.label, instance.pk, self.attname, dek_id)

    def _aad(self, instance: Any, pk: object, cipher: FieldCipher) -> bytes:
        """Same bytes as :meth:`aad` (``label|pk|field|dek_id|vN``), from precomputed pieces.

        ``label|pk`` is memoised on the instance for the (class, pk) it was built for, checked by
        identity on every use, so a changed pk or class rebuilds it.
        """
        memo = instance.__dict__.get(_AAD_MEMO)
        if memo is None or memo[1] is not pk or memo[0] is not type(instance):
            memo = (type(instance), pk, f"{instance._meta.label}|".encode() + pk_text(pk))
            instance.__dict__[_AAD_MEMO] = memo
        label_pk: bytes = memo[2]
        return label_pk + self._field_part + cipher.aad_tail

    def encrypt(self, instance: Any, value: Any) -> bytes:
        dek_id = instance.encryption_key_id()
        pk = instance.pk
        if pk is None:
            raise ValueError(f"{instance._meta.label} needs its primary key before encryption.")
        cipher = get_cipher(dek_id)
        nonce = urandom(12)  # FieldCipher.seal() inlined: this is the per-value hot path
        return (
            cipher.header
            + nonce
            + cipher.aead.encrypt(nonce, self.to_bytes(value), self._aad(instance, pk, cipher))
        )

    def decrypt(self, instance: Any, token: bytes) -> Any:
        token = bytes(token)
        if not token:
            raise KeyDestroyedError(f"{instance._meta.label}.{self.name} was erased.")
        cipher = cipher_for_token(token)
        return self.from_bytes(decrypt_value(cipher, token, self._aad(instance, instance.pk, cipher)))

    # Django plumbing --------------------------------------------------------------------------
    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Sealed | None:
        if value is None:
            return None
        return Sealed(bytes(value))

    def to_python(self, value: Any) -> Any:
        return value

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        raw = model_instance.__dict__.get(self.attname)
        if raw is None:
            return None
        if isinstance(raw, Sealed):
            return raw.token
        return self.encrypt(model_instance, raw)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if value is None:
            return None
        if isinstance(value, Sealed):
            value = value.token
        if not isinstance(value, bytes | bytearray | memoryview):
            raise TypeError(
                f"{self.model._meta.label}.{self.name} is encrypted: it cannot be compared or "
                "searched in SQL. Use its blind index."
            )
        return super().get_db_prep_value(bytes(value), connection, prepared)

    def value_to_string(self, obj: Any) -> str:
        return "[encrypted]"

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)

    def formfield(self, **kwargs: Any) -> Any:
        return None


# Each field declares, for django-stubs, the Python value its attribute holds (the ciphertext is
# the database's business): without these the model attributes would read as ``bytes | memoryview``.
class EncryptedTextField(EncryptedField):
    _pyi_private_set_type: str
    _pyi_private_get_type: str

    def to_bytes(self, value: Any) -> bytes:
        return str(value).encode("utf-8")

    def from_bytes(self, data: bytes) -> str:
        return data.decode("utf-8")


class EncryptedJSONField(EncryptedField):
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    def to_bytes(self, value: Any) -> bytes:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")

    def from_bytes(self, data: bytes) -> Any:
        return json.loads(data)


class EncryptedBinaryField(EncryptedField):
    _pyi_private_set_type: bytes
    _pyi_private_get_type: bytes

    def to_bytes(self, value: Any) -> bytes:
        return bytes(value)

    def from_bytes(self, data: bytes) -> bytes:
        return data


def encrypted_fields(model: type[models.Model]) -> list[EncryptedField]:
    return [field for field in model._meta.concrete_fields if isinstance(field, EncryptedField)]
