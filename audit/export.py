"""Chain exports: a stretch of the audit chain with its hashes, the covering checkpoints and the public key.

The output is checked without Convene by tools/verify_audit_export.py (Python + cryptography only).

JSON Lines: one object per line with ``kind``:
  ``header``     format, origin, public_key (the current key, base64 raw Ed25519), keys (every signing
                 key with its key_id and validity, as /.well-known/convene-audit-keys.json), since,
                 until, first_seq, last_seq
  ``event``      seq, prev_hash, hash and ``event`` (every hashed field, canonical plain values)
  ``link``       seq, prev_hash, hash only: the chain between the last exported event and the checkpoint
  ``checkpoint`` the signed note exactly as published
CSV: columns ``kind, seq, prev_hash, hash, <event fields…>, note``; JSON fields as compact JSON, null
as an empty cell; the header is JSON in ``note``. Cells are neutralised against formula injection
(core.csvcells): one leading apostrophe is dropped from a cell to read its value.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Max, Min
from django.utils import timezone

from core.csvcells import Writable, csv_writer

from .chain import FIELDS, JSON_FIELDS, ORIGIN, plain_event
from .models import AuditCheckpoint, AuditEvent, AuditSeal, Op
from .services import EVENT_FIELDS, make_checkpoint, public_key_b64, published_keys, record_event

FORMAT = "convene-audit-export/1"
CSV_COLUMNS = ("kind", "seq", "prev_hash", "hash", *FIELDS, "note")


@dataclass
class ExportSummary:
    events: int
    first_seq: int | None
    last_seq: int | None
    checkpoints: int


def _lines(since: datetime, until: datetime, chunk: int = 5_000) -> Iterator[dict[str, Any]]:
    make_checkpoint()  # seal what is pending and sign the head, so the export is covered
    in_window = AuditEvent.objects.filter(occurred_at__gte=since, occurred_at__lt=until).values("id")
    bounds = AuditSeal.objects.filter(event_id__in=in_window).aggregate(first=Min("seq"), last=Max("seq"))
    first, last = bounds["first"], bounds["last"]
    covering = (
        AuditCheckpoint.objects.filter(tree_size__gte=last).order_by("tree_size").first() if last else None
    )
    end = covering.tree_size if covering else (last or 0)
    yield {
        "kind": "header",
        "format": FORMAT,
        "origin": ORIGIN,
        "public_key": public_key_b64(),
        "keys": published_keys()["keys"],
        "since": since.isoformat(),
        "until": until.isoformat(),
        "first_seq": first,
        "last_seq": last,
        "exported_at": timezone.now().isoformat(),
    }
    if first is None:
        return
    cursor = first - 1
    while cursor < end:
        seals = list(
            AuditSeal.objects.filter(seq__gt=cursor, seq__lte=end)
            .order_by("seq")
            .values_list("seq", "event_id", "prev_hash", "hash")[:chunk]
        )
        if not seals:
            break
        wanted = [event_id for seq, event_id, _, _ in seals if seq <= last]
        events = {e["id"]: e for e in AuditEvent.objects.filter(id__in=wanted).values(*EVENT_FIELDS)}
        for seq, event_id, prev_hash, digest in seals:
            line: dict[str, Any] = {"kind": "link", "seq": seq, "prev_hash": prev_hash, "hash": digest}
            if seq <= last and event_id in events:
                line["kind"] = "event"
                line["event"] = plain_event(events[event_id])
            yield line
        cursor = seals[-1][0]
    for checkpoint in AuditCheckpoint.objects.filter(tree_size__gte=first, tree_size__lte=end).order_by(
        "tree_size"
    ):
        yield {"kind": "checkpoint", "note": checkpoint.note}


def _csv_row(line: dict[str, Any]) -> list[str]:
    row = {"kind": line["kind"], "seq": line.get("seq", ""), "prev_hash": line.get("prev_hash", "")}
    row["hash"] = line.get("hash", "")
    if line["kind"] == "header":
        row["note"] = json.dumps({k: v for k, v in line.items() if k != "kind"}, sort_keys=True)
    elif line["kind"] == "checkpoint":
        row["note"] = line["note"]
    for name, value in line.get("event", {}).items():
        if name in JSON_FIELDS:
            row[name] = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        else:
            row[name] = "" if value is None else value
    return [str(row.get(column, "")) for column in CSV_COLUMNS]


def write_export(out: Writable, since: datetime, until: datetime, fmt: str, actor: str = "") -> ExportSummary:
    """Write the export and record it as an EXPORT audit event (ids and counts only)."""
    events = checkpoints = 0
    first = last = None
    writer = csv_writer(out, lineterminator="\n") if fmt == "csv" else None
    if writer is not None:
        writer.writerow(CSV_COLUMNS)
    for line in _lines(since, until):
        if line["kind"] == "header":
            first, last = line["first_seq"], line["last_seq"]
        events += line["kind"] == "event"
        checkpoints += line["kind"] == "checkpoint"
        if writer is not None:
            writer.writerow(_csv_row(line))
        else:
            out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
    record_event(
        Op.EXPORT,
        username=actor or "audit_export",
        object_type="audit.AuditEvent",
        detail={
            "what": "audit chain export",
            "format": fmt,
            "since": since.isoformat(),
            "until": until.isoformat(),
            "events": events,
            "first_seq": first,
            "last_seq": last,
        },
    )
    return ExportSummary(events, first, last, checkpoints)
