"""Pages for agreements, sharing a case, break-glass and disclosures. Thin: parse, ask the policy,
call a service, render. What the user may not see (or not act on) is a 404."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from agencies.models import Agency, Role
from agencies.requests import MemberRequest
from audit.services import consult
from cases.models import Case
from core.errors import DomainError
from core.parsing import posted

from . import forms, policy, services
from .models import (
    AgreementStatus,
    CaseShare,
    Disclosure,
    MatchNotice,
    SharingAgreement,
)


def case_url(case: Case) -> str:
    try:
        return reverse("cases:detail", args=[case.pk])
    except NoReverseMatch:
        return f"/cases/{case.pk}/"


def _form_error(form: Any, exc: DomainError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


def _visible_agreement(user: Any, pk: Any) -> SharingAgreement:
    agreement = policy.agreements_visible_to(user).filter(pk=pk).first()
    if agreement is None:
        raise Http404("No such agreement.")
    return agreement


# --- agreements -----------------------------------------------------------------------------
@require_safe
def agreement_list(request: MemberRequest) -> HttpResponse:
    agreements = policy.agreements_visible_to(request.user).select_related("drafted_by_agency")
    status = request.GET.get("status", "")
    if status in AgreementStatus.values:
        agreements = agreements.filter(status=status)
    return render(
        request,
        "sharing/agreement_list.html",
        {
            "agreements": agreements,
            "status": status,
            "statuses": AgreementStatus.choices,
            "can_draft": policy.can_draft_agreement(request.user),
        },
    )


def agreement_detail(request: MemberRequest, pk: Any) -> HttpResponse:
    agreement = _visible_agreement(request.user, pk)
    user = request.user
    signable = [p for p in policy.parties_user_may_sign(user, agreement) if not p.signed_on]
    context = {
        "agreement": agreement,
        "parties": agreement.parties.select_related("agency"),
        "sign_form": forms.SignForm(parties=signable) if signable else None,
        "status_form": forms.StatusForm(initial={"version": agreement.version}),
        "can_activate": policy.can_activate_agreement(user, agreement),
        "can_suspend": policy.can_suspend_agreement(user, agreement),
        "can_terminate": policy.can_terminate_agreement(user, agreement),
    }
    return render(request, "sharing/agreement_detail.html", context)


def agreement_draft(request: MemberRequest) -> HttpResponse:
    user = request.user
    if not policy.can_draft_agreement(user):
        raise Http404("Not found.")
    drafting_id = min(policy.administered_agency_ids(user))
    agencies = list(Agency.objects.filter(is_active=True).order_by("name"))
    form = forms.AgreementDraftForm(posted(request), agencies=agencies, drafting_agency_id=drafting_id)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            agreement = services.do_create_agreement(
                title=data["title"],
                reference=data["reference"],
                purpose=data["purpose"],
                dpia_reference=data["dpia_reference"],
                retention_rule=data["retention_rule"],
                retention_years=data["retention_years"],
                security_terms=data["security_terms"],
                starts_on=data["starts_on"],
                review_on=data["review_on"],
                ends_on=data["ends_on"],
                drafted_by=Agency.objects.get(pk=drafting_id),
                acting_user=user,
                parties=form.parties(),
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Agreement {agreement.reference} drafted. Each party now signs.")
            return redirect("sharing:agreement-detail", pk=agreement.pk)
    return render(request, "sharing/agreement_form.html", {"form": form, "rows": form.bound_party_rows()})


@require_POST
def agreement_sign(request: MemberRequest, pk: Any) -> HttpResponse:
    agreement = _visible_agreement(request.user, pk)
    signable = [p for p in policy.parties_user_may_sign(request.user, agreement) if not p.signed_on]
    if not signable:
        raise Http404("Not found.")
    form = forms.SignForm(request.POST, parties=signable)
    if form.is_valid():
        party = next(p for p in signable if p.pk == form.cleaned_data["party"])
        try:
            services.do_sign_agreement(
                party=party,
                signatory_name=form.cleaned_data["signatory_name"],
                signatory_role=form.cleaned_data["signatory_role"],
                acting_user=request.user,
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Signed for {party.agency}.")
    else:
        messages.error(request, "Give the signatory's name and role.")
    return redirect("sharing:agreement-detail", pk=agreement.pk)


STATUS_ACTIONS = {
    "activate": (AgreementStatus.ACTIVE, policy.can_activate_agreement),
    "suspend": (AgreementStatus.SUSPENDED, policy.can_suspend_agreement),
    "terminate": (AgreementStatus.TERMINATED, policy.can_terminate_agreement),
}


@require_POST
def agreement_status(request: MemberRequest, pk: Any, action: str) -> HttpResponse:
    agreement = _visible_agreement(request.user, pk)
    if action not in STATUS_ACTIONS:
        raise Http404("Not found.")
    target, rule = STATUS_ACTIONS[action]
    if not rule(request.user, agreement):
        raise Http404("Not found.")
    form = forms.StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Reload the agreement and try again.")
        return redirect("sharing:agreement-detail", pk=agreement.pk)
    try:
        services.do_change_agreement_status(
            agreement=agreement,
            status=target,
            acting_user=request.user,
            reason=form.cleaned_data["reason"],
            version=form.cleaned_data["version"],
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Agreement {agreement.reference} is now {target}.")
    return redirect("sharing:agreement-detail", pk=agreement.pk)


# --- sharing a case -------------------------------------------------------------------------
def case_shares(request: MemberRequest, case_id: Any) -> HttpResponse:
    user = request.user
    case, access = policy.access_case(user, case_id)
    may_share = policy.can_share_case(user, case)
    agreements = policy.shareable_agreements(case)
    party = policy.agreement_parties(agreements).filter(agency_id=OuterRef("pk"))
    agencies = Agency.objects.filter(is_active=True).exclude(pk=case.lead_agency_id).filter(Exists(party))
    form = forms.ShareForm(posted(request), agencies=agencies, agreements=agreements)
    if request.method == "POST":
        if not may_share:
            raise Http404("Not found.")
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.do_share_case(
                    case=case,
                    agency=data["agency"],
                    agreement=data["agreement"],
                    categories=data["categories"],
                    purpose=data["purpose"],
                    valid_to=data["valid_to"],
                    acting_user=user,
                    acting_agency=Agency.objects.get(pk=access.agency_id),
                )
            except DomainError as exc:
                _form_error(form, exc)
            else:
                messages.success(request, f"Shared with {data['agency']}.")
                return redirect("sharing:case-shares", case_id=case.pk)
    shares = list(policy.shares_visible_to(user, case).select_related("agency", "agreement"))
    consult(
        user,
        CaseShare,
        access.justification,
        agency=Agency.objects.get(pk=access.agency_id),
        role=access.role,
        case_id=case.pk,
        grant=access,
        detail={"view": "share_list"},
    )
    live_ids = set(policy.live_shares_visible_to(user, case).values_list("pk", flat=True))
    terms = {
        (p.agreement_id, p.agency_id): p.categories
        for p in policy.agreement_parties(agreements).select_related("agency")
    }
    return render(
        request,
        "sharing/case_shares.html",
        {
            "case": case,
            "case_url": case_url(case),
            "access": access,
            "shares": shares,
            "live_ids": live_ids,
            "form": form if may_share else None,
            "terms": terms,
            "agreements": agreements,
            "revoke_form": forms.RevokeForm(),
        },
        status=400 if request.method == "POST" and form.errors else 200,
    )


@require_POST
def share_revoke(request: MemberRequest, pk: Any) -> HttpResponse:
    share, case, access = policy.access_share(request.user, pk)
    if not policy.can_revoke_share(request.user, share):
        raise Http404("Not found.")
    form = forms.RevokeForm(request.POST)
    form.is_valid()
    try:
        services.do_revoke_share(
            share=share,
            reason=form.cleaned_data.get("reason", ""),
            acting_user=request.user,
            acting_agency=Agency.objects.get(pk=access.agency_id),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Share with {share.agency} revoked.")
    return redirect("sharing:case-shares", case_id=case.pk)


# --- break-glass ----------------------------------------------------------------------------
def break_glass(request: MemberRequest, case_id: Any) -> HttpResponse:
    """Ask for emergency access to a case not shared with your agency, with a typed reason."""
    user = request.user
    case = policy.case_for_break_glass(user, case_id)
    if case is None:
        raise Http404("No such case.")
    if policy.case_access(user, case) is not None:
        return redirect(case_url(case))
    agreements = policy.break_glass_agreements(user, case)
    if not agreements.exists():
        raise Http404("No such case.")
    form = forms.BreakGlassForm(posted(request), agreements=agreements)
    if request.method == "POST" and form.is_valid():
        agreement = form.cleaned_data["agreement"]
        agency_ids = policy.break_glass_agency_ids(user, agreement)
        try:
            glass = services.do_break_glass(
                case=case,
                user=user,
                agency=Agency.objects.get(pk=agency_ids[0]),
                agreement=agreement,
                reason=form.cleaned_data["reason"],
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            until = timezone.localtime(glass.expires_at)
            messages.warning(
                request,
                f"Break-glass access opened until {until:%H:%M}. It is recorded and will be reviewed.",
            )
            return redirect(case_url(case))
    status = 400 if request.method == "POST" else 200
    return render(request, "sharing/break_glass.html", {"case": case, "form": form}, status=status)


@require_safe
def break_glass_queue(request: MemberRequest) -> HttpResponse:
    user = request.user
    if not policy.break_glass_reviewer_agencies(user):
        raise Http404("Not found.")
    pending = list(
        policy.break_glass_queue(user, "pending").select_related("case", "user", "agency", "agreement")
    )
    reviewable = {glass.pk for glass in pending if policy.can_review_break_glass(user, glass)}
    reviewed = (
        policy.break_glass_queue(user, "reviewed")
        .select_related("case", "user", "agency", "agreement", "reviewed_by")
        .order_by("-reviewed_at")[:50]
    )
    return render(
        request,
        "sharing/break_glass_queue.html",
        {
            "pending": pending,
            "reviewable": reviewable,
            "reviewed": reviewed,
            "review_form": forms.ReviewForm(),
        },
    )


@require_POST
def break_glass_review(request: MemberRequest, pk: Any) -> HttpResponse:
    glass = policy.access_break_glass_for_review(request.user, pk)
    if not policy.can_review_break_glass(request.user, glass):
        raise Http404("Not found.")
    form = forms.ReviewForm(request.POST)
    if form.is_valid():
        try:
            services.do_review_break_glass(
                glass=glass,
                outcome=form.cleaned_data["outcome"],
                note=form.cleaned_data["note"],
                acting_user=request.user,
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Review recorded.")
    else:
        messages.error(request, "Choose justified or not justified.")
    return redirect("sharing:break-glass-queue")


# --- disclosures ----------------------------------------------------------------------------
def case_disclosures(request: MemberRequest, case_id: Any) -> HttpResponse:
    user = request.user
    case, access = policy.access_case(user, case_id)
    if not policy.can_view_disclosures(user, case):
        raise Http404("No such case.")
    may_disclose = policy.can_disclose_case(user, case)
    chairs = policy.disclosure_approvers(case)
    form = forms.DisclosureForm(posted(request), chairs=chairs)
    if request.method == "POST":
        if not may_disclose:
            raise Http404("Not found.")
        if form.is_valid():
            data = dict(form.cleaned_data)
            approver = next((u for u in chairs if u.pk == data.pop("approved_by")), None)
            try:
                services.do_record_disclosure(
                    case=case,
                    agency=Agency.objects.get(pk=access.agency_id),
                    approved_by=approver,
                    acting_user=user,
                    **data,
                )
            except DomainError as exc:
                _form_error(form, exc)
            else:
                messages.success(request, "Disclosure recorded.")
                return redirect("sharing:case-disclosures", case_id=case.pk)
    disclosures = list(policy.disclosures_visible_to(user, case).select_related("case", "approved_by"))
    consult(
        user,
        Disclosure,
        access.justification,
        agency=Agency.objects.get(pk=access.agency_id),
        role=access.role,
        case_id=case.pk,
        detail={"view": "disclosure_log"},
    )
    return render(
        request,
        "sharing/case_disclosures.html",
        {
            "case": case,
            "case_url": case_url(case),
            "disclosures": disclosures,
            "form": form if may_disclose else None,
        },
        status=400 if request.method == "POST" and form.errors else 200,
    )


# --- match notices ----------------------------------------------------------------------------
def _visible_notice(user: Any, pk: Any) -> MatchNotice:
    notice = (
        policy.match_notices_visible_to(user)
        .select_related("case", "referring_agency", "holder_agency", "decided_by")
        .filter(pk=pk)
        .first()
    )
    if notice is None:
        raise Http404("Not found.")
    return notice


@require_safe
def match_notices(request: MemberRequest) -> HttpResponse:
    """For the lead agency's chairs: partners' referrals that matched a case of theirs."""
    notices = policy.match_notices_visible_to(request.user).select_related(
        "case", "referring_agency", "decided_by"
    )
    if not policy.agency_ids(request.user, [Role.CHAIR]):
        raise Http404("Not found.")
    return render(request, "sharing/match_notices.html", {"notices": notices[:200]})


def match_notice(request: MemberRequest, pk: Any) -> HttpResponse:
    """One notice: share the matched case with the referring agency, or dismiss the notice."""
    user = request.user
    notice = _visible_notice(user, pk)
    may_decide = policy.can_decide_match_notice(user, notice)
    form = forms.MatchNoticeShareForm(
        request.POST if request.method == "POST" and "dismiss" not in request.POST else None,
        agreements=policy.match_notice_agreements(notice),
    )
    if request.method == "POST":
        if not may_decide:
            raise Http404("Not found.")
        acting_agency = notice.holder_agency
        try:
            if "dismiss" in request.POST:
                services.do_dismiss_match_notice(notice=notice, acting_user=user, acting_agency=acting_agency)
                messages.success(request, "Notice dismissed: nothing was shared.")
                return redirect("sharing:match-notices")
            if form.is_valid():
                data = form.cleaned_data
                services.do_share_from_match_notice(
                    notice=notice,
                    agreement=data["agreement"],
                    categories=data["categories"],
                    purpose=data["purpose"],
                    acting_user=user,
                    acting_agency=acting_agency,
                )
                messages.success(
                    request, f"Case {notice.case.reference} shared with {notice.referring_agency}."
                )
                return redirect("sharing:match-notices")
        except DomainError as exc:
            _form_error(form, exc)
            if not form.is_bound:
                messages.error(request, exc.message)
    return render(
        request,
        "sharing/match_notice.html",
        {"notice": notice, "form": form if may_decide else None, "case_url": case_url(notice.case)},
        status=400 if request.method == "POST" else 200,
    )
