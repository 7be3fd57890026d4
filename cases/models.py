"""The case record: the perpetrator (nominal), the case, its victims, referral, risk assessments,
orders, the risk management plan, actions and notes.

Every record names the data category it belongs to (DOMAIN.md §7) through ``VISIBILITY``: a map
from each served field to ``(category, minimum level)``. The policy module reads it to decide what
a viewer receives; serializers, pages and exports never decide on their own.
Sensitive values are encrypted under the case's own data key (keystore.fields).
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models

from agencies.models import Agency
from core.categories import Category, Classification, Level
from keystore.fields import EncryptedBinaryField, EncryptedJSONField, EncryptedTextField

from . import choices as c

C = Category
FULL = Level.FULL
SUMMARY = Level.SUMMARY


class CaseRecord(models.Model):
    """Fields every case record carries (DOMAIN.md §7): owner agency, classification, author, time."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    classification = models.CharField(
        max_length=20, choices=Classification.choices, default=Classification.OFFICIAL_SENSITIVE
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    VISIBILITY: ClassVar[dict[str, tuple[str, int]]] = {}
    CATEGORY: ClassVar[str] = C.C2

    class Meta:
        abstract = True

    def encryption_key_id(self) -> uuid.UUID:
        return self.case.data_key_id  # type: ignore[attr-defined]


class Nominal(CaseRecord):
    """The perpetrator. Identity is encrypted under the nominal's own key; search uses blind indexes."""

    data_key_id = models.UUIDField(editable=False)
    names = EncryptedJSONField(help_text="[{'given': …, 'family': …, 'kind': 'primary'|'alias'}]")
    date_of_birth = models.DateField(null=True, blank=True)
    ethnicity = models.CharField(max_length=80, blank=True)
    address = EncryptedTextField(null=True, blank=True)
    pnc_id = EncryptedTextField("PNC ID", null=True, blank=True)
    visor_ref = EncryptedTextField("ViSOR reference", null=True, blank=True)
    ndelius_crn = EncryptedTextField("nDelius CRN", null=True, blank=True)
    nhs_number = EncryptedTextField("NHS number", null=True, blank=True)
    photo = EncryptedBinaryField(null=True, blank=True)
    photo_content_type = models.CharField(max_length=40, blank=True)
    pnc_index = models.CharField(max_length=32, null=True, blank=True, db_index=True)
    nhs_index = models.CharField(max_length=32, null=True, blank=True, db_index=True)
    name_dob_index = models.CharField(max_length=32, null=True, blank=True, db_index=True)
    name_index = models.CharField(max_length=32, null=True, blank=True, db_index=True)

    CATEGORY = C.C1
    VISIBILITY = {
        "names": (C.C1, SUMMARY),
        "date_of_birth": (C.C1, FULL),
        "ethnicity": (C.C1, FULL),
        "address": (C.C1, FULL),
        "pnc_id": (C.C1, FULL),
        "visor_ref": (C.C1, FULL),
        "ndelius_crn": (C.C1, FULL),
        "nhs_number": (C.C6, FULL),
        "photo": (C.C1, FULL),
    }

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"nominal {self.id}"

    def encryption_key_id(self) -> uuid.UUID:
        return self.data_key_id

    @property
    def primary_name(self) -> str:
        names: list[dict[str, str]] = self.names or []  # type: ignore[assignment]
        for name in names:
            if name.get("kind", "primary") == "primary":
                return f"{name.get('given', '')} {name.get('family', '')}".strip()
        return ""

    @property
    def aliases(self) -> list[str]:
        names: list[dict[str, str]] = self.names or []  # type: ignore[assignment]
        return [
            f"{n.get('given', '')} {n.get('family', '')}".strip() for n in names if n.get("kind") == "alias"
        ]


class Case(CaseRecord):
    """A stalking perpetrator managed by MAPPA or a stalking clinic. Erasing it destroys its data key."""

    reference = models.CharField(max_length=24, unique=True)
    nominal = models.ForeignKey(Nominal, on_delete=models.PROTECT, related_name="cases")
    data_key_id = models.UUIDField(editable=False)
    forum = models.CharField(max_length=10, choices=c.Forum.choices)
    mappa_category = models.PositiveSmallIntegerField(choices=c.MappaCategory.choices, null=True, blank=True)
    mappa_level = models.PositiveSmallIntegerField(choices=c.MappaLevel.choices, null=True, blank=True)
    status = models.CharField(max_length=12, choices=c.CaseStatus.choices, default=c.CaseStatus.REFERRED)
    lead_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="led_cases")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_cases")
    risk_level = models.CharField(
        max_length=10,
        choices=c.RiskLevel.choices,
        blank=True,
        help_text="Headline risk from the newest assessment; kept by do_record_assessment.",
    )
    next_review_on = models.DateField(null=True, blank=True)
    closure_reason = models.CharField(max_length=20, choices=c.ClosureReason.choices, blank=True)
    closure_note = EncryptedTextField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    retention_review_on = models.DateField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)

    CATEGORY = C.C2
    VISIBILITY = {"closure_note": (C.C5, FULL)}

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("disclose_case", "Can disclose a case to a third party")]
        indexes = [
            models.Index(fields=["lead_agency", "-created_at"], name="case_lead_created_idx"),
            models.Index(fields=["-created_at", "-id"], name="case_created_idx"),
            models.Index(fields=["next_review_on"], name="case_review_idx"),
        ]

    def __str__(self) -> str:
        return self.reference

    def encryption_key_id(self) -> uuid.UUID:
        return self.data_key_id

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None


class Victim(CaseRecord):
    """A person the nominal targets. Location and routines are what a stalker seeks: C7 full only."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="victims")
    name = EncryptedTextField()
    contact = EncryptedTextField(null=True, blank=True)
    address = EncryptedTextField(null=True, blank=True)
    area = EncryptedTextField(
        null=True, blank=True, help_text="A coarse zone, for roles that need no address."
    )
    routines = EncryptedTextField(null=True, blank=True)
    workplace = EncryptedTextField(null=True, blank=True)
    relationship = models.CharField(max_length=20, choices=c.Relationship.choices)
    vulnerabilities = EncryptedTextField(null=True, blank=True)
    consent = models.CharField(max_length=12, choices=c.Consent.choices, default=c.Consent.NOT_SOUGHT)
    advocate = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    name_index = models.CharField(max_length=32, null=True, blank=True, db_index=True)

    CATEGORY = C.C7
    VISIBILITY = {
        "name": (C.C7, SUMMARY),
        "area": (C.C7, SUMMARY),
        "relationship": (C.C7, SUMMARY),
        "contact": (C.C7, FULL),
        "address": (C.C7, FULL),
        "routines": (C.C7, FULL),
        "workplace": (C.C7, FULL),
        "vulnerabilities": (C.C8, FULL),
        "consent": (C.C8, SUMMARY),
        "advocate": (C.C8, SUMMARY),
    }

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"victim {self.id}"


class Referral(CaseRecord):
    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="referral")
    referring_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    referred_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = EncryptedTextField()
    lawful_basis = models.CharField(max_length=200)
    index_offence = models.CharField(max_length=200)
    received_on = models.DateField()
    first_incident_on = models.DateField(null=True, blank=True)
    last_incident_on = models.DateField(null=True, blank=True)
    urgency = models.CharField(max_length=10, choices=c.Urgency.choices, default=c.Urgency.ROUTINE)
    outcome = models.CharField(
        max_length=20, choices=c.ScreeningOutcome.choices, default=c.ScreeningOutcome.PENDING
    )
    advice_given = EncryptedTextField(null=True, blank=True)

    CATEGORY = C.C2
    VISIBILITY = {
        "referring_agency": (C.C2, SUMMARY),
        "received_on": (C.C2, SUMMARY),
        "urgency": (C.C2, SUMMARY),
        "outcome": (C.C2, SUMMARY),
        "index_offence": (C.C2, SUMMARY),
        "reason": (C.C2, FULL),
        "lawful_basis": (C.C2, FULL),
        "first_incident_on": (C.C2, FULL),
        "last_incident_on": (C.C2, FULL),
        "advice_given": (C.C2, FULL),
    }

    def __str__(self) -> str:
        return f"referral for {self.case_id}"


class RiskAssessment(CaseRecord):
    """One completed risk tool. History is kept; the newest is shown first."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="assessments")
    tool = models.CharField(max_length=10, choices=c.Tool.choices)
    answers = EncryptedJSONField(help_text="Per-question answers and notes, as the tool defines them.")
    yes_count = models.PositiveSmallIntegerField(null=True, blank=True)
    level = models.CharField(
        max_length=12, help_text="The tool's own grade (e.g. S-DASH high, SASH moderate)."
    )
    risk_level = models.CharField(max_length=10, choices=c.RiskLevel.choices)
    srp_type = models.CharField(max_length=20, choices=c.SrpType.choices, blank=True)
    srp_domains = models.JSONField(default=dict, blank=True)
    formulation = EncryptedTextField(null=True, blank=True)
    assessor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assessed_on = models.DateField()
    basis = models.CharField(max_length=10, choices=c.Basis.choices, default=c.Basis.OPINION)

    CATEGORY = C.C3
    VISIBILITY = {
        "tool": (C.C3, SUMMARY),
        "level": (C.C3, SUMMARY),
        "risk_level": (C.C3, SUMMARY),
        "assessed_on": (C.C3, SUMMARY),
        "answers": (C.C3, FULL),
        "yes_count": (C.C3, FULL),
        "srp_type": (C.C3, FULL),
        "srp_domains": (C.C3, FULL),
        "formulation": (C.C3, FULL),
        "assessor": (C.C3, FULL),
        "basis": (C.C3, FULL),
    }

    class Meta:
        ordering = ["-assessed_on", "-created_at"]

    def __str__(self) -> str:
        return f"{self.get_tool_display()} on {self.assessed_on}"


class Order(CaseRecord):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="orders")
    order_type = models.CharField(max_length=15, choices=c.OrderType.choices)
    legal_basis = models.CharField(max_length=200)
    court = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=12, choices=c.OrderStatus.choices, default=c.OrderStatus.IN_FORCE)
    applied_on = models.DateField(null=True, blank=True)
    made_on = models.DateField(null=True, blank=True)
    served_on = models.DateField(null=True, blank=True)
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    until_further_order = models.BooleanField(default=False)
    notification_due_on = models.DateField(null=True, blank=True)
    notification_met_on = models.DateField(null=True, blank=True)

    CATEGORY = C.C4
    VISIBILITY = {
        "order_type": (C.C4, SUMMARY),
        "status": (C.C4, SUMMARY),
        "starts_on": (C.C4, SUMMARY),
        "ends_on": (C.C4, SUMMARY),
        "until_further_order": (C.C4, SUMMARY),
        "legal_basis": (C.C4, FULL),
        "court": (C.C4, FULL),
        "applied_on": (C.C4, FULL),
        "made_on": (C.C4, FULL),
        "served_on": (C.C4, FULL),
        "notification_due_on": (C.C4, FULL),
        "notification_met_on": (C.C4, FULL),
    }

    class Meta:
        ordering = ["-starts_on", "-created_at"]

    def __str__(self) -> str:
        return self.get_order_type_display()


class OrderEvent(CaseRecord):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=c.OrderEventKind.choices)
    occurred_on = models.DateField()
    details = EncryptedTextField(null=True, blank=True)

    CATEGORY = C.C4
    VISIBILITY = {"kind": (C.C4, SUMMARY), "occurred_on": (C.C4, SUMMARY), "details": (C.C4, FULL)}

    class Meta:
        ordering = ["occurred_on"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.occurred_on}"

    def encryption_key_id(self) -> uuid.UUID:
        return self.order.case.data_key_id


class Condition(CaseRecord):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="conditions")
    kind = models.CharField(max_length=12, choices=c.ConditionKind.choices)
    text = EncryptedTextField()
    protected_persons = EncryptedTextField(null=True, blank=True)
    exclusion_zone = EncryptedJSONField(null=True, blank=True, help_text="A described zone or GeoJSON.")
    electronic_monitoring = models.BooleanField(default=False)

    CATEGORY = C.C4
    VISIBILITY = {
        "kind": (C.C4, SUMMARY),
        "text": (C.C4, SUMMARY),
        "electronic_monitoring": (C.C4, SUMMARY),
        "protected_persons": (C.C7, SUMMARY),
        "exclusion_zone": (C.C7, FULL),
    }

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} condition"

    def encryption_key_id(self) -> uuid.UUID:
        return self.order.case.data_key_id


class Breach(CaseRecord):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="breaches")
    occurred_on = models.DateField()
    reported_by = models.CharField(max_length=200)
    description = EncryptedTextField()
    action_taken = EncryptedTextField(null=True, blank=True)
    outcome = models.CharField(max_length=200, blank=True)

    CATEGORY = C.C4
    VISIBILITY = {
        "occurred_on": (C.C4, SUMMARY),
        "outcome": (C.C4, SUMMARY),
        "reported_by": (C.C4, FULL),
        "description": (C.C4, FULL),
        "action_taken": (C.C4, FULL),
    }

    class Meta:
        ordering = ["-occurred_on"]
        verbose_name_plural = "breaches"

    def __str__(self) -> str:
        return f"breach on {self.occurred_on}"

    def encryption_key_id(self) -> uuid.UUID:
        return self.order.case.data_key_id


class RiskManagementPlan(CaseRecord):
    """One version of a case's plan. A change writes a new version; the newest is current.

    ``items`` maps each pillar to a list of ``{"text": …, "agency": …}``. An edit names the
    version it was based on; if another version was written since, it is refused as a conflict.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="plans")
    number = models.PositiveIntegerField()
    items = EncryptedJSONField(default=dict)
    contingency = EncryptedTextField(null=True, blank=True)
    agreed_at_meeting = models.UUIDField(null=True, blank=True)
    change_summary = models.CharField(max_length=200, blank=True)

    CATEGORY = C.C5
    VISIBILITY = {
        "number": (C.C5, SUMMARY),
        "items": (C.C5, FULL),
        "victim_safety": (C.C5, SUMMARY),
        "contingency": (C.C5, FULL),
        "agreed_at_meeting": (C.C5, SUMMARY),
        "change_summary": (C.C5, SUMMARY),
    }

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["case", "number"], name="plan_case_number_unique")]

    def __str__(self) -> str:
        return f"plan v{self.number}"


class Action(CaseRecord):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="actions")
    pillar = models.CharField(max_length=15, choices=c.Pillar.choices)
    text = EncryptedTextField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="actions")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="actions")
    due_on = models.DateField()
    status = models.CharField(max_length=12, choices=c.ActionStatus.choices, default=c.ActionStatus.OPEN)
    meeting = models.UUIDField(null=True, blank=True, help_text="The review that created it, if any.")
    completed_at = models.DateTimeField(null=True, blank=True)

    CATEGORY = C.C5
    VISIBILITY = {
        "pillar": (C.C5, SUMMARY),
        "text": (C.C5, SUMMARY),
        "owner": (C.C5, SUMMARY),
        "agency": (C.C5, SUMMARY),
        "due_on": (C.C5, SUMMARY),
        "status": (C.C5, SUMMARY),
    }

    class Meta:
        ordering = ["due_on", "created_at"]
        indexes = [models.Index(fields=["status", "due_on"], name="action_status_due_idx")]

    def __str__(self) -> str:
        return f"action due {self.due_on}"


class ActionUpdate(CaseRecord):
    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="updates")
    text = EncryptedTextField()

    CATEGORY = C.C5
    VISIBILITY = {"text": (C.C5, FULL)}

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"update on {self.action_id}"

    def encryption_key_id(self) -> uuid.UUID:
        return self.action.case.data_key_id


class Note(CaseRecord):
    """A note in its author agency's name, in the category the author chose."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    category = models.CharField(max_length=3, choices=Category.choices)
    body = EncryptedTextField()
    basis = models.CharField(max_length=10, choices=c.Basis.choices, default=c.Basis.FACT)

    CATEGORY = C.C2
    VISIBILITY = {"body": ("*", FULL), "category": ("*", FULL), "basis": ("*", FULL)}

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"note {self.id}"
