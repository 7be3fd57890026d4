"""The information lifecycle: retention rules and decisions, legal holds, erasure certificates and
subject access requests.

Each agency is the controller of what it contributes (DOMAIN.md §5, §9): its retention rules, its
review queue, its erasures and its subject access requests are its own. Nothing here stores a
sensitive value: a subject access request keeps only the blind index of the name searched and the
ids of the records it matched.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from agencies.models import Agency
from cases.models import Case


class RecordType(models.TextChoices):
    """What a retention rule applies to: the case (the lead agency's record) or a contribution."""

    CASE = "case", "Case (lead agency)"
    NOTE = "note", "Note"
    ASSESSMENT = "assessment", "Risk assessment"
    VICTIM = "victim", "Victim record"


class RetentionRule(models.Model):
    """How long an agency holds one type of record before it must be reviewed.

    Police defaults follow MoPI (public-protection group reviewed on a ~10-year cycle, other groups
    after 6 years): DOMAIN.md §5 marks them [verify], so every agency can change its own.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="retention_rules")
    record_type = models.CharField(max_length=12, choices=RecordType.choices)
    review_months = models.PositiveSmallIntegerField()
    basis = models.CharField(max_length=300, help_text="Where the period comes from, e.g. MoPI group 1.")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["agency__name", "record_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "record_type"], name="retention_rule_agency_type_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.agency}: {self.get_record_type_display()} reviewed after {self.review_months} months"


class Decision(models.TextChoices):
    RETAIN = "retain", "Retain"
    ERASE = "erase", "Erase"


class RetentionDecision(models.Model):
    """A reviewer's decision on one record: retain (with reason and next review date) or erase."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="retention_decisions")
    record_type = models.CharField(max_length=12, choices=RecordType.choices)
    object_id = models.UUIDField(help_text="The case itself, or the contribution decided on.")
    decision = models.CharField(max_length=8, choices=Decision.choices)
    reason = models.TextField()
    next_review_on = models.DateField(null=True, blank=True)
    rule = models.ForeignKey(
        RetentionRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["-decided_at"]
        indexes = [models.Index(fields=["record_type", "object_id", "-decided_at"], name="retention_obj_idx")]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} {self.record_type} {self.object_id}"


class LegalHoldQuerySet(models.QuerySet["LegalHold"]):
    def active(self) -> LegalHoldQuerySet:
        return self.filter(lifted_at__isnull=True)


class LegalHold(models.Model):
    """While set, nothing of the case may be erased (litigation, inquiry, complaint, prosecution)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="legal_holds")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=300)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField()
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    lifted_at = models.DateTimeField(null=True, blank=True)
    lift_reason = models.CharField(max_length=300, blank=True)

    objects = LegalHoldQuerySet.as_manager()

    class Meta:
        ordering = ["-set_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(lifted_at__isnull=True), name="legal_hold_one_active_per_case"
            )
        ]

    def __str__(self) -> str:
        return f"legal hold on {self.case}"

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None


class ErasureCertificate(models.Model):
    """Proof of an erasure: what went, under which rule, by whom, when, and its audit sequence number."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="erasure_certificates")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="erasure_certificates")
    case_reference = models.CharField(max_length=24)
    scope = models.CharField(max_length=12, choices=RecordType.choices)
    object_id = models.UUIDField()
    erased = models.JSONField(default=dict, help_text="Model label → number of rows erased or blanked.")
    keys_destroyed = models.JSONField(default=list, help_text="Ids of the data keys destroyed.")
    shares_ended = models.PositiveIntegerField(default=0)
    rule = models.ForeignKey(
        RetentionRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rule_description = models.CharField(max_length=400, blank=True)
    reason = models.TextField()
    erased_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    erased_at = models.DateTimeField()
    audit_event_id = models.BigIntegerField()
    audit_seq = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-erased_at"]

    def __str__(self) -> str:
        return f"erasure certificate {self.id} ({self.case_reference})"


class SubjectKind(models.TextChoices):
    PERPETRATOR = "perpetrator", "Perpetrator (nominal)"
    VICTIM = "victim", "Victim"


class SarStatus(models.TextChoices):
    OPEN = "open", "Open"
    EXPORTED = "exported", "Exported"


class SubjectAccessRequest(models.Model):
    """A subject access request handled by one agency's DPO. The name searched is never stored:
    only its blind index and the ids of the records it matched."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(max_length=40)
    subject_kind = models.CharField(max_length=12, choices=SubjectKind.choices)
    subject_index = models.CharField(max_length=32, help_text="Blind index of the searched identity.")
    matched_ids = models.JSONField(default=list, help_text="Nominal or victim ids matched.")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="subject_access_requests")
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=SarStatus.choices, default=SarStatus.OPEN)
    exported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "reference"], name="sar_agency_reference_unique")
        ]

    def __str__(self) -> str:
        return f"SAR {self.reference}"
