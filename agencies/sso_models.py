"""Single sign-on: an agency's OpenID provider, the provider accounts linked to people, and the
second factor a provider attests.

Imported at the end of agencies.models so that Django registers these models with the app.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import QuerySet
from django_otp.models import Device

__all__ = ["AgencyIdentityProvider", "ExternalIdentity", "MfaPolicy", "ProviderAttestedDevice"]


class MfaPolicy(models.TextChoices):
    CONVENE_TOTP = "convene_totp", "Always ask for Convene's own security code"
    AMR_CONTAINS = "amr_contains", "Accept the provider's second factor when its amr holds an accepted value"
    ACR_IN = "acr_in", "Accept the provider's second factor when its acr is an accepted value"


class AgencyIdentityProvider(models.Model):
    """One agency's OpenID Connect provider. The client secret stays in a file; only its name is here."""

    agency = models.OneToOneField(
        "agencies.Agency", on_delete=models.CASCADE, related_name="identity_provider"
    )
    is_enabled = models.BooleanField(default=False)
    issuer = models.CharField(
        max_length=300, help_text="Exactly the provider's issuer (the iss of its tokens), https only."
    )
    client_id = models.CharField(max_length=200)
    client_secret_file = models.CharField(
        max_length=300,
        help_text="A file in CONVENE_OIDC_SECRETS_DIR/<agency slug>/ that holds the client secret.",
    )
    allowed_email_domains = models.JSONField(
        default=list, help_text="Lower-case domains; the email claim must end in one of them."
    )
    person_claim = models.CharField(
        max_length=60, default="email", help_text="The ID-token claim matched to a person's email address."
    )
    mfa_policy = models.CharField(max_length=20, choices=MfaPolicy.choices, default=MfaPolicy.CONVENE_TOTP)
    mfa_values = models.JSONField(
        default=list, blank=True, help_text="amr or acr values that show the provider asked for MFA."
    )
    acr_values = models.CharField(
        max_length=200, blank=True, help_text="Sent as acr_values in the authorization request."
    )
    max_session_minutes = models.PositiveIntegerField(
        default=8 * 60, help_text="A session ends this long after the provider authenticated the person."
    )
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["agency__name"]

    def __str__(self) -> str:
        return f"identity provider of {self.agency}"

    @property
    def metadata_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


class ExternalIdentity(models.Model):
    """A provider account (its stable ``sub``) linked to one person, made at their first sign-in."""

    provider = models.ForeignKey(AgencyIdentityProvider, on_delete=models.CASCADE, related_name="identities")
    subject = models.CharField(max_length=255)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_identities"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["provider", "subject"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "subject"], name="external_identity_subject_uniq"),
            models.UniqueConstraint(fields=["provider", "user"], name="external_identity_user_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.user} at {self.provider.agency}"


class ProviderDeviceManager(models.Manager["ProviderAttestedDevice"]):
    """Stands in for django-otp's DeviceManager, whose one method it answers."""

    def devices_for_user(self, user: Any, confirmed: bool | None = None) -> QuerySet[ProviderAttestedDevice]:
        """Never offered as a way to enter a code: it cannot verify one (see the class docstring)."""
        return self.none()


class ProviderAttestedDevice(Device):
    """The second factor as the agency's provider attested it (its amr/acr), for django-otp.

    Only the single sign-on callback puts it in a session. It verifies no typed code and is not
    listed among a person's devices, so it never stands in for their own authenticator.
    """

    # No reverse accessors: django-otp is untyped, and nothing reads devices from a user or provider.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    provider = models.ForeignKey(AgencyIdentityProvider, on_delete=models.CASCADE, related_name="+")

    objects = ProviderDeviceManager()

    class Meta(Device.Meta):
        constraints = [
            models.UniqueConstraint(fields=["provider", "user"], name="provider_device_user_uniq"),
        ]

    def verify_token(self, token: Any) -> bool:
        return False
