"""Crypto-shredding at the key-store level: a destroyed data key makes its values unrecoverable,
in the live database and in a copy of the ciphertext taken before the key was destroyed."""

from __future__ import annotations

import pytest
from django.db import connection

from cases.models import Victim
from keystore.crypto import DecryptionError, KeyDestroyedError, decrypt_value, field_aad, token_dek_id
from keystore.keyring import destroy_data_key, get_dek, master_keys, reset_for_tests
from keystore.models import DataKey
from keystore.routers import KEYSTORE_DB


def test_destroyed_key_makes_values_unrecoverable(world):
    victim = Victim.objects.get(case=world.case)
    field = Victim._meta.get_field("address")
    # given a "dump" of the ciphertext taken before erasure
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT address FROM cases_victim WHERE id = %s",
            [Victim._meta.pk.get_db_prep_value(victim.pk, connection)],
        )
        dumped = bytes(cursor.fetchone()[0])
    dek_id = token_dek_id(dumped)
    assert dek_id == world.case.data_key_id
    # when the case's data key is destroyed
    assert destroy_data_key(dek_id) is True
    assert destroy_data_key(dek_id) is False  # idempotent
    reset_for_tests()
    # then the live row cannot be read
    with pytest.raises(KeyDestroyedError):
        Victim.objects.get(pk=victim.pk).address  # noqa: B018
    # and the key store holds nothing to unwrap, under any configured master key
    row = DataKey.objects.using(KEYSTORE_DB).get(pk=dek_id)
    assert row.wrapped_dek is None and row.destroyed_at is not None
    with pytest.raises(KeyDestroyedError):
        get_dek(dek_id)
    # and the dumped ciphertext fails under every remaining master key used as if it were the data key
    aad = field_aad("cases.Victim", victim.pk, field.attname, dek_id)
    for key in master_keys():
        with pytest.raises(DecryptionError):
            decrypt_value(key.secret, dumped, aad)


def test_other_cases_are_untouched_by_shredding(world):
    from tests.world import make_case

    other = make_case(world, family="Keep")
    destroy_data_key(world.case.data_key_id)
    reset_for_tests()
    assert Victim.objects.get(case=other).address == "3 Willow Court, Northtown NT1 5AB"
