"""Writing, sealing, checkpointing and verifying the audit log.

``record_event`` is called by every do_* service inside its transaction: if the audit write fails,
the action fails with it. It takes names and ids only; callers never pass a sensitive value.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Model
from django.utils import timezone

from config.keyfiles import read_or_create
from core import context

from .chain import GENESIS, CheckpointError, canonical, chain_hash, parse_checkpoint, sign_checkpoint
from .models import AuditCheckpoint, AuditEvent, AuditPending, AuditSeal, AuditVerification

if TYPE_CHECKING:
    from agencies.models import Agency

log = logging.getLogger(__name__)
SEAL_LOCK_ID = 4_242_001
EVENT_FIELDS = (
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
    while True:
        with transaction.atomic():
            if not _take_seal_lock():
                return sealed
            ids = list(
                AuditPending.objects.order_by("event_id").values_list("event_id", flat=True)[:batch_size]
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
            AuditSeal.objects.bulk_create(seals, batch_size=2000)
            AuditPending.objects.filter(event_id__in=ids).delete()
            sealed += len(seals)
        if len(ids) < batch_size:
            return sealed


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
    from .chain import key_id_for

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


def iter_sealed(chunk: int = 20000) -> Iterator[tuple[int, str, str, dict[str, Any] | None]]:
    """(seq, prev_hash, hash, event or None) in chain order, in keyset chunks: flat memory."""
    last = 0
    while True:
        seals = list(
            AuditSeal.objects.filter(seq__gt=last)
            .order_by("seq")
            .values_list("seq", "event_id", "prev_hash", "hash")[:chunk]
        )
        if not seals:
            return
        ids = [row[1] for row in seals]
        events = {row["id"]: row for row in AuditEvent.objects.filter(id__in=ids).values(*EVENT_FIELDS)}
        for seq, event_id, prev_hash, digest in seals:
            yield seq, prev_hash, digest, events.get(event_id)
        last = seals[-1][0]


def verify_chain(progress: Any = None) -> VerifyResult:
    """Walk the whole chain and every checkpoint. Names the first sequence number that is wrong."""
    public_key = verify_key()
    checkpoints: dict[int, str] = {}
    for checkpoint in AuditCheckpoint.objects.order_by("tree_size"):
        try:
            size, head = parse_checkpoint(checkpoint.note, public_key)
        except CheckpointError as exc:
            return _finish(
                VerifyResult(False, 0, f"Checkpoint at {checkpoint.tree_size}: {exc}", checkpoint.tree_size)
            )
        if size != checkpoint.tree_size or head != checkpoint.head_hash:
            return _finish(VerifyResult(False, 0, f"Checkpoint at {checkpoint.tree_size} was altered.", size))
        checkpoints[size] = head
    prev = GENESIS
    expected_seq = 0
    for seq, prev_hash, digest, event in iter_sealed():
        expected_seq += 1
        if seq != expected_seq:
            return _finish(
                VerifyResult(False, expected_seq - 1, f"Sequence {expected_seq} is missing.", expected_seq)
            )
        if event is None:
            return _finish(VerifyResult(False, seq - 1, f"Event at sequence {seq} was deleted.", seq))
        if prev_hash != prev or chain_hash(prev, canonical(event, seq)) != digest:
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
            progress(1)
    max_checkpoint = max(checkpoints, default=0)
    if max_checkpoint > expected_seq:
        return _finish(
            VerifyResult(
                False, expected_seq, f"Events after sequence {expected_seq} were deleted.", expected_seq + 1
            )
        )
    pending = set(AuditPending.objects.values_list("event_id", flat=True))
    sealed_max_event = AuditSeal.objects.aggregate(m=Max("event_id"))["m"] or 0
    stray = (
        AuditEvent.objects.exclude(id__in=AuditSeal.objects.values("event_id"))
        .exclude(id__in=pending)
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
        )
        return _finish(
            VerifyResult(
                False,
                expected_seq,
                f"Event id {stray} is in no chain position: inserted after sequence {after or 0}.",
                (after or 0) + 1,
            )
        )
    del sealed_max_event
    return _finish(
        VerifyResult(True, expected_seq, "The audit chain is intact.", None, len(checkpoints), len(pending))
    )


def _finish(result: VerifyResult) -> VerifyResult:
    AuditVerification.objects.create(
        ran_at=timezone.now(), verified_through_seq=result.verified, ok=result.ok, message=result.message
    )
    return result


def last_verification() -> AuditVerification | None:
    return AuditVerification.objects.order_by("-ran_at").first()


def latest_checkpoint_time() -> datetime | None:
    return AuditCheckpoint.objects.order_by("-tree_size").values_list("created_at", flat=True).first()
