"""Forms for the sharing pages. They parse input; the services validate and decide."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.utils import timezone

from agencies.models import Agency
from core.categories import DEFAULT_MATRIX, Category, Level

from .models import Disclosure, SharingAgreement
from .policy import never_shared

LEVEL_CHOICES = [(Level.NONE, "None"), (Level.SUMMARY, "Summary"), (Level.FULL, "Full")]


class AgreementDraftForm(forms.Form):
    """The agreement's terms, then one block per agency: include it, its legal gateway, and the
    level it may receive of each category (prefilled from the DOMAIN.md §7 default matrix)."""

    reference = forms.CharField(max_length=40, help_text="For example ISA-NS-2026-02.")
    title = forms.CharField(max_length=200)
    purpose = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    dpia_reference = forms.CharField(label="DPIA reference", max_length=80)
    retention_rule = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    retention_years = forms.IntegerField(min_value=1, max_value=100, initial=6)
    security_terms = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    starts_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    review_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(
        self, *args: Any, agencies: list[Agency], drafting_agency_id: int | None = None, **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["starts_on"].initial = today
        self.fields["review_on"].initial = today + timedelta(days=365)
        self.agencies = agencies
        self.party_rows: list[dict[str, Any]] = []
        for agency in agencies:
            defaults = DEFAULT_MATRIX.get(agency.agency_type, {})
            banned = never_shared(agency.agency_type)
            include = f"party_{agency.pk}_include"
            gateway = f"party_{agency.pk}_gateway"
            self.fields[include] = forms.BooleanField(
                label=f"Include {agency.name}", required=False, initial=agency.pk == drafting_agency_id
            )
            self.fields[gateway] = forms.CharField(label="Legal gateway", required=False, max_length=2000)
            level_names = []
            for category in Category:
                name = f"party_{agency.pk}_{category.value}"
                choices = LEVEL_CHOICES[:1] if category.value in banned else LEVEL_CHOICES
                self.fields[name] = forms.TypedChoiceField(
                    label=f"{category.value} {category.label}",
                    choices=choices,
                    coerce=int,
                    initial=0 if category.value in banned else defaults.get(category.value, 0),
                )
                level_names.append(name)
            self.party_rows.append(
                {"agency": agency, "include": include, "gateway": gateway, "levels": level_names}
            )

    def parties(self) -> list[dict[str, Any]]:
        out = []
        for row in self.party_rows:
            if not self.cleaned_data.get(row["include"]):
                continue
            agency = row["agency"]
            out.append(
                {
                    "agency": agency,
                    "legal_gateway": self.cleaned_data.get(row["gateway"], ""),
                    "categories": {
                        name.rsplit("_", 1)[1]: self.cleaned_data.get(name, 0) for name in row["levels"]
                    },
                }
            )
        return out

    def bound_party_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "agency": row["agency"],
                "include": self[row["include"]],
                "gateway": self[row["gateway"]],
                "levels": [self[name] for name in row["levels"]],
            }
            for row in self.party_rows
        ]


class SignForm(forms.Form):
    party = forms.TypedChoiceField(coerce=int, label="Sign for")
    signatory_name = forms.CharField(max_length=200)
    signatory_role = forms.CharField(max_length=200)

    def __init__(self, *args: Any, parties: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        party = self.fields["party"]
        assert isinstance(party, forms.ChoiceField)
        party.choices = [(p.pk, p.agency.name) for p in parties]


class StatusForm(forms.Form):
    reason = forms.CharField(max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(widget=forms.HiddenInput)


class ShareForm(forms.Form):
    agency = forms.ModelChoiceField(queryset=Agency.objects.none(), label="Share with")
    agreement = forms.ModelChoiceField(queryset=SharingAgreement.objects.none(), label="Under agreement")
    categories = forms.MultipleChoiceField(
        choices=Category.choices, widget=forms.CheckboxSelectMultiple, required=False, label="Data categories"
    )
    purpose = forms.CharField(max_length=300, required=False)
    valid_to = forms.DateTimeField(
        required=False,
        label="Share until (optional)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def __init__(self, *args: Any, agencies: Any, agreements: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = agencies  # type: ignore[attr-defined]
        self.fields["agreement"].queryset = agreements  # type: ignore[attr-defined]


class RevokeForm(forms.Form):
    reason = forms.CharField(max_length=300, required=False)


class BreakGlassForm(forms.Form):
    agreement = forms.ModelChoiceField(queryset=SharingAgreement.objects.none(), label="Under agreement")
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Why you need this case now. Your access lasts a limited time and will be reviewed.",
    )

    def __init__(self, *args: Any, agreements: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agreement"].queryset = agreements  # type: ignore[attr-defined]
        first = agreements.first()
        if first is not None:
            self.fields["agreement"].initial = first.pk


class ReviewForm(forms.Form):
    outcome = forms.ChoiceField(choices=[("justified", "Justified"), ("unjustified", "Not justified")])
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class DisclosureForm(forms.Form):
    recipient = forms.CharField(max_length=300)
    recipient_kind = forms.ChoiceField(choices=Disclosure.RECIPIENT_KINDS, label="Recipient is")
    categories = forms.MultipleChoiceField(choices=Category.choices, widget=forms.CheckboxSelectMultiple)
    summary = forms.CharField(label="What was disclosed", widget=forms.Textarea(attrs={"rows": 3}))
    justification = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    undertaking = forms.BooleanField(required=False, label="A confidentiality undertaking was given")
    approved_by = forms.TypedChoiceField(coerce=int, label="Approved by (chair)")
    disclosed_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, chairs: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        approved_by = self.fields["approved_by"]
        assert isinstance(approved_by, forms.ChoiceField)
        approved_by.choices = [(u.pk, str(u)) for u in chairs]
        self.fields["disclosed_on"].initial = timezone.localdate()


class MatchNoticeShareForm(forms.Form):
    agreement = forms.ModelChoiceField(queryset=SharingAgreement.objects.none(), label="Under agreement")
    categories = forms.MultipleChoiceField(
        choices=Category.choices, widget=forms.CheckboxSelectMultiple, required=False, label="Data categories"
    )
    purpose = forms.CharField(max_length=300, required=False)

    def __init__(self, *args: Any, agreements: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agreement"].queryset = agreements  # type: ignore[attr-defined]
