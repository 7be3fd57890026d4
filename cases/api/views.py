"""The case API: thin views over cases.reading (reads) and cases.services (writes).

Access is decided by sharing.policy only: a case the user may not see is 404; one they see but
may not change is 403.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from agencies.models import Agency, User
from agencies.requests import member
from core.errors import DomainError
from core.pagination import KeysetPagination
from core.parsing import optional_int
from sharing import policy
from sharing.policy import Access

from .. import reading
from .. import services as s
from ..models import Action, Case, Order
from . import serializers as ser


def _valid(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _acting_agency(access: Access) -> Agency:
    return Agency.objects.get(pk=access.agency_id)


LIST_PARAMETERS = [
    OpenApiParameter("status", str, description="Case status"),
    OpenApiParameter("mappa_level", int, description="MAPPA level 1–3"),
    OpenApiParameter("review_due", OpenApiTypes.DATE, description="Next review on or before this date"),
    OpenApiParameter("agency", int, description="Lead agency id"),
    OpenApiParameter("forum", str, description="mappa or clinic"),
]


class CaseListPagination(KeysetPagination):
    """Newest first, in the order the policy's visible-cases query is indexed for."""

    ordering = policy.LIST_ORDER


class CaseViewSet(viewsets.GenericViewSet):
    """Cases the user may see; sub-resources for each part of the record."""

    lookup_value_regex = "[0-9a-f-]{36}"
    pagination_class = CaseListPagination
    serializer_class = ser.CaseCreateSerializer

    def get_queryset(self) -> QuerySet[Case]:
        return policy.cases_visible_to(self.request.user).select_related(*reading.prefetch_for_list())

    # --- access helpers ------------------------------------------------------------------------
    def _read(self) -> tuple[Case, Access]:
        return policy.access_case(self.request.user, self.kwargs["pk"])

    def _edit(self) -> tuple[Case, Access, Agency]:
        case, access = self._read()
        if not policy.can_edit_case(self.request.user, case):
            raise exceptions.PermissionDenied("Only the lead agency changes this case.")
        return case, access, case.lead_agency

    def _part(self, parts: list[str]) -> Response:
        case, access = self._read()
        return Response(reading.read_case(self.request.user, access, case, parts=parts))

    # --- cases ---------------------------------------------------------------------------------
    @extend_schema(operation_id="cases_list", parameters=LIST_PARAMETERS, responses=OpenApiTypes.OBJECT)
    def list(self, request: Request) -> Response:
        qs = self.get_queryset()
        params = request.query_params
        if params.get("status"):
            qs = qs.filter(status=params["status"])
        if params.get("forum"):
            qs = qs.filter(forum=params["forum"])
        for name, column in (("mappa_level", "mappa_level"), ("agency", "lead_agency_id")):
            number = optional_int(params, name)
            if number is not None:
                qs = qs.filter(**{column: number})
        if params.get("review_due"):
            try:
                qs = qs.filter(next_review_on__lte=date.fromisoformat(params["review_due"]))
            except ValueError as exc:
                raise serializers.ValidationError({"review_due": ["Give a date as YYYY-MM-DD."]}) from exc
        page = self.paginate_queryset(qs)
        assert page is not None
        return self.get_paginated_response(reading.read_case_list(member(request), list(page)))

    @extend_schema(
        parameters=[
            OpenApiParameter("fields", str, description="Comma-separated top-level fields to return")
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        case, access = self._read()
        fields = [f for f in request.query_params.get("fields", "").split(",") if f]
        parts = [p for p in reading.PARTS if not fields or p in fields]
        data = reading.read_case(member(request), access, case, parts=parts)
        if fields:
            keep = set(fields) | {"id", "version", "withheld"}
            data = {k: v for k, v in data.items() if k in keep}
        return Response(data)

    @extend_schema(
        request=ser.CaseCreateSerializer, responses={201: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT}
    )
    def create(self, request: Request) -> Response:
        membership = policy.case_opening_membership(member(request))
        if membership is None:
            raise exceptions.PermissionDenied("Only practitioners and chairs open cases.")
        data = _valid(ser.CaseCreateSerializer, request)
        nominal = dict(data["nominal"])
        aliases = tuple((a["given"], a["family"]) for a in nominal.pop("aliases", []) or [])
        try:
            case = s.do_open_case(
                nominal_data=s.NominalInput(aliases=aliases, **nominal),
                referral=s.ReferralInput(**data["referral"]),
                forum=data["forum"],
                lead_agency=membership.agency,
                acting_user=member(request),
                link_nominal_id=data.get("link_nominal"),
                confirm_new_nominal=data["confirm_new_nominal"],
                mappa_category=data.get("mappa_category"),
                mappa_level=data.get("mappa_level"),
                next_review_on=data.get("next_review_on"),
            )
        except s.DuplicateNominal as dup:
            return Response(duplicate_payload(member(request), dup), status=status.HTTP_409_CONFLICT)
        access = policy.case_access(member(request), case)
        assert access is not None
        return Response(reading.read_case(member(request), access, case), status=status.HTTP_201_CREATED)

    @extend_schema(request=ser.CaseUpdateSerializer, responses=OpenApiTypes.OBJECT)
    def partial_update(self, request: Request, pk: str) -> Response:
        case, access, agency = self._edit()
        data = _valid(ser.CaseUpdateSerializer, request)
        version = data.pop("version")
        if "owner" in data:
            data["owner"] = get_object_or_404(User, pk=data["owner"])
        s.do_update_case(case=case, version=version, agency=agency, acting_user=member(request), changes=data)
        return Response(reading.read_case(member(request), access, case, parts=()))

    @extend_schema(request=ser.StatusSerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"])
    def status(self, request: Request, pk: str) -> Response:
        case, access, agency = self._edit()
        data = _valid(ser.StatusSerializer, request)
        s.do_change_case_status(
            case=case,
            to=data["status"],
            version=data["version"],
            agency=agency,
            acting_user=member(request),
            closure_reason=data.get("closure_reason", ""),
            closure_note=data.get("closure_note"),
        )
        return Response(reading.read_case(member(request), access, case, parts=()))

    # --- nominal and referral --------------------------------------------------------------------
    @extend_schema(methods=["GET"], responses=OpenApiTypes.OBJECT)
    @extend_schema(methods=["PATCH"], request=ser.NominalUpdateSerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get", "patch"])
    def nominal(self, request: Request, pk: str) -> Response:
        if request.method == "GET":
            return self._part(["nominal"])
        case, access, agency = self._edit()
        if not policy.can_edit_nominal(member(request), case.nominal, case):
            raise exceptions.PermissionDenied(
                "This perpetrator record is kept by the lead agency of the original case that uses it."
            )
        data = _valid(ser.NominalUpdateSerializer, request)
        version = data.pop("version")
        aliases = tuple((a["given"], a["family"]) for a in data.pop("aliases", []) or [])
        s.do_update_nominal(
            nominal=case.nominal,
            case=case,
            version=version,
            agency=agency,
            acting_user=member(request),
            data=s.NominalInput(aliases=aliases, **data),
        )
        return self._part(["nominal"])

    @extend_schema(methods=["GET"], responses=OpenApiTypes.OBJECT)
    @extend_schema(methods=["POST"], request=ser.ScreeningSerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get", "post"])
    def referral(self, request: Request, pk: str) -> Response:
        if request.method == "GET":
            return self._part(["referral"])
        case, access, agency = self._edit()
        data = _valid(ser.ScreeningSerializer, request)
        s.do_record_screening(
            referral=case.referral,
            version=data["version"],
            agency=agency,
            acting_user=member(request),
            outcome=data["outcome"],
            advice_given=data.get("advice_given"),
        )
        return self._part(["referral"])

    # --- victims -------------------------------------------------------------------------------
    @extend_schema(methods=["GET"], responses=OpenApiTypes.OBJECT)
    @extend_schema(methods=["POST"], request=ser.VictimSerializer, responses={201: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get", "post"])
    def victims(self, request: Request, pk: str) -> Response:
        if request.method == "GET":
            return self._part(["victims"])
        case, access, agency = self._edit()
        data = _valid(ser.VictimSerializer, request)
        if data.get("advocate"):
            data["advocate"] = get_object_or_404(User, pk=data["advocate"])
        victim = s.do_add_victim(case=case, agency=agency, acting_user=member(request), **data)
        return Response({"id": str(victim.pk), "version": victim.version}, status=status.HTTP_201_CREATED)

    @extend_schema(request=ser.VictimUpdateSerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["patch"], url_path=r"victims/(?P<victim_id>[0-9a-f-]{36})")
    def victim(self, request: Request, pk: str, victim_id: str) -> Response:
        case, access, agency = self._edit()
        victim = get_object_or_404(case.victims, pk=victim_id)
        data = _valid(ser.VictimUpdateSerializer, request)
        version = data.pop("version")
        s.do_update_victim(
            victim=victim, version=version, agency=agency, acting_user=member(request), changes=data
        )
        return Response({"id": str(victim.pk), "version": victim.version})

    # --- assessments ---------------------------------------------------------------------------
    @extend_schema(methods=["GET"], responses=OpenApiTypes.OBJECT)
    @extend_schema(methods=["POST"], request=ser.AssessmentSerializer, responses={201: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get", "post"])
    def assessments(self, request: Request, pk: str) -> Response:
        if request.method == "GET":
            return self._part(["assessments"])
        case, access, agency = self._edit()
        data = _valid(ser.AssessmentSerializer, request)
        assessment = s.do_record_assessment(
            case=case, agency=agency, acting_user=member(request), data=s.AssessmentInput(**data)
        )
        return Response(
            {
                "id": str(assessment.pk),
                "yes_count": assessment.yes_count,
                "risk_level": assessment.risk_level,
            },
            status=status.HTTP_201_CREATED,
        )

    # --- orders --------------------------------------------------------------------------------
    @extend_schema(methods=["GET"], responses=OpenApiTypes.OBJECT)
    @extend_schema(methods=["POST"], request=ser.OrderSerializer, responses={201: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get", "post"])
    def orders(self, request: Request, pk: str) -> Response:
        if request.method == "GET":
            return self._part(["orders"])
        case, access, agency = self._edit()
        order = s.do_add_order(
            case=case, agency=agency, acting_user=member(request), values=_valid(ser.OrderSerializer, request)
        )
        return Response(
            {"id": str(order.pk), "version": order.version, "notification_due_on": order.notification_due_on},
            status=status.HTTP_201_CREATED,
        )

    def _order(self) -> tuple[Order, Agency]:
        case, access, agency = self._edit()
        return get_object_or_404(case.orders, pk=self.kwargs["order_id"]), agency

    @extend_schema(request=ser.OrderUpdateSerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["patch"], url_path=r"orders/(?P<order_id>[0-9a-f-]{36})")
    def order(self, request: Request, pk: str, order_id: str) -> Response:
        order, agency = self._order()
        data = _valid(ser.OrderUpdateSerializer, request)
        version = data.pop("version")
        s.do_update_order(
            order=order, version=version, agency=agency, acting_user=member(request), changes=data
        )
        return Response({"id": str(order.pk), "version": order.version})

    @extend_schema(request=ser.ConditionSerializer, responses={201: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], url_path=r"orders/(?P<order_id>[0-9a-f-]{36})/conditions")
    def conditions(self, request: Request, pk: str, order_id: str) -> Response:
        order, agency = self._order()
        data = _valid(ser.ConditionSerializer, request)
        condition = s.do_add_condition(order=order, agency=agency, acting_user=member(request), **data)
        return Response({"id": str(condition.pk)}, status=status.HTTP_201_CREATED)

    @extend_schema(request=ser.BreachSerializer, responses={201: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], url_path=r"orders/(?P<order_id>[0-9a-f-]{36})/breaches")
    def breaches(self, request: Request, pk: str, order_id: str) -> Response:
        order, agency = self._order()
        data = _valid(ser.BreachSerializer, request)
        breach = s.do_record_breach(order=order, agency=agency, acting_user=member(request), **data)
        return Response({"id": str(breach.pk)}, status=status.HTTP_201_CREATED)

    @extend_schema(request=ser.OrderEventSerializer, responses={201: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], url_path=r"orders/(?P<order_id>[0-9a-f-]{36})/events")
    def order_events(self, request: Request, pk: str, order_id: str) -> Response:
        order, agency = self._order()
        data = _valid(ser.OrderEventSerializer, request)
        event = s.do_add_order_event(order=order, agency=agency, acting_user=member(request), **data)
        return Response({"id": str(event.pk)}, status=status.HTTP_201_CREATED)

    # --- plan ----------------------------------------------------------------------------------
    @extend_schema(methods=["GET"], responses=OpenApiTypes.OBJECT)
    @extend_schema(
        methods=["POST"],
        request=ser.PlanSerializer,
        responses={201: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get", "post"])
    def plan(self, request: Request, pk: str) -> Response:
        if request.method == "GET":
            return self._part(["plan"])
        case, access, agency = self._edit()
        data = _valid(ser.PlanSerializer, request)
        plan = s.do_save_plan(case=case, agency=agency, acting_user=member(request), **data)
        return Response({"id": str(plan.pk), "number": plan.number}, status=status.HTTP_201_CREATED)

    # --- actions -------------------------------------------------------------------------------
    @extend_schema(methods=["GET"], responses=OpenApiTypes.OBJECT)
    @extend_schema(methods=["POST"], request=ser.ActionSerializer, responses={201: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get", "post"])
    def actions(self, request: Request, pk: str) -> Response:
        if request.method == "GET":
            return self._part(["actions"])
        case, access, agency = self._edit()
        data = _valid(ser.ActionSerializer, request)
        owner = get_object_or_404(User, pk=data["owner"])
        action_agency = get_object_or_404(Agency, pk=data["agency"])
        if not policy.can_own_action(owner, action_agency.pk, case):
            raise DomainError("Choose someone in an agency working on this case.", field="owner")
        item = s.do_add_action(
            case=case,
            agency=agency,
            acting_user=member(request),
            pillar=data["pillar"],
            text=data["text"],
            owner=owner,
            action_agency=action_agency,
            due_on=data["due_on"],
        )
        return Response({"id": str(item.pk), "version": item.version}, status=status.HTTP_201_CREATED)

    def _action_obj(self) -> tuple[Action, Agency]:
        case, access, agency = self._edit()
        return get_object_or_404(case.actions, pk=self.kwargs["action_id"]), agency

    @extend_schema(request=ser.ActionChangeSerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["patch"], url_path=r"actions/(?P<action_id>[0-9a-f-]{36})")
    def action_change(self, request: Request, pk: str, action_id: str) -> Response:
        item, agency = self._action_obj()
        data = _valid(ser.ActionChangeSerializer, request)
        s.do_update_action(
            action=item,
            version=data["version"],
            agency=agency,
            acting_user=member(request),
            status=data.get("status"),
            due_on=data.get("due_on"),
        )
        return Response({"id": str(item.pk), "version": item.version, "status": item.status})

    @extend_schema(request=ser.ActionUpdateSerializer, responses={201: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], url_path=r"actions/(?P<action_id>[0-9a-f-]{36})/updates")
    def action_updates(self, request: Request, pk: str, action_id: str) -> Response:
        item, agency = self._action_obj()
        data = _valid(ser.ActionUpdateSerializer, request)
        update = s.do_add_action_update(
            action=item, agency=agency, acting_user=member(request), text=data["text"]
        )
        return Response({"id": str(update.pk)}, status=status.HTTP_201_CREATED)

    # --- notes (partners too, in their own agency's name) ----------------------------------------
    @extend_schema(methods=["GET"], responses=OpenApiTypes.OBJECT)
    @extend_schema(methods=["POST"], request=ser.NoteSerializer, responses={201: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get", "post"])
    def notes(self, request: Request, pk: str) -> Response:
        if request.method == "GET":
            return self._part(["notes"])
        case, access = self._read()
        if not policy.can_add_note(member(request), case):
            raise exceptions.PermissionDenied("You cannot add notes to this case.")
        data = _valid(ser.NoteSerializer, request)
        note = s.do_add_note(case=case, agency=_acting_agency(access), acting_user=member(request), **data)
        return Response({"id": str(note.pk)}, status=status.HTTP_201_CREATED)


def duplicate_payload(user: Any, dup: s.DuplicateNominal) -> dict[str, Any]:
    """The duplicate-check answer: which nominal matched and on what, and the cases the user may see."""
    visible = policy.cases_visible_to(user)
    candidates = []
    for nominal, bases in dup.matches:
        refs = list(visible.filter(nominal=nominal).values_list("reference", flat=True))
        candidates.append({"nominal_id": str(nominal.pk), "matched_on": bases, "your_cases": refs})
    return {
        "detail": dup.message,
        "code": dup.code,
        "errors": {"nominal": [dup.message]},
        "candidates": candidates,
    }
