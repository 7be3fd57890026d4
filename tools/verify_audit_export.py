#!/usr/bin/env python3
"""Verify a Convene audit export without Convene: needs only Python 3.11+ and ``cryptography`` >= 2.6
(Debian stable's python3-cryptography 38 is fine).

    python verify_audit_export.py export.jsonl [--keys convene-audit-keys.json]
                                               [--public-key BASE64 ...] [--public-key-file FILE]
    python verify_audit_export.py export.csv   (a cell beginning with an apostrophe had one added
                                               against formula injection; it is dropped here)

Checks that every exported event hashes to its chain entry, that the entries link without a gap
from the first exported sequence number to the covering checkpoint, and that each checkpoint is
signed by the audit key (Ed25519) and names the head hash the chain reaches. Exit 0 when all hold;
otherwise exit 1 naming the first sequence number (or line) that fails.

Each checkpoint is checked with the key it names (its signature lines carry key ids). Pass the keys
you obtained independently: ``--keys`` takes the published key document
(``/.well-known/convene-audit-keys.json``: every key with its validity period, which is then enforced),
``--public-key`` one base64 key (repeatable), ``--public-key-file`` a file of them, one per line. The
keys embedded in the export are only trusted when no key is given, and a warning says so.

Rules (identical to audit/chain.py in Convene):
  canonical(event, seq) = UTF-8 of json.dumps({event fields…, "seq": seq}, sort_keys=True,
                          separators=(",", ":"), ensure_ascii=False)
  hash(seq)             = hex SHA-256( bytes.fromhex(prev_hash) + canonical )   (genesis prev = 64 zeros)
  checkpoint note       = "convene.audit/v1\\n<size>\\n<head hash>\\n<time>\\n\\n— <key id> <b64 sig>\\n"
                          signed over its first four lines (with their newlines), one "— " line per
                          signing key (two at a key rotation); key id = first 16 hex of SHA-256 of the
                          raw public key.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import json
import sys
from datetime import UTC, datetime

MINIMUM_CRYPTOGRAPHY = (2, 6)  # Ed25519 and Encoding.Raw / PublicFormat.Raw
try:
    import cryptography
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
except ImportError:  # pragma: no cover - depends on the machine
    sys.exit("This verifier needs the Python package 'cryptography' 2.6 or later (pip install cryptography).")
if tuple(int(part) for part in cryptography.__version__.split(".")[:2]) < MINIMUM_CRYPTOGRAPHY:
    sys.exit(f"This verifier needs cryptography 2.6 or later; this is {cryptography.__version__}.")

ORIGIN = "convene.audit/v1"
FIELDS = (
    "id", "occurred_at", "actor_id", "actor_username", "actor_agency_id", "actor_role", "op",
    "object_type", "object_id", "case_id", "categories", "justification", "share_id", "agreement_id",
    "recipients", "outcome", "detail", "request_id", "client_ip",
)  # fmt: skip
INT_FIELDS = {"id", "actor_id", "actor_agency_id"}
NULLABLE = {"actor_id", "actor_agency_id", "case_id", "share_id", "agreement_id", "client_ip"}
JSON_FIELDS = {"categories", "recipients", "detail"}


class Failure(Exception):
    pass


def canonical(event: dict, seq: int) -> bytes:
    body = {name: event.get(name) for name in FIELDS}
    body["seq"] = seq
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class Key:
    """A trusted public key, with its validity period when the key document gives one."""

    def __init__(self, public: Ed25519PublicKey, valid_from: str | None = None, valid_to: str | None = None):
        self.public = public
        self.key_id = hashlib.sha256(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()[:16]
        self.valid_from = _moment(valid_from) if valid_from else None
        self.valid_to = _moment(valid_to) if valid_to else None

    def covers(self, moment: datetime) -> bool:
        return (self.valid_from is None or self.valid_from <= moment) and (
            self.valid_to is None or moment <= self.valid_to
        )


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def key_from_b64(text: str) -> Key:
    return Key(Ed25519PublicKey.from_public_bytes(base64.b64decode(text.strip())))


def keys_from_document(document: dict) -> dict[str, Key]:
    """The published key document (or an export header's ``keys``): key id → key with validity."""
    keys = {}
    for entry in document.get("keys", []):
        key = Key(
            Ed25519PublicKey.from_public_bytes(base64.b64decode(entry["public_key"])),
            entry.get("valid_from"),
            entry.get("valid_to"),
        )
        if entry.get("key_id") not in (None, key.key_id):
            raise Failure(f"the key document names key {entry['key_id']} but its key is {key.key_id}")
        keys[key.key_id] = key
    return keys


def check_note(note: str, keys: dict[str, Key]) -> tuple[int, str]:
    """Check every signature line that names a trusted key (at least one must); the note's time must
    fall in each signing key's validity period."""
    body, sep, signatures = note.partition("\n\n")
    lines = (body + "\n").splitlines()
    if not sep or len(lines) != 4 or lines[0] != ORIGIN:
        raise Failure("a checkpoint is malformed")
    signed = 0
    for line in signatures.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != "—" or parts[1] not in keys:
            continue
        key = keys[parts[1]]
        try:
            key.public.verify(base64.b64decode(parts[2]), (body + "\n").encode("utf-8"))
        except (InvalidSignature, ValueError) as exc:
            raise Failure(
                f"the checkpoint at tree size {lines[1]} has a bad signature (key {parts[1]})"
            ) from exc
        if not key.covers(_moment(lines[3])):
            raise Failure(
                f"the checkpoint at tree size {lines[1]} is signed by key {parts[1]} "
                "outside its validity period"
            )
        signed += 1
    if not signed:
        raise Failure(f"the checkpoint at tree size {lines[1]} is not signed by a known key")
    return int(lines[1]), lines[2]


def read_jsonl(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _restore(text: str) -> str:
    """Undo Convene's formula-injection guard: a cell that begins with an apostrophe had one added."""
    return text[1:] if text.startswith("'") else text


def read_csv(path: str) -> list[dict]:
    items = []
    with open(path, encoding="utf-8", newline="") as handle:
        for raw in csv.DictReader(handle):
            row = {name: _restore(value or "") for name, value in raw.items()}
            kind = row["kind"]
            if kind == "header":
                items.append({"kind": kind, **json.loads(row["note"])})
            elif kind == "checkpoint":
                items.append({"kind": kind, "note": row["note"]})
            else:
                item = {
                    "kind": kind,
                    "seq": int(row["seq"]),
                    "prev_hash": row["prev_hash"],
                    "hash": row["hash"],
                }
                if kind == "event":
                    event = {}
                    for name in FIELDS:
                        value = row[name]
                        if name in JSON_FIELDS:
                            event[name] = json.loads(value)
                        elif name in NULLABLE and value == "":
                            event[name] = None
                        elif name in INT_FIELDS:
                            event[name] = int(value)
                        else:
                            event[name] = value
                    item["event"] = event
                items.append(item)
    return items


def verify(items: list[dict], keys: dict[str, Key] | None) -> str:
    if not items or items[0].get("kind") != "header":
        raise Failure("line 1 is not an export header")
    header = items[0]
    if not keys:
        keys = keys_from_document(header) if header.get("keys") else {}
        if "public_key" in header:
            current = key_from_b64(header["public_key"])
            keys.setdefault(current.key_id, current)
    heads: dict[int, str] = {}
    for item in items:
        if item.get("kind") == "checkpoint":
            size, head = check_note(item["note"], keys)
            heads[size] = head
    entries = [item for item in items if item.get("kind") in ("event", "link")]
    if header.get("first_seq") is None:
        if entries:
            raise Failure("the header says the export is empty but it holds chain entries")
        return "0 events (empty export)"
    expected, prev, events = header["first_seq"], None, 0
    for item in entries:
        seq = item["seq"]
        if seq != expected:
            raise Failure(f"sequence {expected} is missing or out of order (found {seq})")
        if prev is not None and item["prev_hash"] != prev:
            raise Failure(f"sequence {seq} does not link to sequence {seq - 1}")
        if item["kind"] == "event":
            events += 1
            digest = hashlib.sha256(
                bytes.fromhex(item["prev_hash"]) + canonical(item["event"], seq)
            ).hexdigest()
            if digest != item["hash"]:
                raise Failure(f"the event at sequence {seq} was changed")
        elif seq <= header["last_seq"]:
            raise Failure(f"the event at sequence {seq} was removed from the export")
        if seq in heads and heads[seq] != item["hash"]:
            raise Failure(f"sequence {seq} disagrees with its signed checkpoint")
        prev, expected = item["hash"], seq + 1
    last = expected - 1
    if header["last_seq"] > last:
        raise Failure(f"sequence {last + 1} is missing (the export was cut short)")
    covered = [size for size in heads if header["first_seq"] <= size <= last]
    if not covered or max(covered) != last:
        raise Failure(f"no signed checkpoint covers the end of the export (sequence {last})")
    return (
        f"{events} events, sequences {header['first_seq']}–{header['last_seq']}, {len(covered)} checkpoint(s)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a Convene audit export.")
    parser.add_argument("export", help="the .jsonl or .csv file written by manage.py audit_export")
    parser.add_argument(
        "--public-key", action="append", default=[], help="an audit public key, base64 of the raw 32 bytes"
    )
    parser.add_argument("--public-key-file", help="a file of such base64 keys, one per line")
    parser.add_argument("--keys", help="the published key document (convene-audit-keys.json)")
    args = parser.parse_args(argv)
    texts = list(args.public_key)
    try:
        if args.public_key_file:
            with open(args.public_key_file, encoding="utf-8") as handle:
                texts += [line for line in handle if line.strip()]
        keys: dict[str, Key] = {}
        if args.keys:
            with open(args.keys, encoding="utf-8") as handle:
                keys.update(keys_from_document(json.load(handle)))
        for text in texts:
            key = key_from_b64(text)
            keys.setdefault(key.key_id, key)
    except (Failure, OSError, ValueError, KeyError, TypeError) as exc:
        print(f"FAILED: the keys given cannot be read: {exc}", file=sys.stderr)
        return 1
    if not keys:
        print(
            "warning: trusting the public keys embedded in the export; pass --keys or --public-key",
            file=sys.stderr,
        )
    try:
        items = read_csv(args.export) if args.export.endswith(".csv") else read_jsonl(args.export)
        summary = verify(items, keys)
    except (Failure, ValueError, KeyError, TypeError) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"OK: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
