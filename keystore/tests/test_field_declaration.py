"""What each encrypted field is once its model is built (its declaration runs when the app loads, so
``make mutate`` cannot judge mutants there: the models were built before any mutant was switched on).
"""

from __future__ import annotations

from django.apps import apps

from keystore.fields import EncryptedField, EncryptedTextField, encrypted_fields


def test_every_encrypted_field_is_editable_and_binds_its_own_name_into_the_ciphertext():
    fields = [(model, field) for model in apps.get_models() for field in encrypted_fields(model)]
    assert fields, "no encrypted field found"
    for model, field in fields:
        # editable, as declared (a BinaryField is not editable by default)
        assert field.editable, f"{model._meta.label}.{field.name}"
        # and its piece of the associated data is its own attribute name
        assert field._field_part == f"|{field.attname}".encode(), f"{model._meta.label}.{field.name}"


def test_a_field_takes_its_verbose_name_positionally_like_any_django_field():
    field = EncryptedTextField("What was said")
    assert isinstance(field, EncryptedField)
    assert field.verbose_name == "What was said"
