"""rotate_keys: rewrap every data key under the newest master key; then the old key can go."""

from __future__ import annotations

import shutil
import stat
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from audit.models import AuditEvent, Op
from cases import services as s
from keystore.crypto import DecryptionError, new_master_key_spec
from keystore.fields import encrypted_fields
from keystore.keyring import master_keys, reset_for_tests
from keystore.management.commands.rotate_keys import key_file
from keystore.models import DataKey
from keystore.routers import KEYSTORE_DB
from keystore.services import rewrap
from tests.world import make_case


def _seed(world):
    police, user = world.agencies["police"], world.police_practitioner
    for i in range(3):
        case = make_case(world, family=f"Rotate{i}")
        s.do_add_note(case=case, agency=police, acting_user=user, body=f"Note {i}", category="C2")
        s.do_save_plan(
            case=case,
            base_number=0,
            agency=police,
            acting_user=user,
            items={"victim_safety": ["Panic alarm"]},
            contingency="Arrest",
        )
        s.do_add_order(
            case=case,
            agency=police,
            acting_user=user,
            values={
                "order_type": "restraining",
                "legal_basis": "PHA 1997 s5",
                "starts_on": timezone.localdate() - timedelta(days=5),
                "until_further_order": True,
            },
        )


def decrypt_everything() -> int:
    """Read every encrypted field of every row of every model; return how many values were read."""
    count = 0
    for model in apps.get_models():
        fields = encrypted_fields(model)
        if not fields:
            continue
        for row in model._default_manager.all():
            for field in fields:
                getattr(row, field.attname)
                count += 1
    return count


def test_rotate_under_env_keys_then_remove_the_old_key(world):
    # given a seeded world whose data keys are wrapped by the first master key
    _seed(world)
    old_spec = ",".join(
        f"{k.key_id}:{key_file().read_text().strip().split(':', 1)[1]}" for k in master_keys()[:1]
    )
    new_spec = new_master_key_spec("k2")
    try:
        # when the new key is put in front and rotate_keys runs
        with override_settings(CONVENE_MASTER_KEYS=f"{new_spec},{old_spec}"):
            reset_for_tests()
            call_command("rotate_keys", "--no-progress", "--batch-size", "2")
            live = DataKey.objects.using(KEYSTORE_DB).filter(wrapped_dek__isnull=False)
            assert set(live.values_list("kek_id", flat=True)) == {"k2"}
            # and a re-run finds nothing to do (idempotent)
            assert rewrap(progress=False)["rewrapped"] == 0
        # then with the old key removed from the configuration, every field still decrypts
        with override_settings(CONVENE_MASTER_KEYS=new_spec):
            reset_for_tests()
            assert decrypt_everything() > 20
        # and without the new key nothing decrypts: the old key alone is useless now
        with override_settings(CONVENE_MASTER_KEYS=old_spec):
            reset_for_tests()
            with pytest.raises(DecryptionError):
                decrypt_everything()
    finally:
        reset_for_tests()
    event = AuditEvent.objects.filter(op=Op.KEY_ROTATION).latest("occurred_at")
    assert event.detail["kek_id"] == "k2" and event.detail["rewrapped"] >= 8 and event.detail["failed"] == 0


def test_new_key_id_prepends_to_the_embedded_key_file(world, tmp_path, settings):
    # given the embedded key file in a directory of its own
    shutil.copy(key_file(), tmp_path / "master-keys")
    settings.CONVENE_KEY_DIR = tmp_path
    reset_for_tests()
    try:
        # when rotate_keys adds a new key
        call_command("rotate_keys", "--new-key-id", "k9", "--no-progress")
        text = (tmp_path / "master-keys").read_text().strip()
        assert text.startswith("k9:") and stat.S_IMODE((tmp_path / "master-keys").stat().st_mode) == 0o600
        # then after the old key is removed from the file, everything still decrypts
        (tmp_path / "master-keys").write_text(text.split(",")[0] + "\n")
        reset_for_tests()
        assert decrypt_everything() > 0
    finally:
        reset_for_tests()


def test_interrupted_rotation_can_be_resumed(world, monkeypatch):
    _seed(world)
    old = master_keys()[0]
    old_spec = f"{old.key_id}:{key_file().read_text().strip().split(':', 1)[1]}"
    new_spec = new_master_key_spec("k3")
    try:
        with override_settings(CONVENE_MASTER_KEYS=f"{new_spec},{old_spec}"):
            reset_for_tests()
            # given a rotation that dies after its first batch
            from keystore import services as rotation

            real_wrap, calls = rotation.wrap_dek, {"n": 0}

            def flaky(*args, **kwargs):
                calls["n"] += 1
                if calls["n"] > 2:
                    raise KeyboardInterrupt
                return real_wrap(*args, **kwargs)

            monkeypatch.setattr(rotation, "wrap_dek", flaky)
            with pytest.raises(KeyboardInterrupt):
                rewrap(batch_size=2, progress=False)
            live = DataKey.objects.using(KEYSTORE_DB).filter(wrapped_dek__isnull=False)
            assert live.filter(kek_id="k3").count() == 2  # the first batch was committed
            # when it is run again
            monkeypatch.setattr(rotation, "wrap_dek", real_wrap)
            rewrap(batch_size=2, progress=False)
            # then every key is under the new master key and still works
            assert set(live.values_list("kek_id", flat=True)) == {"k3"}
            reset_for_tests()
            assert decrypt_everything() > 0
    finally:
        reset_for_tests()
