"""Forms for the meeting pages. They parse input only; rules live in meetings.services."""

from __future__ import annotations

from django import forms

from cases import choices as cc

from .models import AttendeeRole, DecisionKind

TEXT = {"class": "app-textarea", "rows": 4}


class ScheduleForm(forms.Form):
    forum = forms.ChoiceField(choices=cc.Forum.choices)
    title = forms.CharField(max_length=200)
    scheduled_for = forms.DateTimeField(
        label="Date and time", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    location = forms.CharField(max_length=200, required=False)
    virtual_link = forms.CharField(label="Virtual meeting link", max_length=500, required=False)


class VersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)


class MoveForm(VersionForm):
    item = forms.UUIDField(widget=forms.HiddenInput)


class MinutesForm(VersionForm):
    body = forms.CharField(label="Minutes", widget=forms.Textarea(attrs=TEXT))
    victim_safety_minutes = forms.CharField(
        label="Victim safety (withheld from agencies without victim location)",
        required=False,
        widget=forms.Textarea(attrs=TEXT),
    )
    executive_summary = forms.CharField(
        label="Executive summary (for third parties)", required=False, widget=forms.Textarea(attrs=TEXT)
    )


class DecisionForm(forms.Form):
    kind = forms.ChoiceField(choices=DecisionKind.choices)
    text = forms.CharField(label="Decision", widget=forms.Textarea(attrs=TEXT))
    rationale = forms.CharField(widget=forms.Textarea(attrs=TEXT))
    to_level = forms.TypedChoiceField(
        label="New MAPPA level", choices=[("", "—"), *cc.MappaLevel.choices], coerce=int, required=False
    )
    review_on = forms.DateField(
        label="Next review date", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class DissentForm(forms.Form):
    decision = forms.UUIDField(widget=forms.HiddenInput)
    name = forms.CharField(max_length=200)
    agency = forms.IntegerField(widget=forms.Select)
    view = forms.CharField(label="Differing view", widget=forms.Textarea(attrs=TEXT))


class ActionForm(forms.Form):
    pillar = forms.ChoiceField(choices=cc.Pillar.choices)
    text = forms.CharField(label="Action", widget=forms.Textarea(attrs=TEXT))
    owner = forms.IntegerField(widget=forms.Select)
    due_on = forms.DateField(label="Due date", widget=forms.DateInput(attrs={"type": "date"}))


class ExcludeForm(VersionForm):
    agency = forms.IntegerField(widget=forms.Select)
    exclude = forms.BooleanField(required=False, initial=True)


class AddendumForm(forms.Form):
    text = forms.CharField(label="Correction", widget=forms.Textarea(attrs=TEXT))
    category = forms.ChoiceField(choices=[("C10", "Minutes"), ("C7", "Victim safety")], initial="C10")


class AttendanceForm(VersionForm):
    attendance = forms.ChoiceField(
        choices=[("present", "Present"), ("apologies", "Apologies"), ("invited", "Invited")]
    )


class InviteForm(forms.Form):
    agency = forms.IntegerField(widget=forms.Select)
    user = forms.IntegerField(required=False, widget=forms.Select)
    role = forms.ChoiceField(
        choices=[(v, label) for v, label in AttendeeRole.choices if v != AttendeeRole.CHAIR],
        initial=AttendeeRole.MEMBER,
    )
