"""Auditor pages: thin views over audit.reading. Auditors only (policy.can_view_audit); anyone else
gets 404. No page shows case content: events in words, with the names of people, agencies, cases and
agreements within the auditor's scope, category names and justifications."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from agencies.requests import MemberRequest
from core.charts import bar_chart
from core.csvcells import csv_writer
from core.errors import DomainError
from sharing import policy

from . import reading
from .models import Op
from .services import PUBLIC_FIELDS, published_keys, record_event

CSV_COLUMNS = PUBLIC_FIELDS


def _auditor(request: MemberRequest) -> None:
    if not (policy.can_view_audit(request.user) or getattr(request.user, "is_superuser", False)):
        raise Http404("No such page.")


def _filtered(request: MemberRequest) -> tuple[reading.Filters, Any, DomainError | None]:
    filters = reading.Filters.from_query(request.GET)
    try:
        return filters, reading.filtered_events(request.user, filters), None
    except DomainError as exc:
        return filters, policy.audit_events_visible_to(request.user).none(), exc


@require_safe
def event_list(request: MemberRequest) -> HttpResponse:
    """Every visible event, newest first, filtered by person, agency, case, operation, agreement, dates."""
    _auditor(request)
    filters, qs, error = _filtered(request)
    events, next_before = reading.page(qs, request.GET.get("before"))
    context = {
        "filters": filters,
        "query": filters.as_query(),
        "error": error,
        "rows": reading.annotate(request.user, events),
        "next_before": next_before,
        "paged": bool(request.GET.get("before")),
        "ops": Op.choices,
        "people": reading.people_choices(request.user).only("pk", "first_name", "last_name", "username"),
        "agencies": reading.agency_choices(request.user).only("pk", "name"),
        "agreements": reading.agreement_choices(request.user).only("pk", "title", "reference"),
        "chain": reading.chain_summary(reading.chain_status()),
    }
    return render(request, "audit/event_list.html", context, status=400 if error else 200)


@require_safe
def case_trail(request: MemberRequest, case_id: uuid.UUID) -> HttpResponse:
    """Who has seen this case, when and why."""
    _auditor(request)
    events, next_before = reading.page(reading.case_trail(request.user, case_id), request.GET.get("before"))
    rows = reading.annotate(request.user, events)
    reference = reading.case_reference(request.user, case_id)
    context = {
        "rows": rows,
        "next_before": next_before,
        "paged": bool(request.GET.get("before")),
        "reference": reference,
        "case_id": case_id,
    }
    return render(request, "audit/case_trail.html", context)


@require_safe
def person_trail(request: MemberRequest, user_id: int) -> HttpResponse:
    """What this person has seen."""
    _auditor(request)
    events, next_before = reading.page(reading.person_trail(request.user, user_id), request.GET.get("before"))
    context = {
        "rows": reading.annotate(request.user, events),
        "next_before": next_before,
        "paged": bool(request.GET.get("before")),
        "person": reading.person_label(request.user, user_id, events),
    }
    return render(request, "audit/person_trail.html", context)


@require_safe
def activity(request: MemberRequest) -> HttpResponse:
    """Events per day over 30 days, as an accessible SVG bar chart with a data table."""
    _auditor(request)
    items = reading.activity(request.user)
    chart = bar_chart(
        title="Audited events per day, last 30 days",
        items=[(day[5:], count) for day, count in items],
        orientation="vertical",
        value_label="Events",
        category_label="Day",
        chart_id="audit-activity",
    )
    return render(request, "audit/activity.html", {"chart": chart, "total": sum(c for _, c in items)})


@require_safe
def flags(request: MemberRequest) -> HttpResponse:
    """Patterns worth a look: bursts of distinct cases, unreviewed break-glass, attempts after revocation."""
    _auditor(request)
    denied = list(reading.denied_after_revocation(request.user)[:100])
    bursts = reading.many_cases_flags(request.user)
    names = reading.people_in_scope(request.user, {f.actor_id for f in bursts})
    context = {
        "bursts": [{"flag": f, "person": names.get(f.actor_id, f.actor_username)} for f in bursts],
        "glass": list(reading.break_glass_awaiting_review(request.user)[:100]),
        "denied": reading.annotate(request.user, denied),
    }
    return render(request, "audit/flags.html", context)


@require_safe
def chain_status(request: MemberRequest) -> HttpResponse:
    _auditor(request)
    status = reading.chain_status()
    return render(request, "audit/status.html", {"status": status, "chain": reading.chain_summary(status)})


@require_safe
def export_csv(request: MemberRequest) -> HttpResponse:
    """The filtered events as CSV; the export is itself recorded (EXPORT, with the filter names used)."""
    _auditor(request)
    filters, qs, error = _filtered(request)
    if error is not None:
        return HttpResponse(f"{error.field}: {error.message}", status=400, content_type="text/plain")
    membership = policy.primary_membership(request.user)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit-events.csv"'
    writer = csv_writer(response)
    writer.writerow(CSV_COLUMNS)
    rows = 0
    with transaction.atomic():
        for values in qs.order_by("id").values_list(*CSV_COLUMNS).iterator(chunk_size=2000):
            writer.writerow(["" if v is None else v for v in values])
            rows += 1
        record_event(
            Op.EXPORT,
            actor=request.user,
            agency=membership.agency if membership else None,
            role=membership.role if membership else "",
            object_type="audit.AuditEvent",
            justification="auditor CSV export",
            detail={"what": "audit events CSV", "filters": sorted(filters.as_query()), "rows": rows},
        )
    return response


@require_safe
def signing_keys_document(request: HttpRequest) -> HttpResponse:
    """/.well-known/convene-audit-keys.json: every audit signing key's public half with its validity,
    for anyone checking checkpoints, exports or erasure certificates. Public by design."""
    response = JsonResponse(published_keys())
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response
