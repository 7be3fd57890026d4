"""Pages for agency admins and DPOs: the review queue, decisions, legal holds, certificates, SARs.

Thin views: parse, check access (lifecycle.dispatch → sharing.policy), call a service, respond.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from agencies.requests import MemberRequest
from core.errors import DomainError
from sharing import policy

from . import dispatch
from .certificates import signed_document
from .forms import EraseForm, HoldForm, LiftForm, RetainForm, RuleForm, SarForm
from .models import Decision, RecordType
from .retention import Rules, review_queue
from .sar import SubjectQuery, do_export_sar, do_open_sar
from .services import do_lift_legal_hold, do_set_legal_hold, do_set_retention_rule


def _form_error(form: Any, exc: DomainError, rename: dict[str, str] | None = None) -> None:
    field = (rename or {}).get(exc.field or "", exc.field)
    form.add_error(field if field in form.fields else None, exc.message)


def _nav(request: MemberRequest, agency: Any) -> dict[str, Any]:
    return {
        "agency": agency,
        "is_dpo": policy.can_handle_sar(request.user, agency),
        "agencies": policy.lifecycle_agency_ids(request.user),
    }


@require_safe
@login_required
def index(request: MemberRequest) -> HttpResponse:
    agency = dispatch.managed_agency(request.user, request.GET.get("agency"))
    items = review_queue(agency)
    holds = (
        policy.legal_holds_visible_to(request.user)
        .filter(lifted_at__isnull=True)
        .filter(case__lead_agency=agency)
        .select_related("case")
    )
    return render(
        request, "lifecycle/queue.html", {**_nav(request, agency), "items": items, "holds": list(holds)}
    )


@login_required
def review(request: MemberRequest, record_type: str, pk: str) -> HttpResponse:
    if record_type not in RecordType.values:
        return render(request, "404.html", status=404)
    case, obj, agency = dispatch.access_record(request.user, record_type, pk)
    retain_form, erase_form = RetainForm(), EraseForm()
    if request.method == "POST":
        decision = request.POST.get("decision")
        if decision == Decision.RETAIN:
            retain_form = RetainForm(request.POST)
            if retain_form.is_valid():
                try:
                    dispatch.decide(
                        request.user,
                        record_type=record_type,
                        object_id=pk,
                        decision=Decision.RETAIN,
                        reason=retain_form.cleaned_data["reason"],
                        next_review_on=retain_form.cleaned_data["next_review_on"],
                    )
                except DomainError as exc:
                    _form_error(retain_form, exc)
                else:
                    messages.success(
                        request, f"Retained. Next review {retain_form.cleaned_data['next_review_on']}."
                    )
                    return redirect(f"{reverse('lifecycle:queue')}?agency={agency.pk}")
        elif decision == Decision.ERASE:
            erase_form = EraseForm(request.POST)
            if erase_form.is_valid():
                try:
                    certificate = dispatch.decide(
                        request.user,
                        record_type=record_type,
                        object_id=pk,
                        decision=Decision.ERASE,
                        reason=erase_form.cleaned_data["erase_reason"],
                        next_review_on=None,
                    )
                except DomainError as exc:
                    _form_error(erase_form, exc, {"reason": "erase_reason"})
                else:
                    messages.success(request, "Erased. The erasure certificate is ready to download.")
                    return redirect("lifecycle:certificate", pk=certificate.pk)
    hold = case.legal_holds.active().first()
    return render(
        request,
        "lifecycle/review.html",
        {
            **_nav(request, agency),
            "case": case,
            "record_type": RecordType(record_type),
            "object_id": pk,
            "hold": hold,
            "retain_form": retain_form,
            "erase_form": erase_form,
            "review_on": case.retention_review_on if record_type == RecordType.CASE else None,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def holds(request: MemberRequest) -> HttpResponse:
    agency = dispatch.managed_agency(request.user, request.GET.get("agency") or request.POST.get("agency"))
    form = HoldForm()
    if request.method == "POST":
        form = HoldForm(request.POST)
        if form.is_valid():
            try:
                case = dispatch.access_case_for_hold(request.user, form.cleaned_data["case"])
                do_set_legal_hold(
                    case=case,
                    reason=form.cleaned_data["reason"],
                    acting_user=request.user,
                    agency=dispatch.hold_agency(request.user, case),
                )
            except DomainError as exc:
                _form_error(form, exc)
            else:
                messages.success(
                    request, f"Legal hold set on {case.reference}. It cannot be erased until lifted."
                )
                return redirect(f"{reverse('lifecycle:holds')}?agency={agency.pk}")
    rows = list(
        policy.legal_holds_visible_to(request.user)
        .filter(Q(case__lead_agency=agency) | Q(agency=agency))
        .select_related("case", "case__lead_agency", "agency", "set_by", "lifted_by")
        .order_by("-set_at")[:200]
    )
    liftable = {h.pk for h in rows if h.is_active and policy.can_lift_legal_hold(request.user, h)}
    return render(
        request,
        "lifecycle/holds.html",
        {
            **_nav(request, agency),
            "form": form,
            "holds": rows,
            "liftable": liftable,
            "lift_form": LiftForm(),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def lift_hold(request: MemberRequest, pk: str) -> HttpResponse:
    hold = dispatch.access_hold(request.user, pk)
    form = LiftForm(request.POST)
    form.is_valid()
    try:
        do_lift_legal_hold(
            hold=hold,
            reason=form.cleaned_data.get("lift_reason", ""),
            acting_user=request.user,
            agency=dispatch.lift_agency(request.user, hold),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Legal hold on {hold.case.reference} lifted.")
    return redirect("lifecycle:holds")


@require_safe
@login_required
def certificates(request: MemberRequest) -> HttpResponse:
    agency = dispatch.managed_agency(request.user, request.GET.get("agency"))
    rows = (
        policy.erasure_certificates_visible_to(request.user)
        .filter(agency=agency)
        .select_related("erased_by")
        .order_by("-erased_at")[:200]
    )
    return render(
        request, "lifecycle/certificates.html", {**_nav(request, agency), "certificates": list(rows)}
    )


@login_required
def certificate(request: MemberRequest, pk: str) -> HttpResponse:
    cert = dispatch.access_certificate(request.user, pk)
    document = signed_document(cert)
    return render(
        request,
        "lifecycle/certificate.html",
        {**_nav(request, cert.agency), "certificate": cert, "document": document},
    )


@login_required
def certificate_download(request: MemberRequest, pk: str) -> HttpResponse:
    cert = dispatch.access_certificate(request.user, pk)
    body = json.dumps(signed_document(cert), indent=2, sort_keys=True, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="erasure-certificate-{cert.pk}.json"'
    return response


@login_required
def sars(request: MemberRequest) -> HttpResponse:
    agency = dispatch.managed_agency(
        request.user, request.GET.get("agency") or request.POST.get("agency"), sar=True
    )
    form = SarForm()
    if request.method == "POST":
        form = SarForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            reference = data.pop("reference")
            kind = data.pop("subject_kind")
            try:
                sar = do_open_sar(
                    agency=agency,
                    handled_by=request.user,
                    query=SubjectQuery(kind, **{k: v for k, v in data.items() if v is not None}),
                    reference=reference,
                )
            except DomainError as exc:
                _form_error(form, exc)
            else:
                return redirect("lifecycle:sar", pk=sar.pk)
    rows = (
        policy.subject_access_requests_visible_to(request.user)
        .filter(agency=agency)
        .order_by("-requested_at")[:200]
    )
    return render(
        request,
        "lifecycle/sars.html",
        {**_nav(request, agency), "form": form, "sars": list(rows)},
        status=400 if form.errors else 200,
    )


@login_required
def sar(request: MemberRequest, pk: str) -> HttpResponse:
    sar = dispatch.access_sar(request.user, pk)
    if request.method != "POST":
        return render(
            request, "lifecycle/sar.html", {**_nav(request, sar.agency), "sar": sar, "export": None}
        )
    export = do_export_sar(sar=sar, acting_user=request.user).as_dict()
    return render(request, "lifecycle/sar.html", {**_nav(request, sar.agency), "sar": sar, "export": export})


@login_required
def sar_json(request: MemberRequest, pk: str) -> HttpResponse:
    sar = dispatch.access_sar(request.user, pk)
    export = do_export_sar(sar=sar, acting_user=request.user).as_dict()
    response = HttpResponse(
        json.dumps(export, indent=2, ensure_ascii=False), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="sar-{sar.reference}.json"'
    return response


@login_required
def rules(request: MemberRequest) -> HttpResponse:
    agency = dispatch.managed_agency(request.user, request.GET.get("agency") or request.POST.get("agency"))
    form = RuleForm()
    if request.method == "POST":
        form = RuleForm(request.POST)
        if form.is_valid():
            try:
                do_set_retention_rule(agency=agency, acting_user=request.user, **form.cleaned_data)
            except DomainError as exc:
                _form_error(form, exc)
            else:
                messages.success(
                    request, "Retention rule saved. Run the retention sweep to apply it to cases."
                )
                return redirect(f"{reverse('lifecycle:rules')}?agency={agency.pk}")
    table = Rules([agency])
    rows = [
        {
            "record_type": RecordType(t).label,
            "months": table.months(agency.pk, t),
            "configured": table.rule(agency.pk, t) is not None,
            "description": table.describe(agency.pk, t),
        }
        for t in RecordType.values
    ]
    return render(
        request,
        "lifecycle/rules.html",
        {**_nav(request, agency), "form": form, "rules": rows},
        status=400 if form.errors else 200,
    )
