"""Forms for the lifecycle pages (parsing only; rules live in the services)."""

from __future__ import annotations

from django import forms

from .models import RecordType, SubjectKind


class DateInput(forms.DateInput):
    input_type = "date"


class RetainForm(forms.Form):
    reason = forms.CharField(
        label="Why keep it",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        required=False,
        help_text="The policing or service purpose that remains (MoPI: NRAC criteria).",
    )
    next_review_on = forms.DateField(label="Next review date", widget=DateInput, required=False)


class EraseForm(forms.Form):
    erase_reason = forms.CharField(
        label="Why erase it", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, required=False
    )
    confirm = forms.BooleanField(
        label="I understand erasure destroys the data key and cannot be undone", required=True
    )


class HoldForm(forms.Form):
    case = forms.CharField(label="Case reference", max_length=40, help_text="For example CNV-2026-1A2B3C.")
    reason = forms.CharField(label="Reason for the hold", max_length=300, required=False)


class LiftForm(forms.Form):
    lift_reason = forms.CharField(label="Reason for lifting", max_length=300, required=False)


class SarForm(forms.Form):
    reference = forms.CharField(label="Your SAR reference", max_length=40, required=False)
    subject_kind = forms.ChoiceField(label="The requester is", choices=SubjectKind.choices)
    given_name = forms.CharField(label="Given name", max_length=100, required=False)
    family_name = forms.CharField(label="Family name", max_length=100, required=False)
    date_of_birth = forms.DateField(label="Date of birth", widget=DateInput, required=False)
    pnc_id = forms.CharField(label="PNC ID", max_length=20, required=False)
    nhs_number = forms.CharField(label="NHS number", max_length=20, required=False)


class RuleForm(forms.Form):
    record_type = forms.ChoiceField(label="Record type", choices=RecordType.choices)
    review_months = forms.IntegerField(label="Review after (months)", min_value=1, max_value=1200)
    basis = forms.CharField(
        label="Basis", max_length=300, help_text="For example: MoPI group 1 (public protection)."
    )
