"""Notifications (the in-product inbox), each person's email preference per kind, and the record of
every scheduled job run (one row per job and period: the unique slot that makes a period run once).

A notification's title names only what its recipient could already see when it was made (a case
reference, a meeting title, an agreement reference) — never a field value of a case record.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Kind(models.TextChoices):
    CASE_SHARED = "case_shared", "A case shared with your agency"
    SHARE_REVOKED = "share_revoked", "A share withdrawn"
    MATCH_NOTICE = "match_notice", "A possible duplicate referral"
    MEETING_INVITED = "meeting_invited", "An invitation to a review"
    AGENDA_CHANGED = "agenda_changed", "A change to a review's agenda"
    MINUTES_READY = "minutes_ready", "Minutes ready"
    ACTION_ASSIGNED = "action_assigned", "An action assigned to you"
    ACTION_DUE_SOON = "action_due_soon", "An action due in 3 days"
    ACTION_OVERDUE = "action_overdue", "An action overdue"
    BREAK_GLASS = "break_glass", "Break-glass access awaiting review"
    AGREEMENT_EXPIRING = "agreement_expiring", "An agreement expiring in 30 days"
    AGREEMENT_ENDED = "agreement_ended", "An agreement expired or suspended"
    RETENTION_DUE = "retention_due", "Retention reviews due"
    LEGAL_HOLD = "legal_hold", "A legal hold placed"
    SAR_DEADLINE = "sar_deadline", "A subject access request nearing its deadline"


class About(models.TextChoices):
    """What following the notification opens (the policy is asked again when it is followed)."""

    CASE = "case", "Case"
    MEETING = "meeting", "Meeting"
    AGREEMENT = "agreement", "Agreement"
    BREAK_GLASS = "break_glass", "Break-glass access"
    MATCH_NOTICE = "match_notice", "Match notice"
    RETENTION = "retention", "Retention queue"
    LEGAL_HOLD = "legal_hold", "Legal holds"
    SAR = "sar", "Subject access request"
    NOTHING = "nothing", "Nothing to open"


class EmailMode(models.TextChoices):
    IMMEDIATE = "immediate", "Immediately"
    DIGEST = "digest", "Daily digest"
    OFF = "off", "Off"


class Notification(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    agency = models.ForeignKey(
        "agencies.Agency",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="The agency the recipient receives this for.",
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    title = models.CharField(max_length=200)
    about = models.CharField(max_length=12, choices=About.choices, default=About.NOTHING)
    about_id = models.CharField(max_length=64, blank=True)
    case = models.ForeignKey("cases.Case", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    dedupe_key = models.CharField(
        max_length=120, blank=True, help_text="A notice with a key is made once per recipient."
    )
    email_mode = models.CharField(max_length=10, choices=EmailMode.choices, default=EmailMode.OFF)
    created_at = models.DateTimeField(db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_unread_idx"),
            models.Index(fields=["email_mode", "emailed_at"], name="notification_outbox_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="notification_once_per_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for user {self.recipient_id}"


class NotificationPreference(models.Model):
    """One person's email choice for one kind (absent: the default for their roles)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    email = models.CharField(max_length=10, choices=EmailMode.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.email}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    RETRYING = "retrying", "Failed; will retry"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class JobRun(models.Model):
    """One period of one scheduled job. ``(job, slot)`` is unique: whichever scheduler creates the row
    enqueues the task, in the same transaction; every other scheduler's insert fails and it moves on."""

    id = models.BigAutoField(primary_key=True)
    job = models.CharField(max_length=40)
    slot = models.DateTimeField(help_text="The start of the period this run is for.")
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    enqueued_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=120, blank=True, help_text="The exception's class name only.")
    summary = models.CharField(max_length=200, blank=True, help_text="Counts only.")

    class Meta:
        ordering = ["-slot", "job"]
        constraints = [models.UniqueConstraint(fields=["job", "slot"], name="job_run_once_per_slot")]

    def __str__(self) -> str:
        return f"{self.job} for {self.slot:%Y-%m-%d %H:%M}: {self.status}"
