"""The audit log (DPA 2018 s62): append-only events, their hash-chain seals and signed checkpoints.

Events are inserted without any lock in the same transaction as the action they record. A single
sealer later gives each event its chain position (``AuditSeal``) in sealing order, so events that
commit late are never skipped. All three tables refuse UPDATE and DELETE (and TRUNCATE on
PostgreSQL) through database triggers; see audit/migrations.
"""

from __future__ import annotations

from django.db import models


class Op(models.TextChoices):
    # DPA 2018 s62(1)
    COLLECT = "collect", "Collection"
    ALTER = "alter", "Alteration"
    CONSULT = "consult", "Consultation"
    DISCLOSE = "disclose", "Disclosure (including transfer)"
    COMBINE = "combine", "Combination"
    ERASE = "erase", "Erasure"
    # security events
    SIGN_IN = "sign_in", "Sign-in"
    SIGN_IN_FAILED = "sign_in_failed", "Failed sign-in"
    SIGN_OUT = "sign_out", "Sign-out"
    OTP_FAILED = "otp_failed", "Failed second factor"
    OTP_ENROLLED = "otp_enrolled", "Second factor enrolled"
    LOCKOUT = "lockout", "Lockout"
    PERMISSION_DENIED = "permission_denied", "Permission denied"
    BREAK_GLASS = "break_glass", "Break-glass access"
    EXPORT = "export", "Export"
    TOKEN_ISSUED = "token_issued", "Token issued"
    TOKEN_REVOKED = "token_revoked", "Token revoked"
    KEY_ROTATION = "key_rotation", "Key rotation"
    AGREEMENT = "agreement", "Agreement lifecycle"
    SHARE_GRANTED = "share_granted", "Share granted"
    SHARE_REVOKED = "share_revoked", "Share revoked"
    MEMBERSHIP = "membership", "Membership change"
    RETENTION = "retention", "Retention decision"
    LEGAL_HOLD = "legal_hold", "Legal hold"
    AUDIT = "audit", "Audit log operation"


S62_OPS = frozenset({Op.COLLECT, Op.ALTER, Op.CONSULT, Op.DISCLOSE, Op.COMBINE, Op.ERASE})


class AuditEvent(models.Model):
    """One audited action. Holds names of categories and ids, never a sensitive value."""

    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_username = models.CharField(max_length=150, blank=True)
    actor_agency_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_role = models.CharField(max_length=20, blank=True)
    op = models.CharField(max_length=20, choices=Op.choices, db_index=True)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    case_id = models.UUIDField(null=True, blank=True, db_index=True)
    categories = models.JSONField(default=list, blank=True)
    justification = models.TextField(blank=True)
    share_id = models.UUIDField(null=True, blank=True)
    agreement_id = models.UUIDField(null=True, blank=True, db_index=True)
    recipients = models.JSONField(default=list, blank=True)
    outcome = models.CharField(max_length=12, default="ok")
    detail = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=36, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["case_id", "-occurred_at"], name="audit_case_time_idx"),
            models.Index(fields=["actor_id", "-occurred_at"], name="audit_actor_time_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.id} {self.op} {self.object_type} {self.object_id}"


class AuditPending(models.Model):
    """Work queue of events not yet sealed. Rows are consumed by the sealer (not part of the evidence)."""

    event_id = models.BigIntegerField(primary_key=True)

    def __str__(self) -> str:
        return f"pending {self.event_id}"


class AuditSeal(models.Model):
    """An event's place in the hash chain: ``hash = SHA256(prev_hash ‖ canonical(event, seq))``."""

    seq = models.BigIntegerField(primary_key=True)
    event_id = models.BigIntegerField(unique=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    sealed_at = models.DateTimeField()

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"seq {self.seq} → event {self.event_id}"


class AuditCheckpoint(models.Model):
    """A signed statement of the chain head (C2SP-style signed note, Ed25519)."""

    id = models.BigAutoField(primary_key=True)
    tree_size = models.BigIntegerField()
    head_hash = models.CharField(max_length=64)
    note = models.TextField(help_text="The signed note exactly as published.")
    key_id = models.CharField(max_length=16)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-tree_size"]

    def __str__(self) -> str:
        return f"checkpoint at {self.tree_size}"


class AuditVerification(models.Model):
    """The outcome of each audit_verify run, for the chain-status page."""

    id = models.BigAutoField(primary_key=True)
    ran_at = models.DateTimeField()
    # 1 for a full run; a nightly run checks events from the newest checkpoint an intact run covered
    verified_from_seq = models.BigIntegerField(default=1)
    verified_through_seq = models.BigIntegerField()
    ok = models.BooleanField()
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-ran_at"]

    def __str__(self) -> str:
        return f"verification at {self.ran_at}: {'ok' if self.ok else 'FAILED'}"


class AuditSigningKey(models.Model):
    """A public key that has signed audit checkpoints, and since when (never a private key).

    A key is valid from ``valid_from`` until the next key's ``valid_from`` (the current key has no
    end). ``rotate_audit_key`` adds a row and signs one checkpoint with both the old and the new key,
    so each key is vouched for by its predecessor. The table is append-only like the chain.
    """

    key_id = models.CharField(max_length=16, primary_key=True)
    public_key = models.CharField(max_length=64, help_text="Base64 of the raw 32-byte Ed25519 public key.")
    valid_from = models.DateTimeField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["valid_from"]

    def __str__(self) -> str:
        return f"audit key {self.key_id} from {self.valid_from:%Y-%m-%d}"
