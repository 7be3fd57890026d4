"""Input serializers: they check shapes and types; the do_* services check the domain rules.

Output is not serialised here: every read goes through cases.reading.read_case, so the API returns
exactly what pages show.
"""

from __future__ import annotations

from rest_framework import serializers

from core.categories import Category

from .. import choices as c


class VersionMixin(serializers.Serializer):
    version = serializers.IntegerField(help_text="The version you edited (from the last read).")


class AliasSerializer(serializers.Serializer):
    given = serializers.CharField(max_length=100)
    family = serializers.CharField(max_length=100)


class NominalSerializer(serializers.Serializer):
    given_name = serializers.CharField(max_length=100)
    family_name = serializers.CharField(max_length=100)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    aliases = AliasSerializer(many=True, required=False)
    ethnicity = serializers.CharField(max_length=80, required=False, allow_blank=True)
    address = serializers.CharField(max_length=500, required=False, allow_blank=True, allow_null=True)
    pnc_id = serializers.CharField(max_length=20, required=False, allow_blank=True, allow_null=True)
    visor_ref = serializers.CharField(max_length=40, required=False, allow_blank=True, allow_null=True)
    ndelius_crn = serializers.CharField(max_length=20, required=False, allow_blank=True, allow_null=True)
    nhs_number = serializers.CharField(max_length=20, required=False, allow_blank=True, allow_null=True)


class NominalUpdateSerializer(NominalSerializer, VersionMixin):
    pass


class ReferralSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=20000)
    lawful_basis = serializers.CharField(max_length=200)
    index_offence = serializers.CharField(max_length=200)
    received_on = serializers.DateField()
    urgency = serializers.ChoiceField(choices=c.Urgency.choices, default=c.Urgency.ROUTINE)
    first_incident_on = serializers.DateField(required=False, allow_null=True)
    last_incident_on = serializers.DateField(required=False, allow_null=True)


class CaseCreateSerializer(serializers.Serializer):
    nominal = NominalSerializer()
    referral = ReferralSerializer()
    forum = serializers.ChoiceField(choices=c.Forum.choices)
    mappa_category = serializers.IntegerField(required=False, allow_null=True)
    mappa_level = serializers.IntegerField(required=False, allow_null=True)
    next_review_on = serializers.DateField(required=False, allow_null=True)
    link_nominal = serializers.UUIDField(
        required=False, allow_null=True, help_text="Link to this existing nominal (from a duplicate check)."
    )
    confirm_new_nominal = serializers.BooleanField(
        default=False, help_text="Create a new nominal although the duplicate check found a match."
    )


class CaseUpdateSerializer(VersionMixin):
    forum = serializers.ChoiceField(choices=c.Forum.choices, required=False)
    mappa_category = serializers.IntegerField(required=False, allow_null=True)
    mappa_level = serializers.IntegerField(required=False, allow_null=True)
    next_review_on = serializers.DateField(required=False, allow_null=True)
    retention_review_on = serializers.DateField(required=False, allow_null=True)
    owner = serializers.IntegerField(required=False, help_text="User id of the new case owner.")


class StatusSerializer(VersionMixin):
    status = serializers.CharField(max_length=12)
    closure_reason = serializers.CharField(max_length=20, required=False, allow_blank=True)
    closure_note = serializers.CharField(max_length=5000, required=False, allow_blank=True, allow_null=True)


class VictimSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=500)
    relationship = serializers.CharField(max_length=20)
    contact = serializers.CharField(max_length=2000, required=False, allow_blank=True, allow_null=True)
    address = serializers.CharField(max_length=2000, required=False, allow_blank=True, allow_null=True)
    area = serializers.CharField(max_length=500, required=False, allow_blank=True, allow_null=True)
    routines = serializers.CharField(max_length=5000, required=False, allow_blank=True, allow_null=True)
    workplace = serializers.CharField(max_length=2000, required=False, allow_blank=True, allow_null=True)
    vulnerabilities = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, allow_null=True
    )
    consent = serializers.CharField(max_length=12, required=False)
    advocate = serializers.IntegerField(required=False, allow_null=True)


class VictimUpdateSerializer(VersionMixin):
    name = serializers.CharField(max_length=500, required=False)
    relationship = serializers.CharField(max_length=20, required=False)
    contact = serializers.CharField(max_length=2000, required=False, allow_blank=True, allow_null=True)
    address = serializers.CharField(max_length=2000, required=False, allow_blank=True, allow_null=True)
    area = serializers.CharField(max_length=500, required=False, allow_blank=True, allow_null=True)
    routines = serializers.CharField(max_length=5000, required=False, allow_blank=True, allow_null=True)
    workplace = serializers.CharField(max_length=2000, required=False, allow_blank=True, allow_null=True)
    vulnerabilities = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, allow_null=True
    )
    consent = serializers.CharField(max_length=12, required=False)


class ScreeningSerializer(VersionMixin):
    outcome = serializers.CharField(max_length=20)
    advice_given = serializers.CharField(max_length=20000, required=False, allow_blank=True, allow_null=True)


class AssessmentSerializer(serializers.Serializer):
    tool = serializers.CharField(max_length=10)
    level = serializers.CharField(max_length=12, required=False, allow_blank=True)
    answers = serializers.DictField(required=False)
    srp_type = serializers.CharField(max_length=20, required=False, allow_blank=True)
    srp_domains = serializers.DictField(child=serializers.CharField(), required=False)
    formulation = serializers.CharField(max_length=20000, required=False, allow_blank=True, allow_null=True)
    assessed_on = serializers.DateField(required=False, allow_null=True)
    basis = serializers.ChoiceField(choices=c.Basis.choices, default=c.Basis.OPINION)


class OrderSerializer(serializers.Serializer):
    order_type = serializers.CharField(max_length=15)
    legal_basis = serializers.CharField(max_length=200)
    court = serializers.CharField(max_length=200, required=False, allow_blank=True)
    status = serializers.CharField(max_length=12, required=False)
    applied_on = serializers.DateField(required=False, allow_null=True)
    made_on = serializers.DateField(required=False, allow_null=True)
    served_on = serializers.DateField(required=False, allow_null=True)
    starts_on = serializers.DateField(required=False, allow_null=True)
    ends_on = serializers.DateField(required=False, allow_null=True)
    until_further_order = serializers.BooleanField(required=False)
    notification_met_on = serializers.DateField(required=False, allow_null=True)


class OrderUpdateSerializer(VersionMixin):
    order_type = serializers.CharField(max_length=15, required=False)
    legal_basis = serializers.CharField(max_length=200, required=False)
    court = serializers.CharField(max_length=200, required=False, allow_blank=True)
    status = serializers.CharField(max_length=12, required=False)
    applied_on = serializers.DateField(required=False, allow_null=True)
    made_on = serializers.DateField(required=False, allow_null=True)
    served_on = serializers.DateField(required=False, allow_null=True)
    starts_on = serializers.DateField(required=False, allow_null=True)
    ends_on = serializers.DateField(required=False, allow_null=True)
    until_further_order = serializers.BooleanField(required=False)
    notification_met_on = serializers.DateField(required=False, allow_null=True)


class ConditionSerializer(serializers.Serializer):
    kind = serializers.CharField(max_length=12)
    text = serializers.CharField(max_length=5000)
    protected_persons = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, allow_null=True
    )
    exclusion_zone = serializers.JSONField(required=False, allow_null=True)
    electronic_monitoring = serializers.BooleanField(default=False)


class BreachSerializer(serializers.Serializer):
    occurred_on = serializers.DateField()
    reported_by = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=20000)
    action_taken = serializers.CharField(max_length=20000, required=False, allow_blank=True, allow_null=True)
    outcome = serializers.CharField(max_length=200, required=False, allow_blank=True)


class OrderEventSerializer(serializers.Serializer):
    kind = serializers.CharField(max_length=10)
    occurred_on = serializers.DateField()
    details = serializers.CharField(max_length=20000, required=False, allow_blank=True, allow_null=True)
    new_ends_on = serializers.DateField(required=False, allow_null=True)


class PlanItemSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=2000)
    agency = serializers.CharField(max_length=200, required=False, allow_blank=True)


class PlanSerializer(serializers.Serializer):
    base_number = serializers.IntegerField(help_text="The plan version you edited (0 if there was none).")
    items = serializers.DictField(child=PlanItemSerializer(many=True))
    contingency = serializers.CharField(max_length=20000, required=False, allow_blank=True, allow_null=True)
    change_summary = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ActionSerializer(serializers.Serializer):
    pillar = serializers.CharField(max_length=15)
    text = serializers.CharField(max_length=2000)
    owner = serializers.IntegerField(help_text="User id of the person who owns the action.")
    agency = serializers.IntegerField(help_text="Agency id the action is assigned to.")
    due_on = serializers.DateField()


class ActionChangeSerializer(VersionMixin):
    status = serializers.CharField(max_length=12, required=False)
    due_on = serializers.DateField(required=False)


class ActionReassignSerializer(VersionMixin):
    owner = serializers.IntegerField(help_text="User id of the new owner.")
    agency = serializers.IntegerField(help_text="Agency id the action is assigned to (working on the case).")


class ActionUpdateSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=5000)


class NoteSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=20000)
    category = serializers.ChoiceField(choices=Category.choices)
    basis = serializers.ChoiceField(choices=c.Basis.choices, default=c.Basis.FACT)
