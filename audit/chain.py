"""Canonical encoding, hash chaining and signed checkpoints for the audit log.

This module is deliberately free of Django so that the same rules are easy to re-implement in the
standalone verifier (tools/verify_audit_export.py), which needs only Python and ``cryptography``.

- ``canonical(event, seq)``: UTF-8 JSON, sorted keys, no spaces, of the event's fields plus seq.
- ``chain_hash(prev, canonical)``: hex SHA-256 of ``bytes.fromhex(prev) + canonical``.
- The genesis ``prev`` is 64 zeros.
- A checkpoint is a signed note: ``origin\\ntree_size\\nhead_hash\\ntimestamp\\n\\n— key_id base64(sig)\\n``,
  one signature line per signing key (two at a key rotation).
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
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


# The canonical body's keys in sorted order (FIELDS plus "seq"): the encoders below rely on it.
SORTED_KEYS = tuple(sorted((*FIELDS, "seq")))
JSON_FIELDS = frozenset({"categories", "recipients", "detail"})

_dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
# exactly what json.dumps(..., ensure_ascii=False) emits for a str
json_string: Callable[[str], str] = json.encoder.encode_basestring
_string = json_string
CANONICAL_TEMPLATE = _TEMPLATE = "{" + ",".join(f'"{key}":%s' for key in SORTED_KEYS) + "}"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _s(value: Any) -> str:
    """A scalar as canonical JSON (str, int or None are the only types the event table holds)."""
    if value is None:
        return "null"
    kind = type(value)
    if kind is str:
        return _string(value)
    if kind is int:
        return int.__repr__(value)
    return _dumps(value)


def encode_row(row: Sequence[Any]) -> bytes:
    """Canonical bytes from plain values in SORTED_KEYS order.

    Strings, ints and None are given as themselves; ``occurred_at`` as its canonical UTC string;
    uuids as strings; the JSON fields (categories, detail, recipients) as their canonical JSON text.
    Byte-identical to ``json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
    (audit/tests/test_chain.py proves it), but several times faster: it builds no dict per event.
    """
    (
        actor_agency_id,
        actor_id,
        actor_role,
        actor_username,
        agreement_id,
        case_id,
        categories,
        client_ip,
        detail,
        event_id,
        justification,
        object_id,
        object_type,
        occurred_at,
        op,
        outcome,
        recipients,
        request_id,
        seq,
        share_id,
    ) = row
    return (
        _TEMPLATE
        % (
            _s(actor_agency_id),
            _s(actor_id),
            _s(actor_role),
            _s(actor_username),
            _s(agreement_id),
            _s(case_id),
            categories,
            _s(client_ip),
            detail,
            _s(event_id),
            _s(justification),
            _s(object_id),
            _s(object_type),
            _s(occurred_at),
            _s(op),
            _s(outcome),
            recipients,
            _s(request_id),
            _s(seq),
            _s(share_id),
        )
    ).encode("utf-8")


def plain_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event's fields as JSON-ready values (what an export writes, and what is hashed)."""
    return {name: _plain(event.get(name)) for name in FIELDS}


def canonical(event: Mapping[str, Any], seq: int) -> bytes:
    """Canonical bytes of one event at its chain position (event as read through the ORM or an export)."""
    row: list[Any] = []
    for key in SORTED_KEYS:
        if key == "seq":
            row.append(seq)
        elif key in JSON_FIELDS:
            row.append(_dumps(event.get(key)))
        else:
            row.append(_plain(event.get(key)))
    return encode_row(row)


class JsonCanon:
    """Raw JSON text (e.g. PostgreSQL jsonb output) → canonical JSON text, with a bounded memo.

    The audit JSON fields repeat a handful of values (``[]``, ``{}``, the same category lists), so
    the memo turns two JSON round trips per field into one dict lookup; it is cleared when full so
    memory stays flat however long the chain.
    """

    def __init__(self, limit: int = 50_000) -> None:
        self.limit = limit
        self.memo: dict[str, str] = {}

    def __call__(self, raw: str | None) -> str:
        if raw is None:
            return "null"
        try:
            return self.memo[raw]
        except KeyError:
            pass
        if len(self.memo) >= self.limit:
            self.memo.clear()
        text = self.memo[raw] = _dumps(json.loads(raw))
        return text


def chain_hash(prev_hash: str, encoded: bytes) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + encoded).hexdigest()


def key_id_for(public_key: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def checkpoint_body(tree_size: int, head_hash: str, timestamp: datetime) -> str:
    return f"{ORIGIN}\n{tree_size}\n{head_hash}\n{_plain(timestamp)}\n"


def sign_checkpoint(
    private_key: Ed25519PrivateKey | Sequence[Ed25519PrivateKey],
    tree_size: int,
    head_hash: str,
    timestamp: datetime,
) -> str:
    """A signed note with one signature line per key (two at a key rotation: old, then new)."""
    keys = [private_key] if isinstance(private_key, Ed25519PrivateKey) else list(private_key)
    body = checkpoint_body(tree_size, head_hash, timestamp)
    lines = []
    for key in keys:
        signature = key.sign(body.encode("utf-8"))
        lines.append(f"— {key_id_for(key.public_key())} {base64.b64encode(signature).decode()}\n")
    return f"{body}\n{''.join(lines)}"


class CheckpointError(Exception):
    pass


@dataclass(frozen=True)
class VerifiedCheckpoint:
    tree_size: int
    head_hash: str
    timestamp: datetime
    signers: tuple[str, ...]  # the key ids whose signatures verified, in the note's order


def parse_timestamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def verify_checkpoint(note: str, keys: Mapping[str, Ed25519PublicKey]) -> VerifiedCheckpoint:
    """Check a signed note against the keys it names (``keys``: key id → public key).

    Every signature line naming a known key must verify, and at least one must name a known key;
    lines naming unknown keys are ignored (a note can carry other witnesses' signatures).
    """
    body, sep, signature_block = note.partition("\n\n")
    if not sep:
        raise CheckpointError("The checkpoint has no signature block.")
    body += "\n"
    lines = body.splitlines()
    if len(lines) != 4 or lines[0] != ORIGIN:
        raise CheckpointError("The checkpoint body is malformed.")
    try:
        tree_size, timestamp = int(lines[1]), parse_timestamp(lines[3])
    except ValueError as exc:
        raise CheckpointError("The checkpoint body is malformed.") from exc
    signers: list[str] = []
    for line in signature_block.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != "—" or parts[1] not in keys:
            continue
        try:
            keys[parts[1]].verify(base64.b64decode(parts[2]), body.encode("utf-8"))
        except (InvalidSignature, ValueError) as exc:
            raise CheckpointError(f"The checkpoint signature by key {parts[1]} does not verify.") from exc
        signers.append(parts[1])
    if not signers:
        raise CheckpointError("The checkpoint is not signed by any known audit signing key.")
    return VerifiedCheckpoint(tree_size, lines[2], timestamp, tuple(signers))


def parse_checkpoint(note: str, public_key: Ed25519PublicKey) -> tuple[int, str]:
    """Verify a signed note with one key and return ``(tree_size, head_hash)``; raise CheckpointError."""
    checked = verify_checkpoint(note, {key_id_for(public_key): public_key})
    return checked.tree_size, checked.head_hash
