"""Writing, sealing, checkpointing and verifying the audit log.

``record_event`` is called by every do_* service inside its transaction: if the audit write fails,
the action fails with it. It takes names and ids only; callers never pass a sensitive value.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, Model, OuterRef
from django.utils import timezone

from config.keyfiles import read_or_create
from core import context

from .chain import (
    FIELDS,
    GENESIS,
    CheckpointError,
    JsonCanon,
    canonical,
    chain_hash,
    key_id_for,
    parse_checkpoint,
    sign_checkpoint,
)
from .models import AuditCheckpoint, AuditEvent, AuditPending, AuditSeal, AuditVerification, Op

if TYPE_CHECKING:
    from agencies.models import Agency

log = logging.getLogger(__name__)
SEAL_LOCK_ID = 4_242_001
EVENT_FIELDS = FIELDS  # the canonical encoding covers every column
# What auditors read and export: every column but the free-form detail and the client address.
PUBLIC_FIELDS = tuple(name for name in FIELDS if name not in ("detail", "client_ip"))


def record_event(
    op: str,
    *,
    actor: Any = None,
    agency: Agency | None = None,
    role: str = "",
    obj: Model | None = None,
    object_type: str = "",
    object_id: str = "",
    case_id: Any = None,
    categories: Iterable[str] = (),
    justification: str = "",
    share_id: Any = None,
    agreement_id: Any = None,
    recipients: Iterable[str] = (),
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
    username: str = "",
) -> AuditEvent:
    """Append one event in the current transaction (or a new one). Never pass a sensitive value."""
    request = context.current()
    if obj is not None:
        object_type = object_type or obj._meta.label
        object_id = object_id or str(obj.pk)
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    with transaction.atomic(savepoint=False):
        event = AuditEvent.objects.create(
            occurred_at=timezone.now(),
            actor_id=actor.pk if authenticated else None,
            actor_username=actor.get_username() if authenticated else username[:150],
            actor_agency_id=agency.pk if agency is not None else None,
            actor_role=role,
            op=op,
            object_type=object_type,
            object_id=object_id,
            case_id=case_id,
            categories=sorted(set(categories)),
            justification=justification,
            share_id=share_id,
            agreement_id=agreement_id,
            recipients=list(recipients),
            outcome=outcome,
            detail=detail or {},
            request_id=request.request_id,
            client_ip=request.client_ip,
        )
        AuditPending.objects.create(event_id=event.id)
    return event


def record_denied(user: Any, case_id: Any, surface: str) -> AuditEvent | None:
    """Record PERMISSION_DENIED when ``user`` was refused an EXISTING case (call where access_case 404s).

    ``surface`` names where it happened (a URL name such as ``"cases:detail"`` or ``"api:case-detail"``).
    Missing cases and malformed ids record nothing (they are not attempts on a case). The event
    notes whether the user's agency once held a share of the case that has since been revoked, so the
    auditor's "attempts after a share was revoked" flag needs no further lookup. Never raises for a
    malformed id; stores only ids.
    """
    import uuid

    from cases.models import Case
    from sharing import policy
    from sharing.models import CaseShare

    try:
        case_uuid = uuid.UUID(str(case_id))
    except ValueError:
        return None
    if not Case.objects.filter(pk=case_uuid).exists():
        return None
    membership = policy.primary_membership(user)
    agency_ids = policy.agency_ids(user)
    revoked = list(
        CaseShare.objects.filter(case_id=case_uuid, agency_id__in=agency_ids, revoked_at__isnull=False)
        .order_by("-revoked_at")
        .values_list("pk", flat=True)[:1]
    )
    return record_event(
        Op.PERMISSION_DENIED,
        actor=user,
        agency=membership.agency if membership else None,
        role=membership.role if membership else "",
        object_type="cases.Case",
        object_id=str(case_uuid),
        case_id=case_uuid,
        share_id=revoked[0] if revoked else None,
        outcome="denied",
        detail={"surface": surface[:100], "after_revocation": bool(revoked)},
    )


# --- signing key ----------------------------------------------------------------------------
def signing_key() -> Ed25519PrivateKey:
    spec = settings.CONVENE_AUDIT_SIGNING_KEY
    if not spec:
        if not settings.CONVENE_CREATE_KEY_FILES:
            raise RuntimeError("CONVENE_AUDIT_SIGNING_KEY is not set; checkpoints cannot be signed.")
        spec = read_or_create(
            settings.CONVENE_KEY_DIR / "audit-signing-key",
            lambda: base64.b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode(),
        )
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(spec))


def verify_key() -> Ed25519PublicKey:
    return signing_key().public_key()


def public_key_b64() -> str:
    return base64.b64encode(verify_key().public_bytes_raw()).decode()


# --- sealing --------------------------------------------------------------------------------
def _take_seal_lock() -> bool:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [SEAL_LOCK_ID])
            return bool(cursor.fetchone()[0])
    return True  # SQLite: the IMMEDIATE write transaction already serialises sealers


def chain_head() -> tuple[int, str]:
    last = AuditSeal.objects.order_by("-seq").values_list("seq", "hash").first()
    return (last[0], last[1]) if last else (0, GENESIS)


def seal_pending(batch_size: int = 5000) -> int:
    """Give unsealed events their chain positions, in sealing order. Returns how many were sealed.

    One sealer at a time (advisory lock on PostgreSQL). Safe to kill at any point: a batch is
    sealed in one transaction, so it is either wholly chained or not at all.
    """
    sealed = 0
    after = 0  # keyset within one run: the queue's consumed head is dead tuples until vacuumed
    while True:
        with transaction.atomic():
            if not _take_seal_lock():
                return sealed
            ids = list(
                AuditPending.objects.filter(event_id__gt=after)
                .order_by("event_id")
                .values_list("event_id", flat=True)[:batch_size]
            )
            if not ids:
                return sealed
            events = AuditEvent.objects.filter(id__in=ids).order_by("id").values(*EVENT_FIELDS)
            seq, prev = chain_head()
            now = timezone.now()
            seals = []
            for event in events:
                seq += 1
                digest = chain_hash(prev, canonical(event, seq))
                seals.append(
                    AuditSeal(seq=seq, event_id=event["id"], prev_hash=prev, hash=digest, sealed_at=now)
                )
                prev = digest
            if len(seals) != len(ids):  # queued events that no longer exist: only possible by tampering
                log.warning("Audit sealer: %d queued event(s) are missing.", len(ids) - len(seals))
            AuditSeal.objects.bulk_create(seals, batch_size=2000)
            _consume_pending(ids)
            sealed += len(seals)
            after = ids[-1]
        if len(ids) < batch_size:
            return sealed


def _consume_pending(ids: list[int]) -> None:
    """Remove sealed events from the queue (same transaction as their seals)."""
    AuditPending.objects.filter(event_id__in=ids).delete()


def make_checkpoint() -> AuditCheckpoint | None:
    """Seal what is pending, then sign the chain head; the note is also written outside the database."""
    seal_pending()
    tree_size, head = chain_head()
    if tree_size == 0:
        return None
    latest = AuditCheckpoint.objects.order_by("-tree_size").first()
    if latest is not None and latest.tree_size == tree_size:
        return latest
    now = timezone.now()
    key = signing_key()
    note = sign_checkpoint(key, tree_size, head, now)
    checkpoint = AuditCheckpoint.objects.create(
        tree_size=tree_size, head_hash=head, note=note, key_id=key_id_for(key.public_key()), created_at=now
    )
    directory = settings.CONVENE_CHECKPOINT_DIR
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"checkpoint-{tree_size:012d}.note").write_text(note)
    return checkpoint


# --- verification ---------------------------------------------------------------------------
@dataclass
class VerifyResult:
    ok: bool
    verified: int
    message: str
    first_bad_seq: int | None = None
    checkpoints: int = 0
    unsealed: int = 0


Row = tuple[int, str, str, bool, bytes]  # seq, prev_hash, hash, event exists, canonical bytes

# PostgreSQL walk: one indexed keyset chunk per query. The database assembles the canonical text of
# every scalar field itself (to_json escapes strings exactly as Python's json does; timestamps by
# to_char), leaving Python only the three JSON fields, normalised through a memo: no model instance,
# no dict and no per-field call per event. Sealing uses the ORM and Python (canonical()), so each
# verification is also an independent cross-check of the two encoders.
_PG_WALK = """
SELECT s.seq, s.prev_hash, s.hash, e.id IS NOT NULL,
  '{"actor_agency_id":' || coalesce(e.actor_agency_id::text, 'null')
  || ',"actor_id":' || coalesce(e.actor_id::text, 'null')
  || ',"actor_role":' || to_json(e.actor_role)::text
  || ',"actor_username":' || to_json(e.actor_username)::text
  || ',"agreement_id":' || coalesce(to_json(e.agreement_id)::text, 'null')
  || ',"case_id":' || coalesce(to_json(e.case_id)::text, 'null')
  || ',"categories":',
  e.categories,
  ',"client_ip":' || coalesce(to_json(e.client_ip)::text, 'null') || ',"detail":',
  e.detail,
  ',"id":' || e.id::text
  || ',"justification":' || to_json(e.justification)::text
  || ',"object_id":' || to_json(e.object_id)::text
  || ',"object_type":' || to_json(e.object_type)::text
  || ',"occurred_at":"' || to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
  || '","op":' || to_json(e.op)::text
  || ',"outcome":' || to_json(e.outcome)::text
  || ',"recipients":',
  e.recipients,
  ',"request_id":' || to_json(e.request_id)::text || ',"seq":' || s.seq::text
  || ',"share_id":' || coalesce(to_json(e.share_id)::text, 'null') || '}'
FROM audit_auditseal s LEFT JOIN audit_auditevent e ON e.id = s.event_id
WHERE s.seq > %s ORDER BY s.seq LIMIT %s
"""


def _walk_postgresql(chunk: int) -> Iterator[list[Row]]:
    canon = JsonCanon()
    last = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(_PG_WALK, [last, chunk])
            rows = cursor.fetchall()
        if not rows:
            return
        out: list[Row] = []
        for seq, prev_hash, digest, exists, p1, categories, p2, detail, p3, recipients, p4 in rows:
            if exists and p1 is not None and p3 is not None:
                text = p1 + canon(categories) + p2 + canon(detail) + p3 + canon(recipients) + p4
                out.append((seq, prev_hash, digest, True, text.encode("utf-8")))
            else:  # deleted, or a NOT NULL column emptied by someone who altered the schema
                out.append((seq, prev_hash, digest, bool(exists), b""))
        yield out
        last = rows[-1][0]


def _walk_generic(chunk: int) -> Iterator[list[Row]]:
    last = 0
    while True:
        seals = list(
            AuditSeal.objects.filter(seq__gt=last)
            .order_by("seq")
            .values_list("seq", "event_id", "prev_hash", "hash")[:chunk]
        )
        if not seals:
            return
        events = {
            row["id"]: row
            for row in AuditEvent.objects.filter(id__in=[s[1] for s in seals]).values(*EVENT_FIELDS)
        }
        out: list[Row] = []
        for seq, event_id, prev_hash, digest in seals:
            event = events.get(event_id)
            out.append((seq, prev_hash, digest, event is not None, canonical(event, seq) if event else b""))
        yield out
        last = seals[-1][0]


def walk_chain(chunk: int = 20_000) -> Iterator[list[Row]]:
    """The sealed chain in seq order, as chunks of rows: memory stays flat however long the chain."""
    if connection.vendor == "postgresql":
        return _walk_postgresql(chunk)
    return _walk_generic(min(chunk, 5_000))


def _checkpoints(public_key: Ed25519PublicKey) -> tuple[dict[int, str], VerifyResult | None]:
    """Every checkpoint, from the database and from the off-database directory, signature-checked."""
    heads: dict[int, str] = {}
    notes: list[tuple[str, str, int | None, str | None]] = [
        (f"checkpoint {c.pk}", c.note, c.tree_size, c.head_hash) for c in AuditCheckpoint.objects.all()
    ]
    directory = settings.CONVENE_CHECKPOINT_DIR
    if directory.is_dir():
        for path in sorted(directory.glob("checkpoint-*.note")):
            notes.append((f"file {path.name}", path.read_text(), None, None))
    for where, note, stored_size, stored_head in notes:
        try:
            size, head = parse_checkpoint(note, public_key)
        except CheckpointError as exc:
            return heads, VerifyResult(False, 0, f"The {where}: {exc}", stored_size)
        if stored_size is not None and (size != stored_size or head != stored_head):
            return heads, VerifyResult(False, 0, f"The {where} was altered (its columns disagree).", size)
        if heads.get(size, head) != head:
            return heads, VerifyResult(False, 0, f"Two signed checkpoints disagree at {size}.", size)
        heads[size] = head
    return heads, None


def verify_chain(progress: Callable[[int], object] | None = None, chunk: int = 20_000) -> VerifyResult:
    """Walk the whole chain and check every checkpoint. Names the first sequence number that is wrong.

    Detects an event changed (its hash no longer matches), deleted (its seal points at nothing, or a
    seal is missing), reordered (hash mismatch: the seq and id are hashed), or inserted (an event in
    no chain position and not waiting to be sealed). A checkpoint beyond the end of the chain means
    the tail was cut off.
    """
    checkpoints, failure = _checkpoints(verify_key())
    if failure is not None:
        return _finish(failure)
    prev = GENESIS
    expected = 0
    for rows in walk_chain(chunk):
        for seq, prev_hash, digest, exists, encoded in rows:
            expected += 1
            if seq != expected:
                return _finish(
                    VerifyResult(False, expected - 1, f"Sequence {expected} is missing.", expected)
                )
            if not exists:
                return _finish(VerifyResult(False, seq - 1, f"Event at sequence {seq} was deleted.", seq))
            if prev_hash != prev or sha256(bytes.fromhex(prev) + encoded).hexdigest() != digest:
                return _finish(
                    VerifyResult(
                        False, seq - 1, f"Event at sequence {seq} was changed, inserted or reordered.", seq
                    )
                )
            if seq in checkpoints and checkpoints[seq] != digest:
                return _finish(
                    VerifyResult(
                        False, seq - 1, f"The chain at sequence {seq} disagrees with its checkpoint.", seq
                    )
                )
            prev = digest
        if progress is not None:
            progress(len(rows))
    beyond = max(checkpoints, default=0)
    if beyond > expected:
        return _finish(
            VerifyResult(False, expected, f"Events after sequence {expected} were deleted.", expected + 1)
        )
    stray = (
        AuditEvent.objects.filter(
            ~Exists(AuditSeal.objects.filter(event_id=OuterRef("id"))),
            ~Exists(AuditPending.objects.filter(event_id=OuterRef("id"))),
        )
        .order_by("id")
        .values_list("id", flat=True)
        .first()
    )
    if stray is not None:
        after = (
            AuditSeal.objects.filter(event_id__lt=stray)
            .order_by("-event_id")
            .values_list("seq", flat=True)
            .first()
            or 0
        )
        return _finish(
            VerifyResult(
                False,
                expected,
                f"Event id {stray} is in no chain position: inserted after sequence {after}.",
                after + 1,
            )
        )
    return _finish(
        VerifyResult(True, expected, "The audit chain is intact.", None, len(checkpoints), pending_count())
    )


def pending_count() -> int:
    return AuditPending.objects.count()


def _finish(result: VerifyResult) -> VerifyResult:
    AuditVerification.objects.create(
        ran_at=timezone.now(), verified_through_seq=result.verified, ok=result.ok, message=result.message
    )
    return result


def last_verification() -> AuditVerification | None:
    return AuditVerification.objects.order_by("-ran_at").first()


def latest_checkpoint() -> AuditCheckpoint | None:
    return AuditCheckpoint.objects.order_by("-tree_size").first()


def latest_checkpoint_time() -> datetime | None:
    return AuditCheckpoint.objects.order_by("-tree_size").values_list("created_at", flat=True).first()
