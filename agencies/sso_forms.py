"""Forms for single sign-on: an agency's provider settings, and finding your organisation."""

from __future__ import annotations

import re

from django import forms

from .sso_models import MfaPolicy
from .sso_services import ProviderSettings

SPLIT = re.compile(r"[\s,]+")


def _split(text: str) -> tuple[str, ...]:
    return tuple(item for item in SPLIT.split(text or "") if item)


class IdentityProviderForm(forms.Form):
    """What an agency admin sets; the service (check_provider_settings) validates every field."""

    is_enabled = forms.BooleanField(
        label="Let people sign in with their organisation's account", required=False
    )
    issuer = forms.CharField(
        label="Issuer",
        max_length=300,
        help_text="Exactly as the provider names itself (its tokens' iss), such as "
        "https://login.microsoftonline.com/<tenant-id>/v2.0. Use a tenant-specific issuer.",
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    client_id = forms.CharField(
        label="Client id",
        max_length=200,
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    client_secret_file = forms.CharField(
        label="Client secret file",
        max_length=300,
        help_text="The name of the file in this agency's folder of the server's secrets folder that "
        "holds the client secret. The secret itself is never entered or stored here.",
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    allowed_email_domains = forms.CharField(
        label="Allowed email domains",
        help_text="One or more, separated by spaces or commas. A token's email must be in one of them.",
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
    )
    person_claim = forms.CharField(
        label="Claim that names the person",
        max_length=60,
        initial="email",
        help_text="Matched to the email address of a person you have added (such as email or upn).",
        widget=forms.TextInput(attrs={"spellcheck": "false"}),
    )
    mfa_policy = forms.ChoiceField(label="Second factor", choices=MfaPolicy.choices)
    mfa_values = forms.CharField(
        label="Accepted amr or acr values",
        required=False,
        help_text="For example mfa (amr), or AAL2_OR_AAL3_ANY (acr). Other sign-ins are asked for "
        "Convene's own security code.",
        widget=forms.TextInput(attrs={"spellcheck": "false"}),
    )
    acr_values = forms.CharField(
        label="acr values to request",
        required=False,
        max_length=200,
        help_text="Optional: sent to the provider as acr_values.",
        widget=forms.TextInput(attrs={"spellcheck": "false"}),
    )
    max_session_minutes = forms.IntegerField(
        label="Longest session, in minutes",
        initial=8 * 60,
        help_text="A session also ends when the provider's ID token expires.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def to_settings(self) -> ProviderSettings:
        data = self.cleaned_data
        return ProviderSettings(
            is_enabled=bool(data["is_enabled"]),
            issuer=data["issuer"],
            client_id=data["client_id"],
            client_secret_file=data["client_secret_file"],
            allowed_email_domains=_split(data["allowed_email_domains"]),
            person_claim=data["person_claim"],
            mfa_policy=data["mfa_policy"],
            mfa_values=_split(data["mfa_values"]),
            acr_values=data["acr_values"],
            max_session_minutes=data["max_session_minutes"],
        )


class FindOrganisationForm(forms.Form):
    email = forms.EmailField(
        label="Your work email address",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )
