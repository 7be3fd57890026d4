"""Writing, sealing, checkpointing and verifying the audit log.

``record_event`` is called by every do_* service inside its transaction: if the audit write fails,
the action fails with it. It takes names and ids only; callers never pass a sensitive value. The
caller hands over the actor and the actor's agency: audit imports no domain app and looks nothing up.
"""

from __future__ import annotations

import base64
import importlib
import logging
import os
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.models import Exists, Max, Min, Model, OuterRef
from django.utils import timezone

from config.keyfiles import read_or_create
from core import context

from .chain import (
    FIELDS,
    GENESIS,
    ORIGIN,
    CheckpointError,
    canonical,
    chain_hash,
    key_id_for,
    sign_checkpoint,
    verify_checkpoint,
)
from .models import (
    AuditCheckpoint,
    AuditEvent,
    AuditPending,
    AuditSeal,
    AuditSigningKey,
    AuditVerification,
    Op,
)


class Actor(Protocol):
    """Who acted, as record_event needs it (a signed-in or anonymous user: audit looks nothing up)."""

    @property
    def pk(self) -> Any: ...

    @property
    def is_authenticated(self) -> bool: ...

    def get_username(self) -> str: ...


class ActorAgency(Protocol):
    """The actor's agency as record_event needs it: the caller hands it over (audit looks nothing up)."""

    @property
    def pk(self) -> Any: ...


log = logging.getLogger(__name__)
SEAL_LOCK_ID = 4_242_001
CHECKPOINT_LOCK_ID = 4_242_002
EVENT_FIELDS = FIELDS  # the canonical encoding covers every column
# What auditors read and export: every column but the free-form detail and the client address.
PUBLIC_FIELDS = tuple(name for name in FIELDS if name not in ("detail", "client_ip"))


def record_event(
    op: str,
    *,
    actor: Actor | None = None,
    agency: ActorAgency | None = None,
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
    signed_in = actor if actor is not None and actor.is_authenticated else None
    with transaction.atomic(savepoint=False):
        event = AuditEvent.objects.create(
            occurred_at=timezone.now(),
            actor_id=signed_in.pk if signed_in is not None else None,
            actor_username=signed_in.get_username() if signed_in is not None else username[:150],
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


class Grant(Protocol):
    """What a consultation cites of the access that allowed it (sharing.policy.Access has these)."""

    @property
    def share_ids(self) -> tuple[Any, ...]: ...

    @property
    def agreement_ids(self) -> tuple[Any, ...]: ...


def consult(
    user: Actor | None,
    obj: Model | type[Model] | None,
    justification: str,
    *,
    agency: ActorAgency | None,
    role: str = "",
    case_id: Any = None,
    categories: Iterable[str] = (),
    grant: Grant | None = None,
    recipients: Iterable[str] = (),
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Record one consultation (a read, DPA 2018 s62): the one path every audited read takes.

    ``obj`` is the row read, or the model of a list read (its label is the object type, with no
    id). ``grant`` is the access the read was allowed under: its first share and agreement are cited.
    The surface hands over the agency the reader acts for; nothing here looks it up.
    """
    if isinstance(obj, type):
        target: dict[str, Any] = {"object_type": obj._meta.label}
    else:
        target = {"obj": obj}
    return record_event(
        Op.CONSULT,
        actor=user,
        agency=agency,
        role=role,
        case_id=case_id,
        categories=sorted(set(categories)),
        justification=justification,
        share_id=grant.share_ids[0] if grant is not None and grant.share_ids else None,
        agreement_id=grant.agreement_ids[0] if grant is not None and grant.agreement_ids else None,
        recipients=recipients,
        detail=detail,
        **target,
    )


def own_consultations(
    user: Actor, model: type[Model], object_ids: Iterable[Any], *, since: datetime, limit: int
) -> list[tuple[str, Any]]:
    """(object id, detail) of this user's own CONSULT events of these rows since ``since``, newest
    first: what a surface needs to avoid recording the same showing twice (no one else's reads)."""
    return list(
        AuditEvent.objects.filter(
            op=Op.CONSULT,
            actor_id=user.pk,
            object_type=model._meta.label,
            object_id__in=[str(i) for i in object_ids],
            occurred_at__gte=since,
        )
        .order_by("-id")
        .values_list("object_id", "detail")[:limit]
    )


# --- signing keys ---------------------------------------------------------------------------
# The private key comes from CONVENE_AUDIT_SIGNING_KEY (or *_FILE), or from a key file made at first
# run in embedded mode. Only public keys are stored (AuditSigningKey), each with the moment it took
# over; a key is valid until the next one's valid_from. rotate_audit_key adds the next key.
KEY_FILE_NAME = "audit-signing-key"


class SigningKeyRetired(RuntimeError):
    """The configured private key is not the register's current key: install the rotated key."""


def _key_file() -> Path:
    return Path(settings.CONVENE_KEY_DIR) / KEY_FILE_NAME


def _private_b64(key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return base64.b64encode(raw).decode()


def public_b64(key: Ed25519PublicKey) -> str:
    return base64.b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def signing_key() -> Ed25519PrivateKey:
    spec = settings.CONVENE_AUDIT_SIGNING_KEY
    if not spec:
        if not settings.CONVENE_CREATE_KEY_FILES:
            raise RuntimeError("CONVENE_AUDIT_SIGNING_KEY is not set; checkpoints cannot be signed.")
        spec = read_or_create(_key_file(), lambda: _private_b64(Ed25519PrivateKey.generate()))
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(spec))


def verify_key() -> Ed25519PublicKey:
    return signing_key().public_key()


def public_key_b64() -> str:
    return public_b64(verify_key())


@dataclass(frozen=True)
class KnownKey:
    key_id: str
    public_key: Ed25519PublicKey
    valid_from: datetime | None  # None: the configured key before it was ever registered
    valid_to: datetime | None  # None: the current key

    def covers(self, moment: datetime) -> bool:
        return (self.valid_from is None or self.valid_from <= moment) and (
            self.valid_to is None or moment <= self.valid_to
        )

    def as_json(self) -> dict[str, str | None]:
        return {
            "key_id": self.key_id,
            "algorithm": "Ed25519",
            "public_key": public_b64(self.public_key),
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
        }


def published_keys() -> dict[str, Any]:
    """The public key document (/.well-known/convene-audit-keys.json and every export's header)."""
    return {"origin": ORIGIN, "keys": [key.as_json() for key in known_keys()]}


def known_keys() -> list[KnownKey]:
    """Every registered key, oldest first, with its validity. Before the first checkpoint registers
    the configured key, that key alone (valid without limits)."""
    rows = list(AuditSigningKey.objects.order_by("valid_from", "created_at"))
    if not rows:
        key = verify_key()
        return [KnownKey(key_id_for(key), key, None, None)]
    keys = []
    for index, row in enumerate(rows):
        valid_to = rows[index + 1].valid_from if index + 1 < len(rows) else None
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(row.public_key))
        keys.append(KnownKey(row.key_id, public, row.valid_from, valid_to))
    return keys


def _register_first_key(key: Ed25519PublicKey) -> None:
    """The first key signed everything before it was registered (deployments older than the register)."""
    key_id = key_id_for(key)
    first = AuditCheckpoint.objects.filter(key_id=key_id).aggregate(first=Min("created_at"))["first"]
    now = timezone.now()
    try:
        with transaction.atomic():
            AuditSigningKey.objects.create(
                key_id=key_id, public_key=public_b64(key), valid_from=min(first or now, now), created_at=now
            )
    except IntegrityError:  # another process registered it first
        pass


def current_signing_key() -> Ed25519PrivateKey:
    """The configured private key, registered if the register is empty; refused if a newer key took over."""
    key = signing_key()
    key_id = key_id_for(key.public_key())
    latest = AuditSigningKey.objects.order_by("-valid_from", "-created_at").first()
    if latest is None:
        _register_first_key(key.public_key())
    elif latest.key_id != key_id:
        raise SigningKeyRetired(
            f"The configured audit signing key {key_id} is not the current key {latest.key_id}: install "
            "the key rotate_audit_key wrote and restart (checkpoints wait until then; sealing goes on)."
        )
    return key


@dataclass(frozen=True)
class Rotation:
    old_key_id: str
    new_key_id: str
    checkpoint: AuditCheckpoint
    key_path: Path


def do_rotate_signing_key(*, new_key_file: Path | None = None, actor: str = "rotate_audit_key") -> Rotation:
    """Make a new signing key, register it and sign a checkpoint of the head with the old and the new key.

    The new private key is written before anything is committed (a lost key would stop every later
    checkpoint): to ``new_key_file`` (mode 0600, never overwritten) when the key comes from the
    environment, or over the embedded key file when it does not.
    """
    old = current_signing_key()
    new = Ed25519PrivateKey.generate()
    old_id, new_id = key_id_for(old.public_key()), key_id_for(new.public_key())
    embedded = not settings.CONVENE_AUDIT_SIGNING_KEY
    if new_key_file is None and not embedded:
        raise ValueError(
            "CONVENE_AUDIT_SIGNING_KEY comes from the environment: give --new-key-file for the new key."
        )
    target = new_key_file or _key_file().with_name(f"{KEY_FILE_NAME}.{new_id}.new")
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(_private_b64(new) + "\n")
    try:
        with transaction.atomic():
            _take_checkpoint_lock()
            record_event(
                Op.KEY_ROTATION,
                username=actor,
                object_type="audit.AuditSigningKey",
                object_id=new_id,
                detail={"what": "audit signing key", "old_key_id": old_id, "new_key_id": new_id},
            )
            seal_pending()
            tree_size, head = chain_head()
            now = timezone.now()
            AuditSigningKey.objects.create(
                key_id=new_id, public_key=public_b64(new.public_key()), valid_from=now, created_at=now
            )
            note = sign_checkpoint([old, new], tree_size, head, now)
            checkpoint = AuditCheckpoint.objects.create(
                tree_size=tree_size, head_hash=head, note=note, key_id=new_id, created_at=now
            )
            _publish(note, f"checkpoint-{tree_size:012d}-rotation-{new_id}.note")
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    if embedded:
        os.replace(target, _key_file())
        target = _key_file()
    return Rotation(old_id, new_id, checkpoint, target)


def _publish(note: str, name: str) -> None:
    directory = settings.CONVENE_CHECKPOINT_DIR
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(note)


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


def _take_checkpoint_lock() -> None:
    """One signer at a time (PostgreSQL advisory lock until commit; SQLite's write transaction already
    serialises): a checkpoint is either signed before a rotation, or sees the new key registered."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHECKPOINT_LOCK_ID])


def make_checkpoint() -> AuditCheckpoint | None:
    """Seal what is pending, then sign the chain head; the note is also written outside the database."""
    seal_pending()
    with transaction.atomic():
        _take_checkpoint_lock()
        tree_size, head = chain_head()
        if tree_size == 0:
            return None
        latest = AuditCheckpoint.objects.order_by("-tree_size").first()
        if latest is not None and latest.tree_size == tree_size:
            return latest
        key = current_signing_key()  # first, so that a key registered now covers this checkpoint
        now = timezone.now()
        note = sign_checkpoint(key, tree_size, head, now)
        checkpoint = AuditCheckpoint.objects.create(
            tree_size=tree_size,
            head_hash=head,
            note=note,
            key_id=key_id_for(key.public_key()),
            created_at=now,
        )
        _publish(note, f"checkpoint-{tree_size:012d}.note")
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
    verified_from: int = 1  # the first sequence number whose event was checked (1: the whole chain)


Row = tuple[int, str, str, bool, bytes]  # seq, prev_hash, hash, event exists, canonical bytes


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


def walk_chain(chunk: int = 5_000) -> Iterator[list[Row]]:
    """The sealed chain in seq order, encoded in Python, as chunks: memory stays flat however long."""
    return _walk_generic(chunk)


def _checkpoints(keys: list[KnownKey]) -> tuple[dict[int, str], VerifyResult | None]:
    """Every checkpoint, from the database and from the off-database directory, each checked with the
    key it names, inside that key's validity; and each key after the first vouched for by its
    predecessor (a checkpoint signed by both)."""
    heads: dict[int, str] = {}
    by_id = {key.key_id: key for key in keys}
    public = {key.key_id: key.public_key for key in keys}
    notes: list[tuple[str, str, int | None, str | None]] = [
        (f"checkpoint {c.pk}", c.note, c.tree_size, c.head_hash) for c in AuditCheckpoint.objects.all()
    ]
    directory = settings.CONVENE_CHECKPOINT_DIR
    if directory.is_dir():
        for path in sorted(directory.glob("checkpoint-*.note")):
            notes.append((f"file {path.name}", path.read_text(), None, None))
    cosigned: set[tuple[str, str]] = set()
    for where, note, stored_size, stored_head in notes:
        try:
            checked = verify_checkpoint(note, public)
        except CheckpointError as exc:
            return heads, VerifyResult(False, 0, f"The {where}: {exc}", stored_size)
        size, head = checked.tree_size, checked.head_hash
        for key_id in checked.signers:
            if not by_id[key_id].covers(checked.timestamp):
                return heads, VerifyResult(
                    False, 0, f"The {where} is signed by key {key_id} outside its validity period.", size
                )
        cosigned.update(zip(checked.signers, checked.signers[1:], strict=False))
        if stored_size is not None and (size != stored_size or head != stored_head):
            return heads, VerifyResult(False, 0, f"The {where} was altered (its columns disagree).", size)
        if heads.get(size, head) != head:
            return heads, VerifyResult(False, 0, f"Two signed checkpoints disagree at {size}.", size)
        heads[size] = head
    for older, newer in zip(keys, keys[1:], strict=False):
        if (older.key_id, newer.key_id) not in cosigned:
            return heads, VerifyResult(
                False, 0, f"Key {newer.key_id} has no checkpoint co-signed by the key before it.", None
            )
    return heads, None


def _missing(expected: int) -> VerifyResult:
    return VerifyResult(False, expected - 1, f"Sequence {expected} is missing.", expected)


def _deleted(seq: int) -> VerifyResult:
    return VerifyResult(False, seq - 1, f"Event at sequence {seq} was deleted.", seq)


def _changed(seq: int) -> VerifyResult:
    return VerifyResult(False, seq - 1, f"Event at sequence {seq} was changed, inserted or reordered.", seq)


def _off_checkpoint(seq: int) -> VerifyResult:
    return VerifyResult(False, seq - 1, f"The chain at sequence {seq} disagrees with its checkpoint.", seq)


def _verify_in_python(
    checkpoints: dict[int, str], progress: Callable[[int], object] | None, chunk: int
) -> VerifyResult | int:
    """Walk the chain encoding every event in Python. Returns the failure, or how many events verified."""
    prev = GENESIS
    expected = 0
    for rows in walk_chain(chunk):
        for seq, prev_hash, digest, exists, encoded in rows:
            expected += 1
            if seq != expected:
                return _missing(expected)
            if not exists:
                return _deleted(seq)
            if prev_hash != prev or sha256(bytes.fromhex(prev) + encoded).hexdigest() != digest:
                return _changed(seq)
            if seq in checkpoints and checkpoints[seq] != digest:
                return _off_checkpoint(seq)
            prev = digest
        if progress is not None:
            progress(len(rows))
    return expected


# PostgreSQL: every seal is checked in the database, one seq range per query. A seal stores its
# prev_hash, so each row is checked on its own (SHA-256 of prev_hash ‖ canonical text = hash) and
# continuity separately (prev_hash = the previous row's hash, seq = the previous seq + 1); the window
# starts one row before the range to see across its lower edge. The canonical text is assembled in
# SQL: to_json escapes strings exactly as Python's json does, timestamps come from to_char, and the
# three JSON fields go through convene_audit_json (audit/migrations/0003) once per distinct value in
# the range (a jsonb object maps each raw text to its canonical text). Only rows that fail a check
# come back (plus the range's last row and the checkpointed rows), so memory stays flat; a row whose
# hash fails is re-checked by the Python encoder (canonical(), as sealing uses) before it is
# reported, because PostgreSQL prints some numbers differently (0.00001 for Python's 1e-05).
_PG_CHECK = """
WITH r AS MATERIALIZED (
  SELECT s.seq, s.prev_hash, s.hash, s.lag_seq, s.lag_hash, s.last, e.id, e.actor_agency_id,
    e.actor_id, e.actor_role, e.actor_username, e.agreement_id, e.case_id,
    e.categories::text AS categories, e.client_ip, e.detail::text AS detail, e.justification,
    e.object_id, e.object_type, e.occurred_at, e.op, e.outcome, e.recipients::text AS recipients,
    e.request_id, e.share_id
  FROM (
    SELECT seq, event_id, prev_hash, hash, lag(seq) OVER w AS lag_seq, lag(hash) OVER w AS lag_hash,
      lead(seq) OVER w IS NULL AS last
    FROM audit_auditseal WHERE seq >= %(low)s - 1 AND seq < %(high)s
    WINDOW w AS (ORDER BY seq)
  ) AS s LEFT JOIN audit_auditevent e ON e.id = s.event_id
), memo AS (
  SELECT jsonb_object_agg(v, convene_audit_json(v::jsonb)) AS canonical FROM (
    SELECT categories AS v FROM r UNION SELECT detail FROM r UNION SELECT recipients FROM r
  ) AS distinct_values WHERE v IS NOT NULL
), checked AS (
  SELECT r.seq, r.id, r.lag_seq, r.lag_hash, r.prev_hash, r.hash, r.last,
    CASE WHEN length(r.prev_hash) = 64 AND r.prev_hash ~ '^[0-9a-f]*$' THEN
      encode(sha256(decode(r.prev_hash, 'hex') || convert_to(concat(
        '{"actor_agency_id":', coalesce(r.actor_agency_id::text, 'null'),
        ',"actor_id":', coalesce(r.actor_id::text, 'null'),
        ',"actor_role":', to_json(r.actor_role),
        ',"actor_username":', to_json(r.actor_username),
        ',"agreement_id":', coalesce('"' || r.agreement_id::text || '"', 'null'),
        ',"case_id":', coalesce('"' || r.case_id::text || '"', 'null'),
        ',"categories":', memo.canonical ->> r.categories,
        ',"client_ip":', coalesce(to_json(r.client_ip)::text, 'null'),
        ',"detail":', memo.canonical ->> r.detail,
        ',"id":', r.id,
        ',"justification":', to_json(r.justification),
        ',"object_id":', to_json(r.object_id),
        ',"object_type":', to_json(r.object_type),
        ',"occurred_at":"', to_char(r.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        '","op":', to_json(r.op),
        ',"outcome":', to_json(r.outcome),
        ',"recipients":', memo.canonical ->> r.recipients,
        ',"request_id":', to_json(r.request_id),
        ',"seq":', r.seq,
        ',"share_id":', coalesce('"' || r.share_id::text || '"', 'null'),
        '}'), 'UTF8')), 'hex')
    END IS NOT DISTINCT FROM r.hash AS hash_ok
  FROM r CROSS JOIN memo
  WHERE r.seq >= %(low)s
)
SELECT seq, id, lag_seq, lag_hash, prev_hash, hash, last, hash_ok FROM checked
WHERE NOT hash_ok OR last OR id IS NULL OR seq = ANY(%(checkpoints)s)
  OR lag_seq IS DISTINCT FROM seq - 1 OR prev_hash IS DISTINCT FROM coalesce(lag_hash, %(genesis)s)
ORDER BY seq
"""
# Flagged row: seq, event id (None: deleted), previous seq and hash in the window, prev_hash, hash,
# whether it is the range's last row, whether the SQL hash check passed.
Flagged = tuple[int, int | None, int | None, str | None, str, str, bool, bool]
# The lag/continuity filter also flags seq 1 (no previous row): _judge accepts it against GENESIS.


# pg_catalog first, then the schema that holds the audit tables (found from the table itself, so that
# running it twice in one transaction gives the same path), and pg_temp last.
_PIN_SEARCH_PATH = """
SELECT set_config('search_path', 'pg_catalog, ' || quote_ident(n.nspname) || ', pg_temp', true)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = 'audit_auditseal'::regclass
"""


def _check_range(low: int, high: int, checkpoint_seqs: list[int]) -> list[Flagged]:
    """Check seals low <= seq < high in the database (this thread's connection)."""
    params: dict[str, Any] = {"low": low, "high": high, "checkpoints": checkpoint_seqs, "genesis": GENESIS}
    with transaction.atomic(), connection.cursor() as cursor:
        # The range's rows stay in memory, its seals are read in seq order from the primary key (no
        # sort), and JIT compiling would cost more than it saves.
        cursor.execute("SET LOCAL work_mem = '64MB'; SET LOCAL enable_bitmapscan = off; SET LOCAL jit = off")
        # Built-ins (sha256, encode, to_json…) resolve in pg_catalog first, whatever search_path the
        # role was given: a function of the same name elsewhere cannot stand in for them.
        cursor.execute(_PIN_SEARCH_PATH)
        cursor.execute(_PG_CHECK, params)
        flagged: list[Flagged] = cursor.fetchall()
        return flagged


def _python_agrees(seq: int, event_id: int, prev_hash: str, digest: str) -> bool:
    """The authoritative check of one row: the event through the ORM and audit.chain, as sealing does."""
    event = AuditEvent.objects.filter(id=event_id).values(*EVENT_FIELDS).first()
    if event is None:
        return False
    try:
        return chain_hash(prev_hash, canonical(event, seq)) == digest
    except ValueError:  # prev_hash is not hex
        return False


def _judge(row: Flagged, checkpoints: dict[int, str]) -> VerifyResult | None:
    """The verdict on one flagged row, in the same order of checks as the Python walk."""
    seq, event_id, lag_seq, lag_hash, prev_hash, digest, _last, hash_ok = row
    if lag_seq is None and seq != 1:  # the seal just before this range is missing
        before = AuditSeal.objects.filter(seq__lt=seq).order_by("-seq").values_list("seq", flat=True).first()
        return _missing((before or 0) + 1)
    if lag_seq is not None and seq != lag_seq + 1:
        return _missing(lag_seq + 1)
    if event_id is None:
        return _deleted(seq)
    prev = GENESIS if lag_seq is None else lag_hash
    if prev_hash != prev or not (hash_ok or _python_agrees(seq, event_id, prev_hash, digest)):
        return _changed(seq)
    if seq in checkpoints and checkpoints[seq] != digest:
        return _off_checkpoint(seq)
    return None


def _ranges_in_threads(
    lows: range, check: Callable[[int], list[Flagged]], workers: int
) -> Generator[tuple[int, list[Flagged]]]:
    """``(low, check(low))`` in order, computed by ``workers`` threads on their own connections.

    At most two ranges per worker are computed ahead of the consumer, so memory stays flat; when
    the consumer stops early the workers finish their current range and close their connections.
    """
    done: dict[int, tuple[list[Flagged] | None, BaseException | None]] = {}
    state = {"next": 0, "consumed": 0, "stop": False}
    cond = threading.Condition()
    ahead = 2 * workers

    def work() -> None:
        try:
            while True:
                with cond:
                    while not state["stop"] and state["next"] - state["consumed"] >= ahead:
                        cond.wait()
                    if state["stop"] or state["next"] >= len(lows):
                        return
                    index = state["next"]
                    state["next"] += 1
                try:
                    outcome: tuple[list[Flagged] | None, BaseException | None] = (check(lows[index]), None)
                except BaseException as exc:  # handed to the consumer, which re-raises it
                    outcome = (None, exc)
                with cond:
                    done[index] = outcome
                    cond.notify_all()
        finally:
            connections[DEFAULT_DB_ALIAS].close()  # this thread's own connection

    threads = [threading.Thread(target=work, name=f"audit-verify-{n}", daemon=True) for n in range(workers)]
    for thread in threads:
        thread.start()
    try:
        for index, low in enumerate(lows):
            with cond:
                while index not in done:
                    cond.wait()
                rows, error = done.pop(index)
                state["consumed"] = index + 1
                cond.notify_all()
            if error is not None:
                raise error
            assert rows is not None
            yield low, rows
    finally:
        with cond:
            state["stop"] = True
            cond.notify_all()
        for thread in threads:
            thread.join()


def _sql_encoder_is_ours() -> bool:
    """The database's convene_audit_json is the migration's, byte for byte (a superuser could swap it)."""
    migration = importlib.import_module("audit.migrations.0003_canonical_json_function")
    body = migration.FUNCTION.split("$$")[1]
    with connection.cursor() as cursor:
        cursor.execute(
            # the schema that holds the audit tables, not current_schema(): an earlier check in the same
            # transaction pinned search_path with pg_catalog first (SET LOCAL outlives its savepoint)
            "SELECT p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE p.proname = 'convene_audit_json' AND n.oid = "
            "(SELECT relnamespace FROM pg_class WHERE oid = 'audit_auditseal'::regclass)"
        )
        found = [row[0] for row in cursor.fetchall()]
    return found == [body]


def _verify_in_postgresql(
    checkpoints: dict[int, str],
    progress: Callable[[int], object] | None,
    chunk: int,
    workers: int,
    start: int = 1,
) -> VerifyResult | int:
    """Check the chain in PostgreSQL from ``start``, ranges in parallel. Returns the failure, or the
    last sequence number verified."""
    bounds = AuditSeal.objects.aggregate(first=Min("seq"), last=Max("seq"))
    first, last = bounds["first"], bounds["last"]
    if last is None:
        return 0
    if first != 1:
        return _missing(1)
    lows = range(start, last + 1, chunk)
    by_range: dict[int, list[int]] = {}
    for seq in checkpoints:
        if start <= seq <= last:
            by_range.setdefault((seq - start) // chunk, []).append(seq)

    def check(low: int) -> list[Flagged]:
        return _check_range(low, low + chunk, by_range.get((low - start) // chunk, []))

    # Other connections cannot see the caller's uncommitted transaction: stay on its connection then.
    if workers > 1 and len(lows) > 1 and not connection.in_atomic_block:
        results: Generator[tuple[int, list[Flagged]]] = _ranges_in_threads(lows, check, workers)
    else:
        results = ((low, check(low)) for low in lows)
    verified = 0
    for low, rows in results:
        for row in rows:
            failure = _judge(row, checkpoints)
            if failure is not None:
                results.close()  # stops the workers
                return failure
            if row[6]:  # the range's last row: everything from low to it is verified
                verified = row[0]
        if progress is not None:
            progress(max(0, verified - low + 1))
    return verified


def incremental_start(checkpoints: dict[int, str]) -> int:
    """Where a run that checks only what is new begins: the newest signed checkpoint that the last
    run, which found the chain intact, had verified. 1 (the whole chain) when there is none, or
    when the last run found a fault."""
    last = AuditVerification.objects.order_by("-ran_at", "-id").first()
    if last is None or not last.ok:
        return 1
    covered = [seq for seq in checkpoints if seq <= last.verified_through_seq]
    return max(covered, default=1)


def verify_chain(
    progress: Callable[[int], object] | None = None,
    chunk: int = 20_000,
    workers: int = 2,
    *,
    since_checkpoint: bool = False,
) -> VerifyResult:
    """Walk the chain and check every checkpoint. Names the first sequence number that is wrong.

    Detects an event changed (its hash no longer matches), deleted (its seal points at nothing, or a
    seal is missing), reordered (hash mismatch: the seq and id are hashed), or inserted (an event in
    no chain position and not waiting to be sealed). A checkpoint beyond the end of the chain means
    the tail was cut off. On PostgreSQL the chain is checked in the database, ``chunk`` seals per
    query on up to ``workers`` connections; elsewhere each event is encoded in Python.

    ``since_checkpoint`` (the nightly run, PostgreSQL): every checkpoint's signature is still
    checked, but events are checked only from the newest signed checkpoint that an earlier intact
    run covered — that checkpoint's own seal is re-hashed and must match its signed head, which
    anchors everything after it. A change to an event before that point is found by the full run
    (weekly, and ``audit_verify`` on demand), not by this one.
    """
    checkpoints, failure = _checkpoints(known_keys())
    if failure is not None:
        return _finish(failure)
    start = 1
    if connection.vendor == "postgresql" and _sql_encoder_is_ours():
        if since_checkpoint:
            start = incremental_start(checkpoints)
        outcome = _verify_in_postgresql(checkpoints, progress, chunk, workers, start)
    else:
        if connection.vendor == "postgresql":
            log.warning("Audit verify: convene_audit_json is missing or altered; encoding in Python.")
        outcome = _verify_in_python(checkpoints, progress, min(chunk, 5_000))
    if isinstance(outcome, VerifyResult):
        return _finish(outcome, start)
    expected = outcome
    beyond = max(checkpoints, default=0)
    if beyond > expected:
        return _finish(
            VerifyResult(False, expected, f"Events after sequence {expected} were deleted.", expected + 1),
            start,
        )
    unplaced = AuditEvent.objects.filter(
        ~Exists(AuditSeal.objects.filter(event_id=OuterRef("id"))),
        ~Exists(AuditPending.objects.filter(event_id=OuterRef("id"))),
    )
    if start > 1:  # only events newer than the anchoring checkpoint's (events get ids in order)
        anchor = AuditSeal.objects.filter(seq=start).values_list("event_id", flat=True).first()
        unplaced = unplaced.filter(id__gt=anchor or 0)
    stray = unplaced.order_by("id").values_list("id", flat=True).first()
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
            ),
            start,
        )
    message = (
        "The audit chain is intact." if start == 1 else f"The audit chain is intact from sequence {start}."
    )
    return _finish(VerifyResult(True, expected, message, None, len(checkpoints), pending_count()), start)


def pending_count() -> int:
    return AuditPending.objects.count()


def _finish(result: VerifyResult, start: int = 1) -> VerifyResult:
    result.verified_from = start
    AuditVerification.objects.create(
        ran_at=timezone.now(),
        verified_from_seq=result.verified_from,
        verified_through_seq=result.verified,
        ok=result.ok,
        message=result.message,
    )
    return result


def last_verification() -> AuditVerification | None:
    return AuditVerification.objects.order_by("-ran_at").first()


def latest_checkpoint() -> AuditCheckpoint | None:
    return AuditCheckpoint.objects.order_by("-tree_size").first()


def latest_checkpoint_time() -> datetime | None:
    return AuditCheckpoint.objects.order_by("-tree_size").values_list("created_at", flat=True).first()
