"""Backup and restore drill (issue 9): dump → restore into a fresh database → the audit chain
verifies → every encrypted field decrypts with the key store → an erased case stays unreadable.

The same steps are the README's "Backup and restore" procedure.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, connections

from audit.services import make_checkpoint
from cases.services import do_add_note
from lifecycle.services import do_erase_case
from tests.world import make_case

ROOT = Path(__file__).resolve().parents[2]

CHECK_RESTORED = r"""
import django, sys, json
django.setup()
from django.apps import apps
from keystore.crypto import KeyDestroyedError
from keystore.fields import encrypted_fields
from audit.services import verify_chain
erased_case = sys.argv[1]
result = verify_chain()
decrypted = destroyed = 0
erased_values = 0
for model in apps.get_models():
    fields = encrypted_fields(model)
    if not fields:
        continue
    for obj in model.objects.all().iterator():
        for field in fields:
            if obj.__dict__.get(field.attname) is None:
                continue
            try:
                getattr(obj, field.attname)
                decrypted += 1
                is_case = model._meta.label == "cases.Case"
                case_id = getattr(obj, "case_id", None) or (obj.pk if is_case else None)
                if str(case_id) == erased_case:
                    erased_values += 1
            except KeyDestroyedError:
                destroyed += 1
print(json.dumps({"chain_ok": result.ok, "chain_message": result.message, "verified": result.verified,
                  "decrypted": decrypted, "destroyed": destroyed, "erased_values_readable": erased_values}))
"""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_dump_restore_verifies_the_chain_decrypts_everything_and_keeps_the_erased_case_unreadable(
    world, tmp_path
):
    # given a world with an extra case that is then erased, a sealed chain and a checkpoint
    doomed = make_case(world, share_with=("health",), family="Erasedson")
    do_add_note(
        case=doomed,
        agency=world.agencies["police"],
        acting_user=world.police_practitioner,
        body="Doomed case note: seen at the bus station at 7am.",
        category="C2",
    )
    do_erase_case(
        doomed,
        acting_user=world.police_dpo,
        agency=world.agencies["police"],
        rule=None,
        reason="Retention review: no policing purpose remains.",
    )
    make_checkpoint()
    main = connection.settings_dict
    restored = f"convene_restore_{uuid.uuid4().hex[:8]}"
    base = [
        "-h",
        main["HOST"] or "127.0.0.1",
        "-p",
        str(main["PORT"] or 5432),
        "-U",
        main["USER"] or "postgres",
    ]
    dump = tmp_path / "convene.dump"
    # when the main database is dumped and restored into a fresh database
    subprocess.run(["pg_dump", *base, "-Fc", "-f", str(dump), main["NAME"]], check=True, timeout=300)
    subprocess.run(["createdb", *base, restored], check=True, timeout=60)
    try:
        subprocess.run(
            ["pg_restore", *base, "-d", restored, "--no-owner", str(dump)], check=True, timeout=300
        )
        keystore = connections["keystore"].settings_dict
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CONVENE_", "DJANGO_"))}
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings.dev",
            DATABASE_URL=(
                f"postgres://{main['USER']}@{main['HOST'] or '127.0.0.1'}:{main['PORT'] or 5432}/{restored}"
            ),
            KEYSTORE_DATABASE_URL=(
                f"postgres://{keystore['USER']}@{keystore['HOST'] or '127.0.0.1'}:{keystore['PORT'] or 5432}/"
                f"{keystore['NAME']}"
            ),
            CONVENE_KEY_DIR=str(settings.CONVENE_KEY_DIR),
            CONVENE_CHECKPOINT_DIR=str(tmp_path / "checkpoints"),
            CONVENE_VAR_DIR=str(tmp_path / "var"),
        )
        result = subprocess.run(
            [sys.executable, "-c", CHECK_RESTORED, str(doomed.pk)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        import json

        figures = json.loads(result.stdout.strip().splitlines()[-1])
    finally:
        subprocess.run(["dropdb", *base, restored], timeout=60)
    # then the restored chain verifies, every value decrypts with the key store, and nothing of the
    # erased case can be read
    assert figures["chain_ok"], figures["chain_message"]
    assert figures["verified"] > 0
    assert figures["decrypted"] >= 10  # the world case: nominal 3, referral 1, victim 6 values
    assert figures["erased_values_readable"] == 0
