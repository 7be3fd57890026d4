"""Information-sharing agreements, the case shares made under them, break-glass and disclosures.

Object permissions are django-guardian rows in direct foreign-key tables held by agency groups
(and by a person for break-glass). Only sharing.services grants or withdraws them.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from agencies.models import Agency
from cases.models import Case
from keystore.fields import EncryptedTextField


class AgreementStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    EXPIRED = "expired", "Expired"
    TERMINATED = "terminated", "Terminated"


# Lifecycle of an agreement (ICO data sharing code: review and termination).
AGREEMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    AgreementStatus.DRAFT: frozenset({AgreementStatus.ACTIVE, AgreementStatus.TERMINATED}),
    AgreementStatus.ACTIVE: frozenset(
        {AgreementStatus.SUSPENDED, AgreementStatus.EXPIRED, AgreementStatus.TERMINATED}
    ),
    AgreementStatus.SUSPENDED: frozenset({AgreementStatus.ACTIVE, AgreementStatus.TERMINATED}),
    AgreementStatus.EXPIRED: frozenset(),
    AgreementStatus.TERMINATED: frozenset(),
}


class AgreementQuerySet(models.QuerySet["SharingAgreement"]):
    def in_force(self, on: date | None = None) -> AgreementQuerySet:
        on = on or timezone.localdate()
        return self.filter(
            Q(ends_on__isnull=True) | Q(ends_on__gte=on), status=AgreementStatus.ACTIVE, starts_on__lte=on
        )


class SharingAgreement(models.Model):
    """An ISA per the ICO data sharing code. Only an active one in its dates allows sharing."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=200)
    reference = models.CharField(max_length=40, unique=True)
    purpose = models.TextField()
    dpia_reference = models.CharField("DPIA reference", max_length=80)
    retention_rule = models.TextField()
    retention_years = models.PositiveSmallIntegerField(default=6)
    security_terms = models.TextField()
    status = models.CharField(max_length=12, choices=AgreementStatus.choices, default=AgreementStatus.DRAFT)
    starts_on = models.DateField()
    review_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    drafted_by_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.CharField(max_length=300, blank=True)
    version = models.PositiveIntegerField(default=1)

    objects = AgreementQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_on", "title"]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    def is_in_force(self, on: date | None = None) -> bool:
        on = on or timezone.localdate()
        return (
            self.status == AgreementStatus.ACTIVE
            and self.starts_on <= on
            and (self.ends_on is None or self.ends_on >= on)
        )


class AgreementParty(models.Model):
    """One agency's terms in an agreement: its legal gateway, the categories it may receive, and the
    categories it may contribute (record on a case shared with it)."""

    agreement = models.ForeignKey(SharingAgreement, on_delete=models.CASCADE, related_name="parties")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="agreement_parties")
    legal_gateway = models.TextField(
        help_text="e.g. CJA 2003 s325; DPA 2018 Part 3 with its Schedule 8 condition."
    )
    categories = models.JSONField(default=dict, help_text="{'C1': 2, 'C3': 1, …} — category to level.")
    contribute_categories = models.JSONField(
        default=list,
        blank=True,
        help_text="Category codes this agency records on cases shared with it under the agreement.",
    )
    signatory_name = models.CharField(max_length=200, blank=True)
    signatory_role = models.CharField(max_length=200, blank=True)
    signed_on = models.DateField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["agency__name"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "agency"], name="party_agreement_agency_unique")
        ]

    def __str__(self) -> str:
        return f"{self.agency} in {self.agreement.reference}"


class CaseShareQuerySet(models.QuerySet["CaseShare"]):
    def live(self, at: datetime | None = None) -> CaseShareQuerySet:
        """Shares that give access now: not revoked, in their dates, under an agreement in force."""
        at = at or timezone.now()
        today = timezone.localdate(at)
        return self.filter(
            Q(valid_to__isnull=True) | Q(valid_to__gt=at),
            Q(agreement__ends_on__isnull=True) | Q(agreement__ends_on__gte=today),
            revoked_at__isnull=True,
            valid_from__lte=at,
            agreement__status=AgreementStatus.ACTIVE,
            agreement__starts_on__lte=today,
        )


class CaseShare(models.Model):
    """A case shared with a partner agency under an agreement, for a purpose, for some categories."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="shares")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="case_shares")
    agreement = models.ForeignKey(SharingAgreement, on_delete=models.PROTECT, related_name="shares")
    purpose = models.CharField(max_length=300)
    categories = models.JSONField(default=list, help_text="Category codes, a subset of the agreement's.")
    valid_from = models.DateTimeField(default=timezone.now)
    valid_to = models.DateTimeField(null=True, blank=True)
    shared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoke_reason = models.CharField(max_length=300, blank=True)

    objects = CaseShareQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "agency", "agreement"],
                condition=Q(revoked_at__isnull=True),
                name="share_one_live_per_agreement",
            )
        ]
        indexes = [
            models.Index(
                fields=["agency", "case"],
                condition=Q(revoked_at__isnull=True),
                name="share_agency_case_live_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.case} shared with {self.agency}"


class BreakGlass(models.Model):
    """Emergency access to a case not shared with the user's agency: reasoned, time-limited, reviewed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="break_glass")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="break_glass")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    agreement = models.ForeignKey(SharingAgreement, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    opened_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    review_outcome = models.CharField(
        max_length=12, blank=True, choices=[("justified", "Justified"), ("unjustified", "Not justified")]
    )
    review_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["user", "case", "expires_at"], name="breakglass_user_case_idx")]

    def __str__(self) -> str:
        return f"break-glass on {self.case} by {self.user}"

    def is_live(self, at: datetime | None = None) -> bool:
        return self.expires_at > (at or timezone.now())


class Disclosure(models.Model):
    """A disclosure outside Convene (victim, employer, another body): necessary, approved, recorded."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="disclosures")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    recipient = EncryptedTextField()
    RECIPIENT_KINDS = [
        ("victim", "Victim"),
        ("employer", "Employer"),
        ("partner", "Partner or family"),
        ("body", "Another body"),
    ]
    recipient_kind = models.CharField(max_length=20, choices=RECIPIENT_KINDS)
    categories = models.JSONField(default=list)
    summary = EncryptedTextField(help_text="What was disclosed.")
    justification = EncryptedTextField()
    undertaking = models.BooleanField(default=False, help_text="A confidentiality undertaking was given.")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    disclosed_on = models.DateField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-disclosed_on"]

    def __str__(self) -> str:
        return f"disclosure of {self.case} to a {self.get_recipient_kind_display().lower()}"

    def encryption_key_id(self) -> uuid.UUID:
        return self.case.data_key_id


class MatchNoticeStatus(models.TextChoices):
    OPEN = "open", "Waiting for a decision"
    SHARED = "shared", "Case shared with the referring agency"
    DISMISSED = "dismissed", "Dismissed"


class MatchNotice(models.Model):
    """A partner's referral matched the perpetrator of a case this agency leads.

    The referrer was told nothing of the match (policy.nominals_linkable_by did not offer it to
    them); the lead agency's chairs are told instead, and decide whether to share their case with the
    referring agency. It names the referring agency and, through ``case``, the holder's own case;
    never a name, date of birth or identifier (``matched_on`` holds labels such as "PNC ID").
    ``referral_case`` is the referrer's new case, kept for the audit trail and never shown to the
    holder.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="match_notices")
    holder_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    referring_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    referral_case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    matched_on = models.JSONField(default=list, help_text="What matched: labels only, never values.")
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        max_length=10, choices=MatchNoticeStatus.choices, default=MatchNoticeStatus.OPEN
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    share = models.ForeignKey(CaseShare, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["case", "referral_case"], name="match_notice_once_per_referral")
        ]
        indexes = [models.Index(fields=["holder_agency", "status"], name="match_notice_holder_idx")]

    def __str__(self) -> str:
        return f"match notice on {self.case} from {self.referring_agency}"


class CaseUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)


class CaseGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)


class CaseVisibility(models.Model):
    """A candidate row: this agency may be able to see this case (it leads it, or it was shared with it,
    or one of its people opened it by break-glass).

    It is the index behind every case list, not a grant: ``sharing.policy.cases_visible_to`` still
    applies the exact rule (live share, agreement in force, guardian row, unexpired break-glass) to
    each candidate, so a stale row shows nothing. What matters is that a row exists for every case an
    agency may see: database triggers write it when a case, a share or a break-glass row is inserted
    (``sharing.visibility``). Its ``(agency, newest first)`` index lets PostgreSQL read a page of an
    agency's cases as a range instead of testing every case against every share.
    """

    id = models.BigAutoField(primary_key=True)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="visibility")
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    case_created_at = models.DateTimeField(help_text="A copy of the case's created_at, for the index.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "case"], name="visibility_agency_case_unique")
        ]
        indexes = [
            models.Index(fields=["agency", "-case_created_at", "-case"], name="visibility_agency_newest_idx")
        ]

    def __str__(self) -> str:
        return f"{self.case_id} candidate for agency {self.agency_id}"
