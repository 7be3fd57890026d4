"""No sensitive value (the plaintext of any encrypted field) appears in any audit field."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps

from audit.models import AuditEvent
from keystore.fields import EncryptedField

MIN_LENGTH = 4
CODE = re.compile(r"[a-z0-9_]+")


def _leaves(value: Any) -> Iterator[str]:
    """Every value in a decrypted field; in JSON, every leaf (keys are the schema, not values)."""
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, bytes):
        yield value.decode("utf-8", "ignore")
    else:
        yield str(value)


def every_plaintext() -> set[str]:
    """Decrypt every encrypted field of every row (through the models) and collect the values."""
    found: set[str] = set()
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedField)]
        if not fields:
            continue
        for row in model._default_manager.all():
            for field in fields:
                value = getattr(row, field.attname)
                for text in _leaves(value):
                    text = text.strip()
                    if len(text) < MIN_LENGTH:
                        continue
                    if not isinstance(value, str) and CODE.fullmatch(text):
                        continue  # a vocabulary code inside a JSON record ("police", "completed")
                    found.add(text)
    return found


def audit_text() -> str:
    rows = list(AuditEvent.objects.values())
    return json.dumps(rows, default=str, ensure_ascii=False)


def assert_no_plaintext_in_audit() -> int:
    secrets = every_plaintext()
    text = audit_text()
    leaked = sorted(s for s in secrets if s in text)
    assert leaked == [], f"sensitive values in the audit log: {leaked[:10]}"
    return len(secrets)


@pytest.mark.django_db
def test_no_encrypted_value_of_the_test_world_appears_in_the_audit_log(world) -> None:
    # given the test world, with more records made through the real services
    from cases import services as cs

    case = world.case
    cs.do_add_note(
        case=case,
        agency=world.agencies["police"],
        acting_user=world.police_practitioner,
        body="Seen outside the victim's flat at 23 Larkspur Close twice this week",
        category="C1",
    )
    cs.do_add_note(
        case=case,
        agency=world.agencies["health"],
        acting_user=world.health_practitioner,
        body="Disclosed paranoid ideation about the victim during clinic appointment",
        category="C5",
    )
    # when every encrypted plaintext is compared with every audit row
    checked = assert_no_plaintext_in_audit()
    # then none appears (and the world really did hold sensitive values)
    assert checked >= 5
    assert AuditEvent.objects.count() > 10


@pytest.mark.django_db
def test_no_encrypted_value_of_the_demo_world_appears_in_the_audit_log() -> None:
    # given the full demo world (every app's demo content)
    from agencies.demo import seed

    seed(log=lambda _message: None)
    # then no plaintext of any encrypted field is in any audit row
    assert assert_no_plaintext_in_audit() >= 20
