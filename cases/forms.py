"""Page forms: they shape input; the do_* services apply the domain rules and name the field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from agencies.models import User
from core.categories import Category

from . import choices as c

DATE = forms.DateInput(attrs={"type": "date"})
OPTIONAL_INT = {"required": False, "min_value": 0}


class NominalForm(forms.Form):
    given_name = forms.CharField(max_length=100)
    family_name = forms.CharField(max_length=100)
    date_of_birth = forms.DateField(required=False, widget=DATE)
    aliases = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One alias per line, e.g. Danny Marsh.",
    )
    ethnicity = forms.CharField(max_length=80, required=False)
    address = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    pnc_id = forms.CharField(
        label="PNC ID", max_length=20, required=False, help_text="For example 04/0512377X."
    )
    visor_ref = forms.CharField(label="ViSOR reference", max_length=40, required=False)
    ndelius_crn = forms.CharField(label="nDelius CRN", max_length=20, required=False)
    nhs_number = forms.CharField(label="NHS number", max_length=20, required=False, help_text="10 digits.")

    def alias_pairs(self) -> tuple[tuple[str, str], ...]:
        pairs = []
        for line in (self.cleaned_data.get("aliases") or "").splitlines():
            parts = line.strip().rsplit(" ", 1)
            if parts and parts[0]:
                pairs.append((parts[0], parts[1] if len(parts) > 1 else ""))
        return tuple(pairs)


class CaseCreateForm(NominalForm):
    forum = forms.ChoiceField(choices=c.Forum.choices)
    mappa_category = forms.TypedChoiceField(
        choices=[("", "—"), *c.MappaCategory.choices], coerce=int, empty_value=None, required=False
    )
    mappa_level = forms.TypedChoiceField(
        choices=[("", "—"), *c.MappaLevel.choices], coerce=int, empty_value=None, required=False
    )
    next_review_on = forms.DateField(required=False, widget=DATE)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), label="Reason for referral")
    lawful_basis = forms.CharField(max_length=200)
    index_offence = forms.CharField(max_length=200)
    received_on = forms.DateField(widget=DATE, label="Referral received on")
    urgency = forms.ChoiceField(choices=c.Urgency.choices)
    link_nominal = forms.UUIDField(required=False, widget=forms.HiddenInput)
    confirm_new_nominal = forms.BooleanField(
        required=False, label="This is a different person: create a new record", widget=forms.HiddenInput
    )


class CaseHeaderForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    forum = forms.ChoiceField(choices=c.Forum.choices)
    mappa_category = forms.TypedChoiceField(
        choices=[("", "—"), *c.MappaCategory.choices], coerce=int, empty_value=None, required=False
    )
    mappa_level = forms.TypedChoiceField(
        choices=[("", "—"), *c.MappaLevel.choices], coerce=int, empty_value=None, required=False
    )
    next_review_on = forms.DateField(required=False, widget=DATE)


class StatusForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    status = forms.ChoiceField(choices=c.CaseStatus.choices)
    closure_reason = forms.ChoiceField(choices=[("", "—"), *c.ClosureReason.choices], required=False)
    closure_note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


class NoteForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), label="Note")
    category = forms.ChoiceField(choices=Category.choices, label="Data category")
    basis = forms.ChoiceField(choices=c.Basis.choices, label="Fact or opinion")


class VictimForm(forms.Form):
    name = forms.CharField(max_length=500)
    relationship = forms.ChoiceField(choices=c.Relationship.choices)
    contact = forms.CharField(required=False)
    address = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    area = forms.CharField(
        required=False, help_text="A coarse zone, shown to roles that do not get the address."
    )
    routines = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    workplace = forms.CharField(required=False)
    vulnerabilities = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    consent = forms.ChoiceField(choices=c.Consent.choices)


class ScreeningForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    outcome = forms.ChoiceField(choices=c.ScreeningOutcome.choices)
    advice_given = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


class PlanForm(forms.Form):
    base_number = forms.IntegerField(widget=forms.HiddenInput)
    supervision = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="One item per line."
    )
    monitoring = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Monitoring and control"
    )
    interventions = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Interventions and treatment"
    )
    victim_safety = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Victim safety"
    )
    contingency = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    change_summary = forms.CharField(max_length=200, required=False, label="What changed")

    def items(self) -> dict[str, list[dict[str, str]]]:
        return {
            pillar: [
                {"text": line.strip()}
                for line in (self.cleaned_data.get(pillar) or "").splitlines()
                if line.strip()
            ]
            for pillar in c.Pillar.values
        }


class AssessmentForm(forms.Form):
    tool = forms.ChoiceField(choices=c.Tool.choices)
    level = forms.CharField(
        max_length=12,
        required=False,
        help_text=(
            "S-DASH: standard, medium or high. SASH: low, moderate or high. "
            "OASys: low, medium, high or very_high."
        ),
    )
    srp_type = forms.ChoiceField(choices=[("", "—"), *c.SrpType.choices], required=False, label="SRP type")
    formulation = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    assessed_on = forms.DateField(required=False, widget=DATE)
    basis = forms.ChoiceField(choices=c.Basis.choices)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for key, label in c.SDASH_QUESTIONS:
            self.fields[f"sdash_{key}"] = forms.BooleanField(required=False, label=f"S-DASH: {label}")
        for domain in c.SRP_DOMAINS:
            self.fields[f"srp_{domain}"] = forms.ChoiceField(
                choices=[("", "—")] + [(v, v.title()) for v in c.SRP_DOMAIN_LEVELS],
                required=False,
                label=f"SRP {domain.replace('_', ' ')} risk",
            )


class PersonChoiceField(forms.ModelChoiceField):
    """A choice of people, each shown by full name (or username)."""

    def label_from_instance(self, obj: User) -> str:
        return f"{obj.get_full_name() or obj.username}"


class ActionForm(forms.Form):
    pillar = forms.ChoiceField(choices=c.Pillar.choices)
    text = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label="Action")
    owner = PersonChoiceField(queryset=User.objects.none())  # the view passes who may own one
    due_on = forms.DateField(widget=DATE)

    def __init__(self, *args: Any, owners: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner = self.fields["owner"]
        assert isinstance(owner, PersonChoiceField)
        owner.queryset = owners


class ActionStatusForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    status = forms.ChoiceField(choices=c.ActionStatus.choices)


class ActionReassignForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    owner = PersonChoiceField(queryset=User.objects.none(), label="New owner")  # the view passes owners

    def __init__(self, *args: Any, owners: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner = self.fields["owner"]
        assert isinstance(owner, PersonChoiceField)
        owner.queryset = owners


class OrderForm(forms.Form):
    order_type = forms.ChoiceField(choices=c.OrderType.choices)
    legal_basis = forms.CharField(max_length=200)
    court = forms.CharField(max_length=200, required=False)
    status = forms.ChoiceField(choices=c.OrderStatus.choices, initial=c.OrderStatus.IN_FORCE)
    applied_on = forms.DateField(required=False, widget=DATE)
    made_on = forms.DateField(required=False, widget=DATE)
    served_on = forms.DateField(
        required=False, widget=DATE, help_text="For an SPO, notification is due 3 days after service."
    )
    starts_on = forms.DateField(required=False, widget=DATE)
    ends_on = forms.DateField(
        required=False, widget=DATE, help_text="Leave empty for an order until further order."
    )
    until_further_order = forms.BooleanField(required=False)
    notification_met_on = forms.DateField(required=False, widget=DATE)


class ConditionForm(forms.Form):
    kind = forms.ChoiceField(choices=c.ConditionKind.choices)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Condition")
    protected_persons = forms.CharField(required=False, label="Protected people")
    exclusion_zone = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    electronic_monitoring = forms.BooleanField(required=False)


class BreachForm(forms.Form):
    occurred_on = forms.DateField(widget=DATE)
    reported_by = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    action_taken = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    outcome = forms.CharField(max_length=200, required=False)


class OrderEventForm(forms.Form):
    kind = forms.ChoiceField(choices=c.OrderEventKind.choices)
    occurred_on = forms.DateField(widget=DATE)
    details = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    new_ends_on = forms.DateField(required=False, widget=DATE, help_text="Renewals only.")
