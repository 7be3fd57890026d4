"""Case reviews: MAPPA meetings and stalking clinic (MASIP) panels.

A meeting has attendees, an agenda of cases, minutes per agenda item, decisions (with dissent),
and, after the chair's sign-off, addenda. Minutes, decisions, dissent and addenda are encrypted
under the item's case data key; the victim-location part of the minutes is a separate field in
category C7 so that a copy for an agency without C7 (e.g. health) simply omits it.
Actions agreed at a meeting are ``cases.models.Action`` rows carrying the meeting's id.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models

from agencies.models import Agency
from cases.choices import Forum
from cases.models import Case
from core.categories import Category, Level
from keystore.fields import EncryptedTextField

C = Category
SUMMARY = Level.SUMMARY
FULL = Level.FULL

CONFIDENTIALITY_STATEMENT = (
    "OFFICIAL-SENSITIVE. The information shared at this meeting is confidential and is shared only "
    "for the purpose of assessing and managing the risk posed by the people discussed. It must not "
    "be disclosed beyond your agency without the chair's agreement. Information may be exempt from "
    "disclosure under the Freedom of Information Act 2000 (sections 30, 38, 40 and 41); it is shared "
    "in accordance with Article 8(2) of the European Convention on Human Rights, as necessary and "
    "proportionate for public safety and the prevention of crime. Minutes are issued to each agency "
    "according to the information-sharing agreement. By continuing you confirm that you have read "
    "and will abide by this statement."
)


class MeetingStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    IN_PROGRESS = "in_progress", "In progress"
    SIGNED_OFF = "signed_off", "Signed off"


class Meeting(models.Model):
    """One sitting of a forum. Holds no case value: everything sensitive hangs off its agenda items."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    forum = models.CharField(max_length=10, choices=Forum.choices)
    title = models.CharField(max_length=200)
    scheduled_for = models.DateTimeField()
    location = models.CharField(max_length=200, blank=True)
    virtual_link = models.CharField(max_length=500, blank=True)
    chair = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="chaired_meetings"
    )
    chair_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="chaired_meetings")
    status = models.CharField(max_length=12, choices=MeetingStatus.choices, default=MeetingStatus.SCHEDULED)
    current_item = models.ForeignKey(
        "AgendaItem", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    confidentiality_statement = models.TextField(default=CONFIDENTIALITY_STATEMENT)
    version = models.PositiveIntegerField(default=1)
    started_at = models.DateTimeField(null=True, blank=True)
    signed_off_at = models.DateTimeField(null=True, blank=True)
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["scheduled_for", "id"]
        indexes = [models.Index(fields=["status", "scheduled_for"], name="meeting_status_when_idx")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_signed_off(self) -> bool:
        return self.status == MeetingStatus.SIGNED_OFF


class Attendance(models.TextChoices):
    INVITED = "invited", "Invited"
    PRESENT = "present", "Present"
    APOLOGIES = "apologies", "Apologies"


class AttendeeRole(models.TextChoices):
    CHAIR = "chair", "Chair"
    MEMBER = "member", "Agency representative"
    MINUTE_TAKER = "minute_taker", "Minute taker"
    THIRD_PARTY = "third_party", "Third party (executive summary only)"


class Attendee(models.Model):
    """An invited agency (``user`` empty) or a named person attending for an agency."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendees")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="attendances"
    )
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=15, choices=AttendeeRole.choices, default=AttendeeRole.MEMBER)
    attendance = models.CharField(max_length=10, choices=Attendance.choices, default=Attendance.INVITED)
    acknowledged_confidentiality_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["agency__name", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "user"],
                condition=models.Q(user__isnull=False),
                name="attendee_person_once",
            ),
            models.UniqueConstraint(
                fields=["meeting", "agency"],
                condition=models.Q(user__isnull=True),
                name="attendee_agency_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user or 'invited'} for {self.agency}"


class AgendaReason(models.TextChoices):
    DUE_FOR_REVIEW = "due_review", "Due for review"
    OVERDUE_ACTIONS = "overdue_actions", "Overdue actions"
    NEW_REFERRAL = "new_referral", "New referral"
    CARRIED_FORWARD = "carried_forward", "Open actions carried forward"
    ADDED_BY_CHAIR = "chair", "Added by the chair"


class ItemStatus(models.TextChoices):
    PENDING = "pending", "To discuss"
    DISCUSSED = "discussed", "Discussed"
    DEFERRED = "deferred", "Deferred"


class AgendaItem(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="items")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="agenda_items")
    order = models.PositiveIntegerField()
    reason = models.CharField(max_length=16, choices=AgendaReason.choices)
    excluded_agencies = models.ManyToManyField(Agency, blank=True, related_name="+")
    status = models.CharField(max_length=10, choices=ItemStatus.choices, default=ItemStatus.PENDING)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["meeting", "order"]
        constraints = [models.UniqueConstraint(fields=["meeting", "case"], name="agenda_case_once")]

    def __str__(self) -> str:
        return f"item {self.order}"


class MeetingRecord(models.Model):
    """Fields every encrypted meeting record carries; encrypted under the item's case key."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    CATEGORY: ClassVar[str] = C.C10
    VISIBILITY: ClassVar[dict[str, tuple[str, int]]] = {}

    class Meta:
        abstract = True

    def encryption_key_id(self) -> uuid.UUID:
        return self.item.case.data_key_id  # type: ignore[attr-defined]


class MinuteEntry(MeetingRecord):
    """The minutes of one agenda item. ``victim_safety_minutes`` (C7) is withheld where C7 is not shared."""

    item = models.OneToOneField(AgendaItem, on_delete=models.CASCADE, related_name="minutes")
    body = EncryptedTextField(null=True, blank=True)
    victim_safety_minutes = EncryptedTextField(null=True, blank=True)
    executive_summary = EncryptedTextField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    VISIBILITY = {
        "body": (C.C10, SUMMARY),
        "executive_summary": (C.C10, SUMMARY),
        "victim_safety_minutes": (C.C7, SUMMARY),
    }

    def __str__(self) -> str:
        return f"minutes of {self.item_id}"


class DecisionKind(models.TextChoices):
    GENERAL = "general", "General"
    LEVEL_CHANGE = "level_change", "MAPPA level change"
    RMP_CHANGE = "rmp_change", "Risk management plan change"
    REVIEW_DATE = "review_date", "Next review date"
    CLOSURE = "closure", "Closure"


class Decision(MeetingRecord):
    item = models.ForeignKey(AgendaItem, on_delete=models.CASCADE, related_name="decisions")
    kind = models.CharField(max_length=15, choices=DecisionKind.choices, default=DecisionKind.GENERAL)
    text = EncryptedTextField()
    rationale = EncryptedTextField(null=True, blank=True)
    from_level = models.PositiveSmallIntegerField(null=True, blank=True)
    to_level = models.PositiveSmallIntegerField(null=True, blank=True)
    review_on = models.DateField(null=True, blank=True)
    plan_number = models.PositiveIntegerField(null=True, blank=True)

    VISIBILITY = {
        "kind": (C.C10, SUMMARY),
        "text": (C.C10, SUMMARY),
        "rationale": (C.C10, SUMMARY),
        "from_level": (C.C10, SUMMARY),
        "to_level": (C.C10, SUMMARY),
        "review_on": (C.C10, SUMMARY),
        "plan_number": (C.C10, SUMMARY),
    }

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} decision"


class Dissent(MeetingRecord):
    """A differing view on a decision, recorded by name and agency (MAPPA C)."""

    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="dissents")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    name = EncryptedTextField()
    view = EncryptedTextField()

    VISIBILITY = {"agency": (C.C10, SUMMARY), "name": (C.C10, SUMMARY), "view": (C.C10, SUMMARY)}

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"dissent on {self.decision_id}"

    def encryption_key_id(self) -> uuid.UUID:
        return self.decision.item.case.data_key_id


class Addendum(MeetingRecord):
    """A correction after sign-off. The signed minutes themselves never change."""

    item = models.ForeignKey(AgendaItem, on_delete=models.CASCADE, related_name="addenda")
    category = models.CharField(
        max_length=3, choices=[(C.C10, C.C10.label), (C.C7, C.C7.label)], default=C.C10
    )
    text = EncryptedTextField()

    VISIBILITY = {"text": ("*", SUMMARY)}

    class Meta:
        ordering = ["created_at"]
        verbose_name_plural = "addenda"

    def __str__(self) -> str:
        return f"addendum {self.id}"
