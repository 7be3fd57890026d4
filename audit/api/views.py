"""Audit REST API for auditors: events (filtered, keyset-paged), chain status and flagged patterns.
Anyone but an auditor gets 404; no endpoint returns case content."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sharing import policy

from .. import reading
from ..models import AuditEvent
from ..services import PUBLIC_FIELDS


class EventPagination(CursorPagination):
    ordering = ("-id",)
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class EventSerializer(serializers.ModelSerializer[AuditEvent]):
    class Meta:
        model = AuditEvent
        fields = PUBLIC_FIELDS


def _auditor(request: Request) -> None:
    if not (policy.can_view_audit(request.user) or getattr(request.user, "is_superuser", False)):
        raise Http404("No such resource.")


class EventList(APIView):
    """Audit events you may read. Filters: person, agency, case (reference), op, agreement, since, until."""

    @extend_schema(
        operation_id="audit_events_list",
        parameters=[
            OpenApiParameter(name, str, required=False)
            for name in (
                "person",
                "agency",
                "case",
                "op",
                "agreement",
                "since",
                "until",
                "cursor",
                "page_size",
            )
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request) -> Response:
        _auditor(request)
        qs = reading.filtered_events(request.user, reading.Filters.from_query(request.query_params))
        paginator = EventPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(EventSerializer(page, many=True).data)


class ChainStatus(APIView):
    @extend_schema(operation_id="audit_chain_status", responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        _auditor(request)
        status = reading.chain_status()
        verification, checkpoint = status.last_verification, status.last_checkpoint
        body: dict[str, Any] = {
            "last_verification": None
            if verification is None
            else {
                "ran_at": verification.ran_at,
                "ok": verification.ok,
                "verified_from_seq": verification.verified_from_seq,
                "verified_through_seq": verification.verified_through_seq,
                "message": verification.message,
            },
            "last_checkpoint": None
            if checkpoint is None
            else {
                "created_at": checkpoint.created_at,
                "tree_size": checkpoint.tree_size,
                "key_id": checkpoint.key_id,
            },
            "pending": status.pending,
        }
        return Response(body)


class Flags(APIView):
    @extend_schema(operation_id="audit_flags", responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        _auditor(request)
        bursts = reading.many_cases_flags(request.user)
        glass = reading.break_glass_awaiting_review(request.user)[:100]
        denied = reading.denied_after_revocation(request.user)[:100]
        return Response(
            {
                "many_distinct_cases": [
                    {
                        "actor_id": f.actor_id,
                        "actor_username": f.actor_username,
                        "started_at": f.started_at,
                        "distinct_cases": f.distinct_cases,
                    }
                    for f in bursts
                ],
                "break_glass_awaiting_review": [
                    {
                        "id": g.pk,
                        "case_id": g.case_id,
                        "user_id": g.user_id,
                        "agency_id": g.agency_id,
                        "opened_at": g.opened_at,
                        "expires_at": g.expires_at,
                    }
                    for g in glass
                ],
                "denied_after_revocation": EventSerializer(denied, many=True).data,
            }
        )
