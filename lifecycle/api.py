"""REST API for the information lifecycle: queue, decisions, legal holds, certificates, SARs, rules.

Thin: parse, check access (lifecycle.dispatch → sharing.policy), call a service, respond. Errors
come back in the project's shape (core.api): 400 naming the field, 404 for missing or forbidden.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from agencies.requests import member
from sharing import policy

from . import dispatch
from .certificates import signed_document
from .models import Decision, ErasureCertificate, LegalHold, RecordType, SubjectAccessRequest, SubjectKind
from .retention import Rules, review_queue
from .sar import SubjectQuery, do_export_sar, do_open_sar
from .services import do_lift_legal_hold, do_set_legal_hold, do_set_retention_rule


class DecisionIn(serializers.Serializer):
    record_type = serializers.ChoiceField(choices=RecordType.choices)
    object_id = serializers.UUIDField()
    decision = serializers.ChoiceField(choices=Decision.choices)
    reason = serializers.CharField(max_length=2000)
    next_review_on = serializers.DateField(required=False, allow_null=True)


class HoldIn(serializers.Serializer):
    case = serializers.CharField(max_length=40, help_text="Case id or reference.")
    reason = serializers.CharField(max_length=300)


class LiftIn(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class SarIn(serializers.Serializer):
    agency = serializers.IntegerField(required=False)
    reference = serializers.CharField(max_length=40, required=False, allow_blank=True)
    subject_kind = serializers.ChoiceField(choices=SubjectKind.choices)
    given_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    family_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    pnc_id = serializers.CharField(max_length=20, required=False, allow_blank=True)
    nhs_number = serializers.CharField(max_length=20, required=False, allow_blank=True)


class RuleIn(serializers.Serializer):
    agency = serializers.IntegerField(required=False)
    record_type = serializers.ChoiceField(choices=RecordType.choices)
    review_months = serializers.IntegerField(min_value=1, max_value=1200)
    basis = serializers.CharField(max_length=300)


def _valid(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def hold_dict(hold: LegalHold) -> dict[str, Any]:
    return {
        "id": str(hold.pk),
        "case_id": str(hold.case_id),
        "case_reference": hold.case.reference,
        "agency": str(hold.agency),
        "reason": hold.reason,
        "set_at": hold.set_at,
        "lifted_at": hold.lifted_at,
        "lift_reason": hold.lift_reason,
    }


def certificate_dict(certificate: ErasureCertificate) -> dict[str, Any]:
    return {
        "id": str(certificate.pk),
        "case_reference": certificate.case_reference,
        "scope": certificate.scope,
        "erased_at": certificate.erased_at,
        "audit_seq": certificate.audit_seq,
    }


def sar_dict(sar: SubjectAccessRequest) -> dict[str, Any]:
    return {
        "id": str(sar.pk),
        "reference": sar.reference,
        "subject_kind": sar.subject_kind,
        "status": sar.status,
        "requested_at": sar.requested_at,
        "exported_at": sar.exported_at,
    }


@extend_schema(operation_id="lifecycle_queue", responses=OpenApiTypes.OBJECT)
@api_view(["GET"])
def queue(request: Request) -> Response:
    agency = dispatch.managed_agency(member(request), request.query_params.get("agency"))
    items = review_queue(agency)
    return Response(
        {
            "agency": agency.pk,
            "results": [
                {
                    "record_type": i.record_type,
                    "object_id": str(i.object_id),
                    "case_id": str(i.case_id),
                    "case_reference": i.case_reference,
                    "review_on": i.review_on,
                    "review_months": i.months,
                    "legal_hold": i.on_legal_hold,
                    "case_closed": i.case_closed,
                }
                for i in items
            ],
        }
    )


@extend_schema(operation_id="lifecycle_decide", request=DecisionIn, responses={201: OpenApiTypes.OBJECT})
@api_view(["POST"])
def decisions(request: Request) -> Response:
    data = _valid(DecisionIn, request)
    result = dispatch.decide(member(request), **data)
    if isinstance(result, ErasureCertificate):
        return Response({"decision": "erase", "certificate": certificate_dict(result)}, status=201)
    return Response(
        {"decision": "retain", "id": str(result.pk), "next_review_on": result.next_review_on}, status=201
    )


@extend_schema(methods=["GET"], operation_id="lifecycle_holds_list", responses=OpenApiTypes.OBJECT)
@extend_schema(
    methods=["POST"],
    operation_id="lifecycle_holds_create",
    request=HoldIn,
    responses={201: OpenApiTypes.OBJECT},
)
@api_view(["GET", "POST"])
def holds(request: Request) -> Response:
    if request.method == "POST":
        data = _valid(HoldIn, request)
        case = dispatch.access_case_for_hold(member(request), data["case"])
        hold = do_set_legal_hold(
            case=case,
            reason=data["reason"],
            acting_user=member(request),
            agency=dispatch.hold_agency(member(request), case),
        )
        return Response(hold_dict(hold), status=201)
    agency = dispatch.managed_agency(member(request), request.query_params.get("agency"))
    rows = (
        policy.legal_holds_visible_to(member(request))
        .filter(lifted_at__isnull=True)
        .filter(Q(case__lead_agency=agency) | Q(agency=agency))
        .select_related("case", "case__lead_agency", "agency")
        .order_by("-set_at")
    )
    return Response(
        {
            "results": [
                {**hold_dict(h), "may_lift": policy.can_lift_legal_hold(member(request), h)} for h in rows
            ]
        }
    )


@extend_schema(operation_id="lifecycle_hold_lift", request=LiftIn, responses=OpenApiTypes.OBJECT)
@api_view(["POST"])
def lift_hold(request: Request, pk: str) -> Response:
    hold = dispatch.access_hold(member(request), pk)
    data = _valid(LiftIn, request)
    hold = do_lift_legal_hold(
        hold=hold,
        reason=data["reason"],
        acting_user=member(request),
        agency=dispatch.lift_agency(member(request), hold),
    )
    return Response(hold_dict(hold))


@extend_schema(operation_id="lifecycle_certificates_list", responses=OpenApiTypes.OBJECT)
@api_view(["GET"])
def certificates(request: Request) -> Response:
    agency = dispatch.managed_agency(member(request), request.query_params.get("agency"))
    rows = (
        policy.erasure_certificates_visible_to(member(request))
        .filter(agency=agency)
        .order_by("-erased_at")[:200]
    )
    return Response({"results": [certificate_dict(c) for c in rows]})


@extend_schema(operation_id="lifecycle_certificate_retrieve", responses=OpenApiTypes.OBJECT)
@api_view(["GET"])
def certificate(request: Request, pk: str) -> Response:
    document = signed_document(dispatch.access_certificate(member(request), pk))
    response = Response(document)
    response["Content-Disposition"] = f'attachment; filename="erasure-certificate-{pk}.json"'
    return response


@extend_schema(methods=["GET"], operation_id="lifecycle_sars_list", responses=OpenApiTypes.OBJECT)
@extend_schema(
    methods=["POST"],
    operation_id="lifecycle_sars_create",
    request=SarIn,
    responses={201: OpenApiTypes.OBJECT},
)
@api_view(["GET", "POST"])
def sars(request: Request) -> Response:
    if request.method == "POST":
        data = _valid(SarIn, request)
        agency = dispatch.managed_agency(member(request), data.pop("agency", None), sar=True)
        reference = data.pop("reference", "")
        kind = data.pop("subject_kind")
        query = SubjectQuery(kind, **{k: v for k, v in data.items() if v is not None})
        sar = do_open_sar(agency=agency, handled_by=member(request), query=query, reference=reference)
        return Response(sar_dict(sar), status=201)
    agency = dispatch.managed_agency(member(request), request.query_params.get("agency"), sar=True)
    rows = (
        policy.subject_access_requests_visible_to(member(request))
        .filter(agency=agency)
        .order_by("-requested_at")[:200]
    )
    return Response({"results": [sar_dict(s) for s in rows]})


@extend_schema(operation_id="lifecycle_sar_export", responses=OpenApiTypes.OBJECT)
@api_view(["GET"])
def sar_export(request: Request, pk: str) -> Response:
    sar = dispatch.access_sar(member(request), pk)
    return Response(do_export_sar(sar=sar, acting_user=member(request)).as_dict())


@extend_schema(methods=["GET"], operation_id="lifecycle_rules_list", responses=OpenApiTypes.OBJECT)
@extend_schema(
    methods=["PUT"], operation_id="lifecycle_rules_set", request=RuleIn, responses=OpenApiTypes.OBJECT
)
@api_view(["GET", "PUT"])
def rules(request: Request) -> Response:
    if request.method == "PUT":
        data = _valid(RuleIn, request)
        agency = dispatch.managed_agency(member(request), data.pop("agency", None))
        do_set_retention_rule(agency=agency, acting_user=member(request), **data)
    else:
        agency = dispatch.managed_agency(member(request), request.query_params.get("agency"))
    table = Rules([agency])
    return Response(
        {
            "agency": agency.pk,
            "results": [
                {
                    "record_type": record_type,
                    "review_months": table.months(agency.pk, record_type),
                    "configured": table.rule(agency.pk, record_type) is not None,
                    "description": table.describe(agency.pk, record_type),
                }
                for record_type in RecordType.values
            ],
        }
    )
