"""Acceptance: every encrypted field of every model in the project.

For each model with an EncryptedField (found through django.apps, so models other helpers add are
picked up without editing this file — see keystore/tests/builders.py for when a factory is needed):

* the raw stored bytes, read with a SQL cursor, contain no plaintext;
* a ciphertext copied into another row, or into another encrypted field, fails with DecryptionError;
* a wrong master key, or a missing one, fails closed: reading raises, never returns ciphertext or empty.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.db import connection, models
from django.test import override_settings

from keystore.crypto import DecryptionError, new_master_key_spec
from keystore.fields import EncryptedField, encrypted_fields
from keystore.keyring import reset_for_tests

from .builders import build, markers_for

ENCRYPTED_MODELS = sorted((m for m in apps.get_models() if encrypted_fields(m)), key=lambda m: m._meta.label)
FIELD_CASES = [(m, f.attname) for m in ENCRYPTED_MODELS for f in encrypted_fields(m)]


def _ids(item: Any) -> str:
    if isinstance(item, type) and issubclass(item, models.Model):
        return item._meta.label
    return str(item)


def _column(field: EncryptedField) -> str:
    assert field.column is not None  # a field on a model has its column
    return field.column


def _raw(instance: models.Model, column: str) -> bytes | None:
    meta = instance._meta
    quote = connection.ops.quote_name
    pk = meta.pk.get_db_prep_value(instance.pk, connection)
    pk_column = meta.pk.column
    assert pk_column is not None
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote(column)} FROM {quote(meta.db_table)} WHERE {quote(pk_column)} = %s",  # noqa: S608 - identifiers come from model metadata
            [pk],
        )
        value = cursor.fetchone()[0]
    return None if value is None else bytes(value)


def _write_raw(instance: models.Model, column: str, token: bytes) -> None:
    meta = instance._meta
    quote = connection.ops.quote_name
    pk = meta.pk.get_db_prep_value(instance.pk, connection)
    pk_column = meta.pk.column
    assert pk_column is not None
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} SET {quote(column)} = %s WHERE {quote(pk_column)} = %s",  # noqa: S608 - identifiers come from model metadata
            [token, pk],
        )


def _fresh(instance: models.Model) -> models.Model:
    return type(instance)._default_manager.get(pk=instance.pk)


def test_the_project_has_encrypted_models():
    labels = {m._meta.label for m in ENCRYPTED_MODELS}
    assert {"cases.Nominal", "cases.Victim", "cases.Note", "cases.RiskAssessment"} <= labels


@pytest.mark.parametrize("model", ENCRYPTED_MODELS, ids=_ids)
def test_encrypted_model(world, model):
    """Raw storage, moved ciphertexts and wrong or missing master keys, for one model."""
    check_raw_storage(world, model)
    check_moved_ciphertext(world, model)
    check_master_key_fails_closed(world, model, "wrong")
    check_master_key_fails_closed(world, model, "missing")


def _shows(value: Any, marker: str) -> bool:
    return marker in (value.decode() if isinstance(value, bytes) else str(value))


def check_raw_storage(world, model):
    # given a saved row whose encrypted fields hold known markers
    markers = markers_for(model)
    instance = build(model, world, markers)
    for field in encrypted_fields(model):
        # then the bytes in the database do not contain the marker
        raw = _raw(instance, _column(field))
        assert raw is not None, f"{model._meta.label}.{field.attname} was not stored"
        assert markers[field.attname].encode() not in raw
        # and the ORM decrypts it back
        assert _shows(getattr(_fresh(instance), field.attname), markers[field.attname])


def check_moved_ciphertext(world, model):
    first, second = build(model, world), build(model, world)
    fields = encrypted_fields(model)
    for field in fields:
        token = _raw(first, _column(field))
        assert token is not None
        # when a ciphertext is copied into the same field of another row
        _write_raw(second, _column(field), token)
        # then reading it there fails, loudly
        with pytest.raises(DecryptionError):
            getattr(_fresh(second), field.attname)
    if len(fields) > 1:
        # and copied into another encrypted field of the same row, it fails too
        source, target = fields[0], fields[1]
        token = _raw(first, _column(source))
        assert token is not None
        _write_raw(first, _column(target), token)
        with pytest.raises(DecryptionError):
            getattr(_fresh(first), target.attname)


def check_master_key_fails_closed(world, model, case):
    markers = markers_for(model)
    instance = build(model, world, markers)
    field = encrypted_fields(model)[0]
    # given the master key is replaced by another key with the same id, or by a key with another id
    spec = new_master_key_spec("k1") if case == "wrong" else new_master_key_spec("other")
    try:
        with override_settings(CONVENE_MASTER_KEYS=spec):
            reset_for_tests()
            # then reading raises; it never hands back ciphertext or an empty value
            with pytest.raises(DecryptionError):
                getattr(_fresh(instance), field.attname)
    finally:
        reset_for_tests()
    assert _shows(getattr(_fresh(instance), field.attname), markers[field.attname])


@pytest.mark.parametrize(
    ("model", "attname"), FIELD_CASES, ids=[f"{m._meta.label}.{a}" for m, a in FIELD_CASES]
)
def test_every_encrypted_field_is_listed(model, attname):
    """One line per field in the report, so a reviewer sees the coverage at a glance."""
    assert any(f.attname == attname for f in encrypted_fields(model))
