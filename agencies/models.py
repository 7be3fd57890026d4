"""Agencies, the people who work for them, and their API tokens."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from django.contrib.auth.models import AbstractUser, Group
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.categories import AgencyType


class User(AbstractUser):
    """A person who signs in. What they may do comes from their memberships, never from here."""

    is_demo = models.BooleanField(default=False, help_text="Created by seed_demo; refused in production.")
    session_epoch = models.PositiveIntegerField(
        default=0, help_text="Raised by 'sign out everywhere': every existing session stops working."
    )

    # Installed on each request's user by django_otp's OTPMiddleware (and by token authentication,
    # agencies/tokens.py): whether this request passed the second factor. Not a field.
    is_verified: Callable[[], bool]

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        """Sessions are bound to the password and to the session epoch."""
        from django.utils.crypto import salted_hmac

        return salted_hmac(
            "convene.session", f"{self.password}|{self.session_epoch}", secret=secret, algorithm="sha256"
        ).hexdigest()


class LegalRegime(models.TextChoices):
    PART3 = "part3", "DPA 2018 Part 3 (competent authority)"
    UKGDPR = "ukgdpr", "UK GDPR"


class Agency(models.Model):
    """A data controller taking part in Convene: a force, a probation unit, a trust, a CPS area, an ISAC."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    agency_type = models.CharField(max_length=20, choices=AgencyType.choices)
    regime = models.CharField(max_length=10, choices=LegalRegime.choices)
    area = models.CharField(max_length=120, blank=True)
    duty_to_cooperate = models.BooleanField(
        default=False, help_text="A CJA 2003 s325 duty-to-co-operate agency (the CPS is not one)."
    )
    dpo_name = models.CharField("data protection officer", max_length=200, blank=True)
    dpo_email = models.EmailField("data protection officer email", blank=True)
    caldicott_name = models.CharField("Caldicott Guardian", max_length=200, blank=True)
    caldicott_email = models.EmailField("Caldicott Guardian email", blank=True)
    is_active = models.BooleanField(default=True)
    deactivated_at = models.DateTimeField(
        null=True, blank=True, help_text="When an operator deactivated it: every membership ended then."
    )
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="agency")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "agencies"

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    PRACTITIONER = "practitioner", "Practitioner"
    CHAIR = "chair", "Chair"
    AUDITOR = "auditor", "Auditor"
    AGENCY_ADMIN = "agency_admin", "Agency admin"
    DPO = "dpo", "Data protection officer"


class MembershipQuerySet(models.QuerySet["Membership"]):
    def active(self, at: datetime | None = None) -> MembershipQuerySet:
        at = at or timezone.now()
        return self.filter(
            Q(valid_to__isnull=True) | Q(valid_to__gt=at),
            valid_from__lte=at,
            ended_at__isnull=True,
            agency__is_active=True,
            user__is_active=True,
        )


class Membership(models.Model):
    """A person's role in one agency for a period. Ending it ends the access it gave at once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="memberships")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    vetting_level = models.CharField(
        max_length=20,
        choices=[("none", "None"), ("ctc", "CTC"), ("sc", "SC"), ("nppv2", "NPPV2"), ("nppv3", "NPPV3")],
        default="none",
    )
    valid_from = models.DateTimeField(default=timezone.now)
    valid_to = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["agency__name", "user__username"]
        indexes = [models.Index(fields=["user", "ended_at"], name="membership_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()}, {self.agency}"

    def is_active(self, at: datetime | None = None) -> bool:
        at = at or timezone.now()
        return (
            self.ended_at is None and self.valid_from <= at and (self.valid_to is None or self.valid_to > at)
        )


class ApiToken(models.Model):
    """A bearer token for an integration. Only its SHA-256 is stored; it acts as exactly its user."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"token {self.prefix}… for {self.user}"

    def is_usable(self, at: datetime | None = None) -> bool:
        at = at or timezone.now()
        return self.revoked_at is None and self.expires_at > at


class AgencyInvitation(models.Model):
    """A single-use, expiring link that makes its holder an agency's admin (the first one, typically).

    Only the SHA-256 of the link's token is stored; the link itself is shown once to the operator.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="invitations")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.AGENCY_ADMIN)
    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150)
    email = models.EmailField(blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation to {self.agency} ({self.get_role_display()})"

    def is_usable(self, at: datetime | None = None) -> bool:
        at = at or timezone.now()
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > at
            and self.agency.is_active
        )

    @property
    def status(self) -> str:
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "withdrawn"
        if self.expires_at <= timezone.now():
            return "expired"
        return "waiting"


class DemoObject(models.Model):
    """A stable name for one object made by ``seed_demo``, so that running it again changes nothing."""

    key = models.CharField(max_length=120, unique=True)
    model = models.CharField(max_length=100, help_text="app_label.ModelName")
    object_pk = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"demo {self.key} → {self.model} {self.object_pk}"


# Single sign-on models live in their own module; importing them here registers them with the app.
from .sso_models import AgencyIdentityProvider, ExternalIdentity, ProviderAttestedDevice  # noqa: E402, F401
