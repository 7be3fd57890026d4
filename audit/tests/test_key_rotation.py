"""Rotating the audit signing key: old checkpoints keep verifying with the key each one names."""

from __future__ import annotations

import base64
import io
import json
import os
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from audit.chain import key_id_for, sign_checkpoint
from audit.models import AuditCheckpoint, AuditEvent, AuditSigningKey, Op
from audit.services import (
    SigningKeyRetired,
    chain_head,
    make_checkpoint,
    public_b64,
    seal_pending,
    verify_chain,
)

from .conftest import make_events
from .test_chain_integrity import run_verify, seq_of, sql
from .test_export import export, rewrite, standalone


@pytest.fixture(autouse=True)
def _own_key_dir(settings: Any, tmp_path: Path) -> None:
    """Each test has its own embedded key file (a rotation replaces it)."""
    settings.CONVENE_KEY_DIR = tmp_path / "keys"
    settings.CONVENE_AUDIT_SIGNING_KEY = None


def rotate(*args: str) -> str:
    out = io.StringIO()
    call_command("rotate_audit_key", *args, stdout=out)
    return out.getvalue()


def key_document(tmp_path: Path) -> Path:
    """The published key document, fetched as a partner would (no sign-in)."""
    response = Client().get("/.well-known/convene-audit-keys.json")
    assert response.status_code == 200
    target = tmp_path / "convene-audit-keys.json"
    target.write_bytes(response.content)
    return target


def rotated_chain() -> tuple[str, str]:
    """Seal, checkpoint, rotate, seal, checkpoint. Returns the old and the new key id."""
    make_events(4)
    first = make_checkpoint()
    assert first is not None
    old_id = first.key_id
    rotate()
    make_events(3)
    second = make_checkpoint()
    assert second is not None
    assert second.key_id != old_id
    return old_id, second.key_id


@pytest.mark.django_db
def test_after_a_rotation_audit_verify_and_the_standalone_verifier_pass(tmp_path: Path) -> None:
    # given a chain checkpointed under one key, rotated, then checkpointed under the next
    old_id, new_id = rotated_chain()
    # then each checkpoint names the key that signed it, and the rotation checkpoint carries both
    rotation = AuditCheckpoint.objects.get(note__contains=f"— {old_id} ", key_id=new_id)
    assert f"— {new_id} " in rotation.note
    assert AuditEvent.objects.filter(op=Op.KEY_ROTATION, object_id=new_id).count() == 1
    # when audit_verify runs, it passes
    code, output = run_verify()
    assert code == 0, output
    # and the published document lists both keys, the old one closed where the new one starts
    keys = json.loads(key_document(tmp_path).read_text())["keys"]
    assert [key["key_id"] for key in keys] == [old_id, new_id]
    assert keys[0]["valid_to"] == keys[1]["valid_from"] and keys[1]["valid_to"] is None
    # and an export covering both keys passes the standalone verifier, given the published keys
    path = export(tmp_path)
    header = json.loads(path.read_text().splitlines()[0])
    assert [key["key_id"] for key in header["keys"]] == [old_id, new_id]
    result = standalone(path, "--keys", str(key_document(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK: 8 events")  # 7 and the rotation's own event
    # or given the two public keys themselves
    result = standalone(path, "--public-key", keys[0]["public_key"], "--public-key", keys[1]["public_key"])
    assert result.returncode == 0, result.stderr
    # but not with the old key alone: the last checkpoint is signed by the new key only
    result = standalone(path, "--public-key", keys[0]["public_key"])
    assert result.returncode == 1 and "not signed by a known key" in result.stderr


@pytest.mark.django_db
def test_an_edited_event_is_still_named_by_its_sequence_number_after_a_rotation(
    tmp_path: Path, tamper
) -> None:
    rotated_chain()
    edited = AuditEvent.objects.order_by("id")[1]
    path = export(tmp_path)
    with tamper():
        sql("UPDATE audit_auditevent SET justification = 'nothing to see' WHERE id = %s", [edited.id])
    result = verify_chain()
    assert result.ok is False and result.first_bad_seq == seq_of(edited.id)
    code, output = run_verify()
    assert code == 1 and f"TAMPERING DETECTED at sequence {seq_of(edited.id)}" in output

    def change(lines: list[str]) -> list[str]:
        for n, line in enumerate(lines):
            item = json.loads(line)
            if item["kind"] == "event" and item["event"]["id"] == edited.id:
                item["event"]["justification"] = "nothing to see"
                lines[n] = json.dumps(item) + "\n"
        return lines

    rewrite(path, change)
    run = standalone(path, "--keys", str(key_document(tmp_path)))
    assert run.returncode == 1
    assert f"the event at sequence {seq_of(edited.id)} was changed" in run.stderr


@pytest.mark.django_db
def test_a_checkpoint_signed_by_an_unknown_key_fails(settings: Any, tmp_path: Path) -> None:
    rotated_chain()
    impostor = Ed25519PrivateKey.generate()
    size, head = chain_head()
    # in the off-database directory: audit_verify refuses it
    note = sign_checkpoint(impostor, size, head, timezone.now())
    (settings.CONVENE_CHECKPOINT_DIR / "checkpoint-999999999999.note").write_text(note)
    result = verify_chain()
    assert result.ok is False and "not signed by any known audit signing key" in result.message
    (settings.CONVENE_CHECKPOINT_DIR / "checkpoint-999999999999.note").unlink()
    assert verify_chain().ok
    # in an export: the standalone verifier refuses it, even though the note names its own key id
    path = export(tmp_path)

    def resign(lines: list[str]) -> list[str]:
        for n, line in enumerate(lines):
            item = json.loads(line)
            if item["kind"] == "checkpoint":
                _, tree_size, tree_head, _stamp = item["note"].split("\n")[:4]
                item["note"] = sign_checkpoint(impostor, int(tree_size), tree_head, timezone.now())
                lines[n] = json.dumps(item) + "\n"
        return lines

    rewrite(path, resign)
    run = standalone(path, "--keys", str(key_document(tmp_path)))
    assert run.returncode == 1 and "not signed by a known key" in run.stderr


@pytest.mark.django_db
def test_a_retired_key_cannot_sign_after_its_validity_ended(tmp_path: Path, tamper) -> None:
    make_events(2)
    old = make_checkpoint()
    assert old is not None
    old_key = Ed25519PrivateKey.from_private_bytes(
        base64.b64decode((tmp_path / "keys" / "audit-signing-key").read_text())
    )
    rotate()
    make_events(1)
    seal_pending()
    size, head = chain_head()
    # a note signed later by the retired key (say it leaked) is refused: outside its validity
    late = sign_checkpoint(old_key, size, head, timezone.now() + timedelta(seconds=1))
    (tmp_path / "checkpoints" / f"checkpoint-{size:012d}.note").write_text(late)
    result = verify_chain()
    assert result.ok is False and "outside its validity period" in result.message


@pytest.mark.django_db
def test_a_key_added_to_the_register_without_its_predecessor_fails(tamper) -> None:
    make_events(2)
    make_checkpoint()
    stranger = Ed25519PrivateKey.generate().public_key()
    AuditSigningKey.objects.create(
        key_id=key_id_for(stranger), public_key=public_b64(stranger), valid_from=timezone.now(),
        created_at=timezone.now(),
    )  # fmt: skip
    result = verify_chain()
    assert result.ok is False and "co-signed by the key before it" in result.message


@pytest.mark.django_db
def test_with_the_key_from_the_environment_the_new_key_goes_to_a_file_and_the_old_stops_signing(
    settings: Any, tmp_path: Path
) -> None:
    old_key = Ed25519PrivateKey.generate()
    settings.CONVENE_AUDIT_SIGNING_KEY = base64.b64encode(old_key.private_bytes_raw()).decode()
    make_events(2)
    make_checkpoint()
    # the secret cannot be rewritten from here: the command asks where to put the new key
    with pytest.raises(CommandError, match="--new-key-file"):
        rotate()
    target = tmp_path / "new-audit-signing-key"
    output = rotate("--new-key-file", str(target))
    assert "restart" in output and str(target) in output
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert target.read_text().strip() not in output  # the private key is never printed
    # until the new key is installed, the old one signs nothing more (sealing goes on)
    make_events(1)
    with pytest.raises(SigningKeyRetired):
        make_checkpoint()
    # once installed, checkpoints resume and the chain verifies
    settings.CONVENE_AUDIT_SIGNING_KEY = target.read_text().strip()
    assert make_checkpoint() is not None
    assert verify_chain().ok
    # a second rotation never overwrites a key file
    with pytest.raises(CommandError):
        rotate("--new-key-file", str(target))


def _older_cryptography_python() -> str:
    """A Python with Debian stable's cryptography (38.x): .ci/run makes one; elsewhere, set
    CONVENE_VERIFIER_PYTHON (python3 -m venv /tmp/c38 && /tmp/c38/bin/pip install cryptography==38.0.4)."""
    python = os.environ.get("CONVENE_VERIFIER_PYTHON")
    if not python:
        message = "set CONVENE_VERIFIER_PYTHON to a Python with Debian stable's cryptography (38.x)"
        if os.environ.get("CONVENE_CI_STRICT"):
            pytest.fail(f"CI must run this test: {message}")
        pytest.skip(message)
    return python


@pytest.mark.django_db
def test_the_standalone_verifier_runs_on_an_older_cryptography(tmp_path: Path) -> None:
    import subprocess

    python = _older_cryptography_python()

    verifier = Path(__file__).resolve().parents[2] / "tools" / "verify_audit_export.py"

    def run(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
        command = [python, "-I", str(verifier), str(path), *extra]
        return subprocess.run(
            command, capture_output=True, text=True, check=False, env={"PATH": "/usr/bin:/bin"}
        )

    # one key, given as before
    make_events(3)
    checkpoint = make_checkpoint()
    assert checkpoint is not None
    (single := tmp_path / "single").mkdir()
    key = json.loads(key_document(tmp_path).read_text())["keys"][0]["public_key"]
    result = run(export(single), "--public-key", key)
    assert result.returncode == 0, result.stderr
    # and after a rotation, with the published key document
    rotate()
    make_events(2)
    make_checkpoint()
    result = run(export(tmp_path), "--keys", str(key_document(tmp_path)))
    assert result.returncode == 0, result.stderr
