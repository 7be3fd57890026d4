"""audit_export writes a verifiable stretch of the chain; the standalone verifier catches any tampering."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from audit.models import AuditEvent, Op
from audit.services import make_checkpoint, public_key_b64, record_event

from .conftest import make_events

VERIFIER = Path(__file__).resolve().parents[2] / "tools" / "verify_audit_export.py"


def export(tmp_path: Path, fmt: str = "jsonl") -> Path:
    now = timezone.now()
    target = tmp_path / f"export.{fmt}"
    call_command(
        "audit_export",
        "--since",
        (now - timedelta(hours=1)).isoformat(),
        "--until",
        (now + timedelta(hours=1)).isoformat(),
        "--format",
        fmt,
        "--output",
        str(target),
        stdout=io.StringIO(),
    )
    return target


def standalone(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run the verifier as a user would: plain Python, outside the project, with no Django settings."""
    return subprocess.run(
        [sys.executable, "-I", str(VERIFIER), str(path), *extra],
        capture_output=True,
        text=True,
        cwd=path.parent,
        env={"PATH": "/usr/bin:/bin"},
        check=False,
    )


def rewrite(path: Path, change) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(change(lines)), encoding="utf-8")


@pytest.fixture
def exported(db, tmp_path: Path) -> Path:
    make_events(6)
    make_checkpoint()
    make_events(3)  # sealed by the export itself
    return export(tmp_path)


@pytest.mark.django_db
def test_an_untouched_export_passes_the_standalone_verifier(exported: Path) -> None:
    # when the export is checked with only Python and cryptography, against the known public key
    result = standalone(exported, "--public-key", public_key_b64())
    # then it passes, and the export was itself audited
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK: 9 events")
    export_event = AuditEvent.objects.get(op=Op.EXPORT)
    assert export_event.detail["events"] == 9 and export_event.detail["format"] == "jsonl"


@pytest.mark.django_db
def test_an_untouched_csv_export_passes_and_a_changed_cell_fails(tmp_path: Path) -> None:
    make_events(4, recipients=['Victim, "quoted"\nline'])
    path = export(tmp_path, "csv")
    assert standalone(path, "--public-key", public_key_b64()).returncode == 0
    rewrite(path, lambda lines: [line.replace("lead agency #2", "lead agency #9") for line in lines])
    result = standalone(path, "--public-key", public_key_b64())
    assert result.returncode == 1 and "was changed" in result.stderr


def _change_field(lines: list[str]) -> list[str]:
    item = json.loads(lines[3])
    item["event"]["justification"] = "nothing to see"
    lines[3] = json.dumps(item) + "\n"
    return lines


def _swap(lines: list[str]) -> list[str]:
    lines[2], lines[3] = lines[3], lines[2]
    return lines


def _forge_checkpoint(lines: list[str]) -> list[str]:
    for n, line in enumerate(lines):
        item = json.loads(line)
        if item["kind"] == "checkpoint":
            head = item["note"].split("\n")[2]
            item["note"] = item["note"].replace(head, "e" * 64)
            lines[n] = json.dumps(item) + "\n"
    return lines


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (_change_field, "was changed"),
        (lambda lines: lines[:3] + lines[4:], "missing or out of order"),
        (_swap, "missing or out of order"),
        (_forge_checkpoint, "bad signature"),
        (lambda lines: [line for line in lines if '"kind":"checkpoint"' not in line], "no signed checkpoint"),
    ],
    ids=["changed-field", "deleted-line", "reordered-lines", "forged-checkpoint", "checkpoint-removed"],
)
def test_a_tampered_export_fails_the_standalone_verifier(exported: Path, change, complaint: str) -> None:
    # given an export tampered with after it left Convene
    rewrite(exported, change)
    # when it is verified / then it fails, saying what is wrong
    result = standalone(exported, "--public-key", public_key_b64())
    assert result.returncode == 1
    assert complaint in result.stderr


@pytest.mark.django_db
def test_an_export_re_signed_with_another_key_fails_against_the_real_key(exported: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from audit.chain import sign_checkpoint

    impostor = Ed25519PrivateKey.generate()

    def resign(lines: list[str]) -> list[str]:
        for n, line in enumerate(lines):
            item = json.loads(line)
            if item["kind"] == "header":
                item["public_key"] = base64.b64encode(impostor.public_key().public_bytes_raw()).decode()
            if item["kind"] == "checkpoint":
                _, size, head, _stamp = item["note"].split("\n")[:4]
                item["note"] = sign_checkpoint(impostor, int(size), head, timezone.now())
            lines[n] = json.dumps(item) + "\n"
        return lines

    rewrite(exported, resign)
    assert standalone(exported, "--public-key", public_key_b64()).returncode == 1


@pytest.mark.django_db
def test_a_csv_export_neutralises_formulas_and_still_verifies(tmp_path: Path) -> None:
    # given events whose justification a spreadsheet would run
    make_events(2)
    record_event(Op.CONSULT, username="x", justification='=HYPERLINK("https://evil.example","y")')
    record_event(Op.CONSULT, username="y", justification="'quoted already")
    # when they are exported as CSV
    path = export(tmp_path, "csv")
    text = path.read_text(encoding="utf-8")
    # then the cells are text to a spreadsheet, and the standalone verifier still checks every hash
    assert "'=HYPERLINK(" in text and "''quoted already" in text
    assert ",=HYPERLINK(" not in text
    result = standalone(path, "--public-key", public_key_b64())
    assert result.returncode == 0, result.stderr
