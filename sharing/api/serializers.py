"""Serializers for the sharing API. Input shapes only parse; the services validate and decide."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.categories import ALL_CATEGORIES

from ..models import AgreementParty, BreakGlass, CaseShare, Disclosure, MatchNotice, SharingAgreement

CATEGORY_CHOICES = list(ALL_CATEGORIES)


class PartySerializer(serializers.ModelSerializer):
    agency_name = serializers.CharField(source="agency.name", read_only=True)
    signed_by = serializers.IntegerField(source="signed_by_id", read_only=True)

    class Meta:
        model = AgreementParty
        fields = [
            "agency",
            "agency_name",
            "legal_gateway",
            "categories",
            "signatory_name",
            "signatory_role",
            "signed_on",
            "signed_by",
        ]


class AgreementSerializer(serializers.ModelSerializer):
    parties = PartySerializer(many=True, read_only=True)
    drafted_by_agency_name = serializers.CharField(source="drafted_by_agency.name", read_only=True)

    class Meta:
        model = SharingAgreement
        fields = [
            "id",
            "reference",
            "title",
            "purpose",
            "dpia_reference",
            "retention_rule",
            "retention_years",
            "security_terms",
            "status",
            "starts_on",
            "review_on",
            "ends_on",
            "drafted_by_agency",
            "drafted_by_agency_name",
            "status_changed_at",
            "status_reason",
            "version",
            "created_at",
            "parties",
        ]


class PartyInputSerializer(serializers.Serializer):
    agency = serializers.IntegerField()
    legal_gateway = serializers.CharField(max_length=2000)
    categories = serializers.DictField(child=serializers.IntegerField(min_value=0, max_value=2))

    def validate_categories(self, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(ALL_CATEGORIES))
        if unknown:
            raise serializers.ValidationError(f"Unknown data categories: {', '.join(unknown)}.")
        return value


class AgreementCreateSerializer(serializers.Serializer):
    reference = serializers.CharField(max_length=40)
    title = serializers.CharField(max_length=200)
    purpose = serializers.CharField()
    dpia_reference = serializers.CharField(max_length=80)
    retention_rule = serializers.CharField()
    retention_years = serializers.IntegerField(min_value=1, max_value=100, default=6)
    security_terms = serializers.CharField()
    starts_on = serializers.DateField()
    review_on = serializers.DateField()
    ends_on = serializers.DateField(required=False, allow_null=True, default=None)
    drafted_by_agency = serializers.IntegerField(required=False)
    parties = PartyInputSerializer(many=True)


class SignSerializer(serializers.Serializer):
    agency = serializers.IntegerField(required=False, help_text="The party agency you sign for.")
    signatory_name = serializers.CharField(max_length=200)
    signatory_role = serializers.CharField(max_length=200)


class StatusChangeSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    version = serializers.IntegerField(required=False, allow_null=True, default=None)


class ShareSerializer(serializers.ModelSerializer):
    agency_name = serializers.CharField(source="agency.name", read_only=True)
    agreement_reference = serializers.CharField(source="agreement.reference", read_only=True)
    is_live = serializers.SerializerMethodField()

    class Meta:
        model = CaseShare
        fields = [
            "id",
            "case",
            "agency",
            "agency_name",
            "agreement",
            "agreement_reference",
            "purpose",
            "categories",
            "valid_from",
            "valid_to",
            "shared_by",
            "created_at",
            "revoked_at",
            "revoked_by",
            "revoke_reason",
            "is_live",
        ]

    def get_is_live(self, share: CaseShare) -> bool:
        live: set[Any] = self.context.get("live_ids", set())
        return share.pk in live


class ShareCreateSerializer(serializers.Serializer):
    agency = serializers.IntegerField()
    agreement = serializers.UUIDField()
    categories = serializers.ListField(
        child=serializers.ChoiceField(choices=CATEGORY_CHOICES), allow_empty=True
    )
    purpose = serializers.CharField(max_length=300, allow_blank=True)
    valid_to = serializers.DateTimeField(required=False, allow_null=True, default=None)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, allow_blank=True)


class BreakGlassSerializer(serializers.ModelSerializer):
    case_reference = serializers.CharField(source="case.reference", read_only=True, default="")
    user_name = serializers.CharField(source="user.username", read_only=True)
    agency_name = serializers.CharField(source="agency.name", read_only=True)
    agreement_reference = serializers.CharField(source="agreement.reference", read_only=True)

    class Meta:
        model = BreakGlass
        fields = [
            "id",
            "case",
            "case_reference",
            "user",
            "user_name",
            "agency",
            "agency_name",
            "agreement",
            "agreement_reference",
            "reason",
            "opened_at",
            "expires_at",
            "reviewed_at",
            "reviewed_by",
            "review_outcome",
            "review_note",
        ]


class BreakGlassOpenSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True)
    agreement = serializers.UUIDField(required=False)


class BreakGlassReviewSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=["justified", "unjustified"])
    note = serializers.CharField(allow_blank=True, required=False, default="")


class DisclosureSerializer(serializers.ModelSerializer):
    recipient = serializers.CharField()
    summary = serializers.CharField()
    justification = serializers.CharField()

    class Meta:
        model = Disclosure
        fields = [
            "id",
            "case",
            "agency",
            "recipient",
            "recipient_kind",
            "categories",
            "summary",
            "justification",
            "undertaking",
            "approved_by",
            "disclosed_on",
            "recorded_by",
            "created_at",
        ]


class DisclosureCreateSerializer(serializers.Serializer):
    recipient = serializers.CharField(max_length=300)
    recipient_kind = serializers.ChoiceField(choices=Disclosure.RECIPIENT_KINDS)
    categories = serializers.ListField(
        child=serializers.ChoiceField(choices=CATEGORY_CHOICES), allow_empty=False
    )
    summary = serializers.CharField()
    justification = serializers.CharField()
    undertaking = serializers.BooleanField(default=False)
    approved_by = serializers.IntegerField()
    disclosed_on = serializers.DateField()


class MatchNoticeSerializer(serializers.ModelSerializer):
    """A partner's referral matched one of our cases: the referring agency and our own case only."""

    case_reference = serializers.CharField(source="case.reference", read_only=True)
    referring_agency_name = serializers.CharField(source="referring_agency.name", read_only=True)

    class Meta:
        model = MatchNotice
        fields = [
            "id",
            "case",
            "case_reference",
            "referring_agency",
            "referring_agency_name",
            "matched_on",
            "created_at",
            "status",
            "decided_by",
            "decided_at",
            "share",
        ]
        read_only_fields = fields


class MatchNoticeShareSerializer(serializers.Serializer):
    agreement = serializers.UUIDField()
    categories = serializers.ListField(
        child=serializers.ChoiceField(choices=CATEGORY_CHOICES), allow_empty=True
    )
    purpose = serializers.CharField(max_length=300, allow_blank=True)
