from __future__ import annotations

from django import forms

from core.categories import AgencyType
from core.parsing import is_whole_number


class SignInForm(forms.Form):
    username = forms.CharField(
        label="Username",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "spellcheck": "false"}),
    )
    password = forms.CharField(
        label="Password", widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Security code",
        help_text="The 6-digit code from your authenticator app.",
        max_length=6,
        min_length=6,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9]*"}
        ),
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if not is_whole_number(code, max_digits=6):
            raise forms.ValidationError("Enter the 6 digits shown in your authenticator app.")
        return code


ROLE_CHOICES = [
    ("practitioner", "Practitioner"),
    ("chair", "Chair"),
    ("auditor", "Auditor"),
    ("agency_admin", "Agency admin"),
    ("dpo", "Data protection officer"),
]
VETTING_CHOICES = [("none", "None"), ("ctc", "CTC"), ("sc", "SC"), ("nppv2", "NPPV2"), ("nppv3", "NPPV3")]


class AddMemberForm(forms.Form):
    """Give someone a role in my agency: an existing account by username, or a new person."""

    existing_username = forms.CharField(
        label="Username of an existing account",
        required=False,
        max_length=150,
        help_text="Leave empty to create a new person below.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    first_name = forms.CharField(label="First name", required=False, max_length=150)
    last_name = forms.CharField(label="Last name", required=False, max_length=150)
    username = forms.CharField(
        label="New username",
        required=False,
        max_length=150,
        help_text="Lower-case letters, digits, dots, hyphens and underscores.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    email = forms.EmailField(label="Email", required=False)
    role = forms.ChoiceField(label="Role", choices=ROLE_CHOICES)
    vetting_level = forms.ChoiceField(label="Vetting level", choices=VETTING_CHOICES, initial="none")

    def clean(self) -> dict:
        data = super().clean() or {}
        existing = (data.get("existing_username") or "").strip()
        new = (data.get("username") or "").strip()
        if existing and new:
            self.add_error("existing_username", "Give an existing username or a new person, not both.")
        elif not existing and not new:
            self.add_error(
                "existing_username", "Give the username of an existing account, or a new username."
            )
        elif new:
            if not (data.get("first_name") or "").strip():
                self.add_error("first_name", "Enter the new person's first name.")
            if not (data.get("last_name") or "").strip():
                self.add_error("last_name", "Enter the new person's last name.")
        return data


class ChangeRoleForm(forms.Form):
    role = forms.ChoiceField(label="New role", choices=ROLE_CHOICES)
    version = forms.IntegerField(widget=forms.HiddenInput)


class CreateAgencyForm(forms.Form):
    name = forms.CharField(label="Agency name", max_length=200)
    agency_type = forms.ChoiceField(label="Type of agency", choices=AgencyType.choices)
    area = forms.CharField(label="Area", max_length=120, required=False, help_text="For example, Westshire.")


class InviteAdminForm(forms.Form):
    first_name = forms.CharField(label="Admin's first name", max_length=150)
    last_name = forms.CharField(label="Admin's last name", max_length=150)
    email = forms.EmailField(label="Admin's work email", required=False)


class OpenInvitationForm(forms.Form):
    code = forms.CharField(
        label="Invitation code",
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class AcceptInvitationForm(forms.Form):
    username = forms.CharField(
        label="Choose a username",
        max_length=150,
        help_text="Lower-case letters, digits, dots, hyphens and underscores.",
        widget=forms.TextInput(attrs={"autocomplete": "username", "spellcheck": "false"}),
    )
    password = forms.CharField(
        label="Choose a password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_again = forms.CharField(
        label="Type the password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("password") and data.get("password_again") and data["password"] != data["password_again"]:
            self.add_error("password_again", "The two passwords are not the same.")
        return data
