"""Canonical encoding, hash chaining and signed checkpoints for the audit log.

This module is deliberately free of Django so that the same rules are easy to re-implement in the
standalone verifier (tools/verify_audit_export.py), which needs only Python and ``cryptography``.

- ``canonical(event, seq)``: UTF-8 JSON, sorted keys, no spaces, of the event's fields plus seq.
- ``chain_hash(prev, canonical)``: hex SHA-256 of ``bytes.fromhex(prev) + canonical``.
- The genesis ``prev`` is 64 zeros.
- A checkpoint is a signed note: ``origin\\ntree_size\\nhead_hash\\ntimestamp\\n\\n— key_id base64(sig)\\n``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

GENESIS = "0" * 64
ORIGIN = "convene.audit/v1"
FIELDS = (
    "id",
    "occurred_at",
    "actor_id",
    "actor_username",
    "actor_agency_id",
    "actor_role",
    "op",
    "object_type",
    "object_id",
    "case_id",
    "categories",
    "justification",
    "share_id",
    "agreement_id",
    "recipients",
    "outcome",
    "detail",
    "request_id",
    "client_ip",
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def canonical(event: Mapping[str, Any], seq: int) -> bytes:
    body = {name: _plain(event.get(name)) for name in FIELDS}
    body["seq"] = seq
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def chain_hash(prev_hash: str, encoded: bytes) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + encoded).hexdigest()


def key_id_for(public_key: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def checkpoint_body(tree_size: int, head_hash: str, timestamp: datetime) -> str:
    return f"{ORIGIN}\n{tree_size}\n{head_hash}\n{_plain(timestamp)}\n"


def sign_checkpoint(
    private_key: Ed25519PrivateKey, tree_size: int, head_hash: str, timestamp: datetime
) -> str:
    body = checkpoint_body(tree_size, head_hash, timestamp)
    signature = private_key.sign(body.encode("utf-8"))
    key_id = key_id_for(private_key.public_key())
    return f"{body}\n— {key_id} {base64.b64encode(signature).decode()}\n"


class CheckpointError(Exception):
    pass


def parse_checkpoint(note: str, public_key: Ed25519PublicKey) -> tuple[int, str]:
    """Verify a signed note and return ``(tree_size, head_hash)``; raise CheckpointError if invalid."""
    body, sep, signature_block = note.partition("\n\n")
    if not sep:
        raise CheckpointError("The checkpoint has no signature block.")
    body += "\n"
    lines = body.splitlines()
    if len(lines) != 4 or lines[0] != ORIGIN:
        raise CheckpointError("The checkpoint body is malformed.")
    expected_key = key_id_for(public_key)
    for line in signature_block.splitlines():
        parts = line.split(" ")
        if len(parts) == 3 and parts[0] == "—" and parts[1] == expected_key:
            try:
                public_key.verify(base64.b64decode(parts[2]), body.encode("utf-8"))
            except (InvalidSignature, ValueError) as exc:
                raise CheckpointError("The checkpoint signature does not verify.") from exc
            return int(lines[1]), lines[2]
    raise CheckpointError("The checkpoint is not signed by the audit signing key.")
