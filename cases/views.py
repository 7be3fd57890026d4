"""Case pages: thin views over cases.reading (what to show) and cases.services (changes).

A case the user may not see is a 404 (policy.access_case); one they see but may not change is 403.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import capfirst
from django.views.decorators.http import require_safe

from agencies.models import Agency, User
from agencies.requests import MemberRequest
from core import pdf
from core.categories import Category
from core.errors import ConflictError, DomainError
from core.parsing import is_whole_number, posted
from sharing import copies, policy

from . import choices as c
from . import forms, reading
from . import services as s
from .models import (
    Action,
    ActionUpdate,
    Breach,
    Case,
    Condition,
    Nominal,
    Order,
    OrderEvent,
    Referral,
    RiskAssessment,
    RiskManagementPlan,
    Victim,
)

SECTIONS = (
    ("summary", "Summary", ()),
    ("nominal", "Nominal", ("C1", "C6")),
    ("victims", "Victims", ("C7", "C8")),
    ("referral", "Referral", ("C2",)),
    ("assessments", "Risk assessments", ("C3",)),
    ("orders", "Orders, conditions and breaches", ("C4",)),
    ("plan", "Plan and actions", ("C5",)),
    ("notes", "Notes", ()),
)
HIDDEN_KEYS = {"id", "version", "owner_agency", "created_at", "updates", "conditions", "breaches", "events"}


def _form_error(form: Any, exc: DomainError) -> None:
    field = exc.field.split(".")[0] if exc.field else None
    if isinstance(exc, ConflictError) or field not in form.fields:
        form.add_error(None, exc.message)
    else:
        form.add_error(field, exc.message)


def _lead(request: MemberRequest, pk: Any) -> tuple[Case, Any]:
    case, access = policy.access_case(request.user, pk)
    if not policy.can_edit_case(request.user, case):
        raise PermissionDenied("Only the lead agency changes this case.")
    return case, access


def _show(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dict) and "name" in value and "id" in value:
        return str(value["name"])
    if isinstance(value, list) and value and all(isinstance(v, dict) and "family" in v for v in value):
        # a nominal's names: "Daniel Marsh; also known as Danny Marsh"
        primary = [
            f"{v.get('given', '')} {v.get('family', '')}".strip() for v in value if v.get("kind") != "alias"
        ]
        aliases = [
            f"{v.get('given', '')} {v.get('family', '')}".strip() for v in value if v.get("kind") == "alias"
        ]
        text = "; ".join(primary)
        return f"{text}; also known as {', '.join(aliases)}" if aliases else text
    if isinstance(value, dict) and all(isinstance(v, str | int | float) for v in value.values()):
        return "; ".join(f"{capfirst(str(k).replace('_', ' '))}: {v}" for k, v in value.items())
    if isinstance(value, dict | list):
        return json.dumps(value, indent=1, ensure_ascii=False)
    return str(value)


def display_rows(model: Any, item: dict[str, Any] | None, reasons: dict[str, str]) -> list[dict[str, Any]]:
    """Label / value rows for one record; a field not served is shown as withheld with its reason."""
    if item is None:
        return []
    rows = []
    for name, (category, _minimum) in model.VISIBILITY.items():
        if name in HIDDEN_KEYS or not any(f.name == name for f in model._meta.get_fields()):
            continue
        label = capfirst(str(model._meta.get_field(name).verbose_name))
        if name in item:
            value = item.get(f"{name}_display", item[name]) if item[name] not in (None, "") else item[name]
            rows.append({"label": label, "value": _show(value), "withheld": None})
        else:
            reason = reasons.get(category) or "Withheld: not shared with your agency."
            rows.append({"label": label, "value": None, "withheld": reason, "category": category})
    return rows


@require_safe
def case_list(request: MemberRequest) -> HttpResponse:
    qs = policy.cases_visible_to(request.user).select_related(*reading.prefetch_for_list())
    params = request.GET
    own = policy.content_agencies(request.user)
    scope = params.get("scope", "")
    if scope == "mine":
        qs = qs.filter(lead_agency_id__in=own)
    elif scope == "shared":
        qs = qs.exclude(lead_agency_id__in=own)
    for name in ("status", "forum"):
        if params.get(name):
            qs = qs.filter(**{name: params[name]})
    if is_whole_number(params.get("mappa_level", "")):
        qs = qs.filter(mappa_level=int(params["mappa_level"]))
    if params.get("review_due"):
        try:
            qs = qs.filter(next_review_on__lte=date.fromisoformat(params["review_due"]))
        except ValueError:
            messages.error(request, "Give the review date as YYYY-MM-DD.")
    page = Paginator(qs.order_by(*policy.LIST_ORDER), 50).get_page(params.get("page"))
    rows = reading.read_case_list(request.user, list(page.object_list))
    return render(
        request,
        "cases/case_list.html",
        {
            "rows": rows,
            "page": page,
            "params": params,
            "statuses": c.CaseStatus.choices,
            "forums": c.Forum.choices,
            "can_create": bool(own),
        },
    )


def case_detail(request: MemberRequest, pk: Any) -> HttpResponse:
    case, access = policy.access_case(request.user, pk)
    data = reading.read_case(request.user, access, case)
    reasons = policy.withheld_categories(access)
    withheld_by_section = {
        key: [w for w in data["withheld"] if w["category"] in cats] for key, _label, cats in SECTIONS
    }
    context = {
        "case": case,
        "data": data,
        "access": access,
        "sections": [(key, label) for key, label, _ in SECTIONS],
        "withheld_by_section": withheld_by_section,
        "nominal_rows": display_rows(Nominal, data.get("nominal"), reasons),
        "victims": [{"item": v, "rows": display_rows(Victim, v, reasons)} for v in data.get("victims", [])],
        "referral_rows": display_rows(Referral, data.get("referral"), reasons),
        "assessments": [
            {"item": a, "rows": display_rows(RiskAssessment, a, reasons)} for a in data.get("assessments", [])
        ],
        "orders": [
            {
                "item": o,
                "rows": display_rows(Order, o, reasons),
                "conditions": [display_rows(Condition, x, reasons) for x in o.get("conditions", [])],
                "breaches": [display_rows(Breach, x, reasons) for x in o.get("breaches", [])],
                "events": [display_rows(OrderEvent, x, reasons) for x in o.get("events", [])],
            }
            for o in data.get("orders", [])
        ],
        "plan_rows": display_rows(RiskManagementPlan, data.get("plan"), reasons),
        "pillars": c.Pillar.choices,
        "actions": [
            {
                "item": a,
                "rows": display_rows(Action, a, reasons),
                "updates": [display_rows(ActionUpdate, u, reasons) for u in a.get("updates", [])],
            }
            for a in data.get("actions", [])
        ],
        "notes": data.get("notes", []),
        "note_withheld": [w for w in data["withheld"] if w["level"] == "none"],
        "category_labels": dict(Category.choices),
        "can_edit": policy.can_edit_case(request.user, case),
        "contributes": policy.contributable_categories(request.user, case),
        "updatable_actions": {
            str(pk)
            for pk in policy.actions_updatable_by(request.user).filter(case=case).values_list("pk", flat=True)
        },
        "reassignable_actions": {
            str(pk)
            for pk in policy.actions_reassignable_by(request.user)
            .filter(case=case)
            .values_list("pk", flat=True)
        },
        "can_add_note": policy.can_add_note(request.user, case),
        "note_form": forms.NoteForm(),
        "today": date.today().isoformat(),  # noqa: DTZ011 - display comparison only
    }
    return render(request, "cases/case_detail.html", context)


def _pdf_rows(rows: list[dict[str, Any]], indent: str = "") -> list[str]:
    return [
        f"{indent}{r['label']}: {r['value']}"
        if r["withheld"] is None
        else f"{indent}{r['label']}: {r['withheld']}"
        for r in rows
    ]


def _pdf_withheld(withheld: list[dict[str, Any]]) -> list[str]:
    lines = []
    for w in withheld:
        state = "Withheld" if w["level"] == "none" else "Summary only"
        reason = str(w["reason"]).removeprefix(f"{state}: ")
        lines.append(f"{state}: {w['label']} ({w['category']}). {reason}")
    return lines


def case_summary_sections(data: dict[str, Any], access: Any) -> list[pdf.Section]:
    """The case page's content as PDF sections: only what read_case served this viewer, and each
    category not served named as withheld with its reason."""
    reasons = policy.withheld_categories(access)
    by_section = {
        key: [w for w in data["withheld"] if w["category"] in cats] for key, _label, cats in SECTIONS
    }
    mappa = (
        f"Category {data['mappa_category']}, {data['mappa_level_display']}"
        if data.get("mappa_level")
        else "—"
    )
    summary = [
        f"Status: {data['status_display']}"
        + (f" ({data['closure_reason_display']})" if data.get("closure_reason") else ""),
        f"Forum: {data['forum_display']}",
        f"MAPPA category and level: {mappa}",
        f"Headline risk: {data['risk_level_display'] if data.get('risk_level') else 'Not assessed'}",
        f"Lead agency: {data['lead_agency']['name']}",
        f"Case owner: {data['owner']['name']}",
        f"Next review: {data.get('next_review_on') or '—'}",
    ]
    if data.get("closure_note"):
        summary.append(f"Closure note: {data['closure_note']}")
    if data["withheld"]:
        summary += ["", "What your agency does not receive in full:", *_pdf_withheld(data["withheld"])]
    sections = [pdf.Section("Summary", summary)]

    def listed(key: str, label: str, model: Any, items: list[dict[str, Any]], empty: str) -> None:
        lines: list[str] = []
        for n, item in enumerate(items, start=1):
            if len(items) > 1:
                lines.append(f"{label} {n}")
            lines += _pdf_rows(display_rows(model, item, reasons), "  " if len(items) > 1 else "")
        lines += _pdf_withheld(by_section[key])
        sections.append(pdf.Section(dict((k, t) for k, t, _ in SECTIONS)[key], lines or [empty]))

    nominal = data.get("nominal")
    listed("nominal", "Nominal", Nominal, [nominal] if nominal else [], "Withheld.")
    listed("victims", "Victim", Victim, data.get("victims", []), "No victims recorded.")
    referral = data.get("referral")
    listed("referral", "Referral", Referral, [referral] if referral else [], "No referral shown.")
    listed("assessments", "Assessment", RiskAssessment, data.get("assessments", []), "No assessments yet.")
    order_lines: list[str] = []
    for n, o in enumerate(data.get("orders", []), start=1):
        order_lines.append(f"Order {n}")
        order_lines += _pdf_rows(display_rows(Order, o, reasons), "  ")
        for kind, model, key in (("Condition", Condition, "conditions"), ("Breach", Breach, "breaches"),
                                 ("Event", OrderEvent, "events")):  # fmt: skip
            for x in o.get(key, []):
                order_lines.append(f"  {kind}")
                order_lines += _pdf_rows(display_rows(model, x, reasons), "    ")
    order_lines += _pdf_withheld(by_section["orders"])
    sections.append(pdf.Section("Orders, conditions and breaches", order_lines or ["No orders recorded."]))
    plan_lines = _pdf_rows(display_rows(RiskManagementPlan, data.get("plan"), reasons))
    for n, a in enumerate(data.get("actions", []), start=1):
        plan_lines.append(f"Action {n}")
        plan_lines += _pdf_rows(display_rows(Action, a, reasons), "  ")
        for u in a.get("updates", []):
            plan_lines += _pdf_rows(display_rows(ActionUpdate, u, reasons), "    ")
    plan_lines += _pdf_withheld(by_section["plan"])
    sections.append(pdf.Section("Plan and actions", plan_lines or ["No plan yet."]))
    note_lines = []
    for note in data.get("notes", []):
        when = str(note.get("created_at", ""))[:10]
        if note.get("body"):
            note_lines.append(
                f"{when} {note.get('category_display', '')} · {note.get('basis_display', '')}: {note['body']}"
            )
        else:
            note_lines.append(
                f"{when} Summary only: a note in a category your agency receives only in summary."
            )
    note_lines += _pdf_withheld([w for w in data["withheld"] if w["level"] == "none"])
    sections.append(pdf.Section("Notes", note_lines or ["No notes you may read."]))
    return sections


@require_safe
def case_summary_pdf(request: MemberRequest, pk: Any) -> HttpResponse:
    """The viewer's agency's copy of the case summary: what the case page shows them (read_case),
    marked on every page with whose copy it is; issuing it is recorded as a disclosure to them."""
    case, access = policy.access_case(request.user, pk)
    data = reading.read_case(request.user, access, case)
    membership = policy.primary_membership(request.user, access.agency_id)
    body = copies.do_issue_copy(
        title=f"Case summary: {data['reference']}",
        user=cast(User, request.user),  # access_case answered: a signed-in member
        agency=membership.agency if membership else None,
        preamble=[
            "Lead agency's copy."
            if access.is_lead
            else f"Shared under agreement {', '.join(access.agreement_refs)}: "
            "only what that agreement allows; the rest is named as withheld."
        ],
        sections=case_summary_sections(data, access),
        obj=case,
        case_id=case.pk,
        categories=access.categories,
        justification=access.justification,
        share_id=access.share_ids[0] if access.share_ids else None,
        agreement_id=access.agreement_ids[0] if access.agreement_ids else None,
        kind="case-summary",
    )
    return pdf.attachment(body, f"case-{case.pk}.pdf")


def case_create(request: MemberRequest) -> HttpResponse:
    membership = policy.case_opening_membership(request.user)
    if membership is None:
        raise PermissionDenied("Only practitioners and chairs open cases.")
    form = forms.CaseCreateForm(posted(request))
    candidates: list[dict[str, Any]] = []
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            case = s.do_open_case(
                nominal_data=s.NominalInput(
                    given_name=d["given_name"],
                    family_name=d["family_name"],
                    date_of_birth=d["date_of_birth"],
                    aliases=form.alias_pairs(),
                    ethnicity=d["ethnicity"],
                    address=d["address"],
                    pnc_id=d["pnc_id"],
                    visor_ref=d["visor_ref"],
                    ndelius_crn=d["ndelius_crn"],
                    nhs_number=d["nhs_number"],
                ),
                referral=s.ReferralInput(
                    reason=d["reason"],
                    lawful_basis=d["lawful_basis"],
                    index_offence=d["index_offence"],
                    received_on=d["received_on"],
                    urgency=d["urgency"],
                ),
                forum=d["forum"],
                lead_agency=membership.agency,
                acting_user=request.user,
                link_nominal_id=d["link_nominal"],
                confirm_new_nominal=request.POST.get("confirm_new_nominal") == "on",
                mappa_category=d["mappa_category"],
                mappa_level=d["mappa_level"],
                next_review_on=d["next_review_on"],
            )
        except s.DuplicateNominal as dup:
            visible = policy.cases_visible_to(request.user)
            candidates = [
                {
                    "id": str(nominal.pk),
                    "matched_on": bases,
                    "cases": list(visible.filter(nominal=nominal).values_list("reference", flat=True)),
                }
                for nominal, bases in dup.matches
            ]
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Case {case.reference} opened.")
            return redirect("cases:detail", case.pk)
    status = 400 if request.method == "POST" and (form.errors or candidates) else 200
    return render(request, "cases/case_form.html", {"form": form, "candidates": candidates}, status=status)


def _edit_page(
    request: MemberRequest,
    case: Case,
    form: Any,
    title: str,
    save: Any,
    done: str,
    shows: tuple[Any, list[str]] | None = None,
) -> HttpResponse:
    """Common shape of an edit page: valid form → service; DomainError → field error; Conflict → message.

    ``shows`` is (access, categories) for forms pre-filled with case data: opening one is a
    consultation and is audited like any other read.
    """
    if request.method == "GET" and shows is not None:
        reading.consult(request.user, shows[0], case, shows[1], surface="edit form")
    if request.method == "POST" and form.is_valid():
        try:
            save(form.cleaned_data)
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, done)
            return redirect(reverse("cases:detail", args=[case.pk]))
    status = 400 if form.errors else 200
    return render(
        request, "cases/edit_form.html", {"case": case, "form": form, "title": title}, status=status
    )


def case_edit(request: MemberRequest, pk: Any) -> HttpResponse:
    case, access = _lead(request, pk)
    initial = {
        "version": case.version,
        "forum": case.forum,
        "mappa_category": case.mappa_category,
        "mappa_level": case.mappa_level,
        "next_review_on": case.next_review_on,
    }
    form = forms.CaseHeaderForm(posted(request), initial=initial)

    def save(d: dict[str, Any]) -> None:
        version = d.pop("version")
        s.do_update_case(
            case=case, version=version, agency=case.lead_agency, acting_user=request.user, changes=d
        )

    return _edit_page(
        request, case, form, "Change the case details", save, "Case details saved.", shows=(access, ["C2"])
    )


def case_status(request: MemberRequest, pk: Any) -> HttpResponse:
    case, _ = _lead(request, pk)
    form = forms.StatusForm(posted(request), initial={"version": case.version, "status": case.status})

    def save(d: dict[str, Any]) -> None:
        s.do_change_case_status(
            case=case,
            to=d["status"],
            version=d["version"],
            agency=case.lead_agency,
            acting_user=request.user,
            closure_reason=d["closure_reason"],
            closure_note=d["closure_note"],
        )

    return _edit_page(request, case, form, "Change the case status", save, "Status changed.")


def note_add(request: MemberRequest, pk: Any) -> HttpResponse:
    case, access = policy.access_case(request.user, pk)
    if not policy.can_add_note(request.user, case):
        raise PermissionDenied
    form = forms.NoteForm(posted(request))
    agency = policy.primary_membership(request.user, access.agency_id)
    assert agency is not None

    def save(d: dict[str, Any]) -> None:
        s.do_add_note(case=case, agency=agency.agency, acting_user=request.user, **d)

    return _edit_page(request, case, form, f"Add a note in the name of {agency.agency}", save, "Note added.")


def victim_add(request: MemberRequest, pk: Any) -> HttpResponse:
    case, _ = _lead(request, pk)
    form = forms.VictimForm(posted(request))

    def save(d: dict[str, Any]) -> None:
        s.do_add_victim(case=case, agency=case.lead_agency, acting_user=request.user, **d)

    return _edit_page(request, case, form, "Add a victim", save, "Victim added.")


def victim_edit(request: MemberRequest, pk: Any, victim_id: Any) -> HttpResponse:
    case, access = _lead(request, pk)
    victim = case.victims.filter(pk=victim_id).first()
    if victim is None:
        from django.http import Http404

        raise Http404
    initial = {name: getattr(victim, name) for name in forms.VictimForm.base_fields}
    form = forms.VictimForm(posted(request), initial=initial)
    form.fields["version"] = forms.forms.IntegerField(widget=forms.forms.HiddenInput, initial=victim.version)

    def save(d: dict[str, Any]) -> None:
        version = d.pop("version")
        s.do_update_victim(
            victim=victim, version=version, agency=case.lead_agency, acting_user=request.user, changes=d
        )

    return _edit_page(
        request,
        case,
        form,
        "Change the victim's details",
        save,
        "Victim details saved.",
        shows=(access, ["C7", "C8"]),
    )


def screening(request: MemberRequest, pk: Any) -> HttpResponse:
    case, access = _lead(request, pk)
    referral = case.referral
    form = forms.ScreeningForm(
        posted(request),
        initial={
            "version": referral.version,
            "outcome": referral.outcome,
            "advice_given": referral.advice_given,
        },
    )

    def save(d: dict[str, Any]) -> None:
        s.do_record_screening(referral=referral, agency=case.lead_agency, acting_user=request.user, **d)

    return _edit_page(
        request,
        case,
        form,
        "Record the screening decision",
        save,
        "Screening recorded.",
        shows=(access, ["C2"]),
    )


def plan_edit(request: MemberRequest, pk: Any) -> HttpResponse:
    case, access = _lead(request, pk)
    current = s.current_plan(case)
    initial: dict[str, Any] = {"base_number": current.number if current else 0}
    if current is not None:
        for pillar in c.Pillar.values:
            initial[pillar] = "\n".join(item["text"] for item in (current.items or {}).get(pillar, []))
        initial["contingency"] = current.contingency
    form = forms.PlanForm(posted(request), initial=initial)

    def save(d: dict[str, Any]) -> None:
        s.do_save_plan(
            case=case,
            base_number=d["base_number"],
            agency=case.lead_agency,
            acting_user=request.user,
            items=form.items(),
            contingency=d["contingency"],
            change_summary=d["change_summary"],
        )

    return _edit_page(
        request,
        case,
        form,
        "Change the risk management plan",
        save,
        "New plan version saved.",
        shows=(access, ["C5"]),
    )


def _contributor(request: MemberRequest, pk: Any, kind: str) -> tuple[Case, Agency]:
    """The case and the agency a contribution of ``kind`` is recorded in the name of: the lead, or a
    partner whose agreement lets it contribute the kind's category (policy.can_contribute)."""
    case, access = policy.access_case(request.user, pk)
    if not policy.can_contribute(request.user, case, kind):
        raise PermissionDenied("Your agency does not contribute these records to this case.")
    return case, Agency.objects.get(pk=access.agency_id)


def assessment_add(request: MemberRequest, pk: Any) -> HttpResponse:
    case, agency = _contributor(request, pk, "assessment")
    form = forms.AssessmentForm(posted(request))

    def save(d: dict[str, Any]) -> None:
        tool = d["tool"]
        answers: dict[str, Any] = {}
        if tool == c.Tool.SDASH:
            answers = {key: bool(d[f"sdash_{key}"]) for key, _ in c.SDASH_QUESTIONS}
        domains = {dm: d[f"srp_{dm}"] for dm in c.SRP_DOMAINS} if tool == c.Tool.SRP else None
        s.do_record_assessment(
            case=case,
            agency=agency,
            acting_user=request.user,
            data=s.AssessmentInput(
                tool=tool,
                level=d["level"],
                answers=answers,
                srp_type=d["srp_type"],
                srp_domains=domains,
                formulation=d["formulation"],
                assessed_on=d["assessed_on"],
                basis=d["basis"],
            ),
        )

    return _edit_page(request, case, form, "Record a risk assessment", save, "Assessment recorded.")


def action_add(request: MemberRequest, pk: Any) -> HttpResponse:
    case, _ = _lead(request, pk)
    owners = User.objects.filter(pk__in=policy.action_owners(case).values("user_id"))
    form = forms.ActionForm(posted(request), owners=owners)

    def save(d: dict[str, Any]) -> None:
        membership = policy.action_owner_membership(d["owner"], case)
        if membership is None:
            raise DomainError("Choose someone in an agency working on this case.", field="owner")
        s.do_add_action(
            case=case,
            agency=case.lead_agency,
            acting_user=request.user,
            pillar=d["pillar"],
            text=d["text"],
            owner=d["owner"],
            action_agency=membership.agency,
            due_on=d["due_on"],
        )

    return _edit_page(request, case, form, "Add an action", save, "Action added.")


def _action_for(request: MemberRequest, pk: Any, action_id: Any) -> tuple[Case, Any, Action]:
    case, access = policy.access_case(request.user, pk)
    action = case.actions.select_related("case").filter(pk=action_id).first()
    if action is None:
        raise Http404
    return case, access, action


def action_status(request: MemberRequest, pk: Any, action_id: Any) -> HttpResponse:
    """The lead agency, or the agency the action is assigned to, changes its status; anyone else
    finds no such action."""
    case, access, action = _action_for(request, pk, action_id)
    agency_id = policy.action_acting_agency_id(request.user, action)
    if agency_id is None:
        raise Http404
    form = forms.ActionStatusForm(
        posted(request), initial={"version": action.version, "status": action.status}
    )

    def save(d: dict[str, Any]) -> None:
        s.do_update_action(
            action=action,
            version=d["version"],
            agency=Agency.objects.get(pk=agency_id),
            acting_user=request.user,
            status=d["status"],
        )

    return _edit_page(
        request, case, form, "Change the action's status", save, "Action updated.", shows=(access, ["C5"])
    )


def action_reassign(request: MemberRequest, pk: Any, action_id: Any) -> HttpResponse:
    """The lead agency or the review's chair gives the action to someone in an agency working on
    the case (the owners the policy offers); anyone else finds no such action."""
    case, access, action = _action_for(request, pk, action_id)
    if not policy.can_reassign_action(request.user, action):
        raise Http404
    owners = User.objects.filter(pk__in=policy.action_owners(case).values("user_id"))
    form = forms.ActionReassignForm(
        posted(request), owners=owners, initial={"version": action.version, "owner": action.owner_id}
    )

    def save(d: dict[str, Any]) -> None:
        membership = policy.action_owner_membership(d["owner"], case)
        if membership is None:
            raise DomainError("Choose someone in an agency working on this case.", field="owner")
        s.do_reassign_action(
            action=action,
            version=d["version"],
            agency=Agency.objects.get(pk=access.agency_id),
            acting_user=request.user,
            owner=d["owner"],
            action_agency=membership.agency,
        )

    return _edit_page(
        request, case, form, "Reassign the action", save, "Action reassigned.", shows=(access, ["C5"])
    )


def order_add(request: MemberRequest, pk: Any) -> HttpResponse:
    case, agency = _contributor(request, pk, "order")
    form = forms.OrderForm(posted(request))

    def save(d: dict[str, Any]) -> None:
        s.do_add_order(case=case, agency=agency, acting_user=request.user, values=d)

    return _edit_page(request, case, form, "Record an order", save, "Order recorded.")


def _order_of(request: MemberRequest, pk: Any, order_id: Any, kind: str) -> tuple[Case, Order, Agency]:
    case, agency = _contributor(request, pk, kind)
    order = case.orders.filter(pk=order_id).first()
    if order is None:
        raise Http404
    return case, order, agency


def condition_add(request: MemberRequest, pk: Any, order_id: Any) -> HttpResponse:
    case, order, agency = _order_of(request, pk, order_id, "condition")
    form = forms.ConditionForm(posted(request))

    def save(d: dict[str, Any]) -> None:
        zone = d.pop("exclusion_zone")
        s.do_add_condition(
            order=order,
            agency=agency,
            acting_user=request.user,
            exclusion_zone={"description": zone} if zone else None,
            **d,
        )

    return _edit_page(request, case, form, "Add a condition", save, "Condition added.")


def breach_add(request: MemberRequest, pk: Any, order_id: Any) -> HttpResponse:
    case, order, agency = _order_of(request, pk, order_id, "breach")
    form = forms.BreachForm(posted(request))

    def save(d: dict[str, Any]) -> None:
        s.do_record_breach(order=order, agency=agency, acting_user=request.user, **d)

    return _edit_page(request, case, form, "Record a breach", save, "Breach recorded.")


def order_event_add(request: MemberRequest, pk: Any, order_id: Any) -> HttpResponse:
    case, order, agency = _order_of(request, pk, order_id, "order_event")
    form = forms.OrderEventForm(posted(request))

    def save(d: dict[str, Any]) -> None:
        s.do_add_order_event(order=order, agency=agency, acting_user=request.user, **d)

    return _edit_page(request, case, form, "Record a variation, renewal or discharge", save, "Recorded.")
