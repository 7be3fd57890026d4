"""Key rotation as a service: rewrap and its one audit event; a batch that fails is kept whole."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError
from django.test import override_settings

from audit.models import AuditEvent, Op
from core.errors import DomainError
from keystore import services as rotation
from keystore.crypto import new_master_key_spec
from keystore.keyring import master_keys, reset_for_tests
from keystore.management.commands.rotate_keys import key_file
from keystore.models import DataKey
from keystore.routers import KEYSTORE_DB
from keystore.services import do_rotate_keys

from .test_rotate_keys import _seed, decrypt_everything


def _specs(new_id: str) -> str:
    old = master_keys()[0]
    old_spec = f"{old.key_id}:{key_file().read_text().strip().split(':', 1)[1]}"
    return f"{new_master_key_spec(new_id)},{old_spec}"


def _live() -> Any:
    return DataKey.objects.using(KEYSTORE_DB).filter(wrapped_dek__isnull=False)


def test_a_rotation_rewraps_every_key_and_records_one_event_of_counts(world: Any) -> None:
    # given a seeded world and a new master key in front of the old one
    _seed(world)
    events = AuditEvent.objects.filter(op=Op.KEY_ROTATION)
    try:
        with override_settings(CONVENE_MASTER_KEYS=_specs("k4")):
            reset_for_tests()
            # when the keys are rotated
            done = do_rotate_keys(batch_size=3, progress=False)
            # then every live data key is under the new master key, and still opens its values
            assert set(_live().values_list("kek_id", flat=True)) == {"k4"}
            assert done.kek_id == "k4" and done.rewrapped >= 8 and done.failed == 0
            assert decrypt_everything() > 0
    finally:
        reset_for_tests()
    # and one KEY_ROTATION event holds the counts, and no key
    event = events.get()
    assert event.outcome == "ok"
    assert event.detail == {
        "kek_id": "k4",
        "rewrapped": done.rewrapped,
        "failed": 0,
        "already_current": done.already_current,
    }


def test_a_rotation_failing_in_a_batch_keeps_the_batch_whole_and_records_no_event(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a seeded world, a new master key, and the keystore failing on the second rewrap
    _seed(world)
    before = dict(_live().values_list("id", "kek_id"))
    events_before = AuditEvent.objects.filter(op=Op.KEY_ROTATION).count()
    real_wrap, calls = rotation.wrap_dek, {"n": 0}

    def failing(*args: Any, **kwargs: Any) -> bytes:
        calls["n"] += 1
        if calls["n"] > 1:
            raise DatabaseError("could not write block: No space left on device")
        return real_wrap(*args, **kwargs)

    monkeypatch.setattr(rotation, "wrap_dek", failing)
    try:
        with override_settings(CONVENE_MASTER_KEYS=_specs("k5")):
            reset_for_tests()
            # when the keys are rotated in one batch
            with pytest.raises(DatabaseError):
                do_rotate_keys(batch_size=500, progress=False)
            # then the batch was rolled back whole: no key moved, not even the first one rewrapped
            assert dict(_live().values_list("id", "kek_id")) == before
    finally:
        reset_for_tests()
    # and no event says a rotation ran
    assert AuditEvent.objects.filter(op=Op.KEY_ROTATION).count() == events_before


def test_a_batch_size_below_one_is_refused_before_anything_is_written(world: Any) -> None:
    events_before = AuditEvent.objects.count()
    with pytest.raises(DomainError):
        do_rotate_keys(batch_size=0, progress=False)
    assert AuditEvent.objects.count() == events_before
