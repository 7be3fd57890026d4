"""Subject access requests: what ONE agency holds about a named person, and who received it.

The person is found through blind indexes only (cases.identifiers); the name searched is never
stored. The export lists:
- every record the agency controls (``owner_agency``) about the person, field by field;
- every item withheld, with its restriction reason (never silently dropped);
- other agencies' contributions as "held by X: refer the request to them" (no content);
- the disclosure log: shares, third-party disclosures and their audit events.
Each export is audited (Op.EXPORT, one event per case, justification "subject access request <ref>").
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.apps import apps
from django.db import models, transaction
from django.db.models import Model
from django.utils import timezone

from agencies.models import Agency, LegalRegime
from audit.models import Op
from audit.services import consult, record_event
from cases.identifiers import name_dob_index, nhs_index, person_name_index, pnc_index
from cases.models import Case, Nominal, Victim
from core.categories import Category
from core.errors import DomainError
from keystore.fields import EncryptedField
from sharing import policy

from .models import SarStatus, SubjectAccessRequest, SubjectKind
from .services import _path_to_case

VICTIM_CATEGORIES = frozenset({Category.C7, Category.C8})
SKIP_FIELDS = frozenset({"version", "updated_at", "data_key_id", "owner_agency", "created_by"})


@dataclass
class SubjectQuery:
    kind: str
    given_name: str = ""
    family_name: str = ""
    date_of_birth: date | None = None
    pnc_id: str = ""
    nhs_number: str = ""


# --- restriction reasons --------------------------------------------------------------------
def victim_reason(agency: Agency) -> str:
    if agency.regime == LegalRegime.PART3:
        return (
            "DPA 2018 s45(4)(e) — to protect the rights and freedoms of others "
            "(the victim's identity and location)"
        )
    return (
        "UK GDPR Art 15(4); DPA 2018 Sch 2 para 16 — information identifying another individual (the victim)"
    )


def perpetrator_reason(agency: Agency) -> str:
    if agency.regime == LegalRegime.PART3:
        return (
            "DPA 2018 s45(4)(b) and (e) — record of the perpetrator's case: to avoid prejudicing the "
            "prevention of offences and to protect the rights of others; release the requester's own data "
            "after review"
        )
    return (
        "UK GDPR Art 15(4); DPA 2018 Sch 2 para 16 — record about another individual (the perpetrator); "
        "release the requester's own data after review"
    )


# --- finding the person ---------------------------------------------------------------------
def match_subject(query: SubjectQuery) -> tuple[str, list[uuid.UUID]]:
    """(blind index of what was searched, ids of matching nominals or victims)."""
    given, family = query.given_name.strip(), query.family_name.strip()
    if query.kind == SubjectKind.VICTIM:
        full = f"{given} {family}".strip()
        index = person_name_index(full, "victim.name") if full else None
        if index is None:
            raise DomainError("Enter the victim's name.", field="family_name")
        return index, policy.sar_victim_ids(index)
    if query.kind != SubjectKind.PERPETRATOR:
        raise DomainError("Choose whether the requester is a perpetrator or a victim.", field="subject_kind")
    probes: list[tuple[str, str]] = []
    if query.pnc_id.strip():
        probes.append(("pnc_index", pnc_index(query.pnc_id)))
    if query.nhs_number.strip():
        probes.append(("nhs_index", nhs_index(query.nhs_number)))
    if given and family:
        compound = name_dob_index(given, family, query.date_of_birth)
        if compound:
            probes.append(("name_dob_index", compound))
        else:
            simple = person_name_index(f"{given} {family}")
            if simple:
                probes.append(("name_index", simple))
    if not probes:
        raise DomainError(
            "Enter the person's names (with date of birth if known), a PNC ID or an NHS number.",
            field="family_name",
        )
    found: set[uuid.UUID] = set()
    for column, value in probes:
        found |= policy.sar_nominal_ids(column, value)
    return probes[0][1], sorted(found)


# --- what is held ---------------------------------------------------------------------------
def _record_models() -> list[tuple[type[Model], str]]:
    """Every model of a case record with an owner agency, with its lookup to the case."""
    found: list[tuple[type[Model], str]] = []
    for model in apps.get_models():
        names = {f.name for f in model._meta.concrete_fields}
        if "owner_agency" not in names or model in (Case, Nominal):
            continue
        path = _path_to_case(model)
        if path is not None:
            found.append((model, path))
    return found


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return {"binary": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, Model):
        return str(value)
    return value


def _field_category(obj: Model, name: str) -> str | None:
    visibility: dict[str, tuple[str, int]] = getattr(obj, "VISIBILITY", {})
    if name in visibility:
        category = visibility[name][0]
        return getattr(obj, "category", None) or obj.CATEGORY if category == "*" else category  # type: ignore[attr-defined]
    if "victim" in name:
        return Category.C7
    return getattr(obj, "CATEGORY", None)


def _field_names(obj: Model) -> list[str]:
    visibility = getattr(obj, "VISIBILITY", None)
    concrete = {f.name: f for f in obj._meta.concrete_fields}
    if visibility:
        return [name for name in visibility if name in concrete]
    return [
        f.name
        for f in obj._meta.concrete_fields
        if f.name not in SKIP_FIELDS and not f.primary_key and not isinstance(f, models.ForeignKey)
    ] + [
        f.name for f in obj._meta.concrete_fields if isinstance(f, EncryptedField) and f.name not in concrete
    ]


@dataclass
class Export:
    sar: SubjectAccessRequest
    records: list[dict[str, Any]]
    withheld: list[dict[str, Any]]
    elsewhere: list[dict[str, Any]]
    disclosure_log: dict[str, list[dict[str, Any]]]
    case_categories: dict[uuid.UUID, set[str]]

    @property
    def holds_anything(self) -> bool:
        return bool(self.records or self.withheld)

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": "convene.subject-access-export/v1",
            "reference": self.sar.reference,
            "agency": str(self.sar.agency),
            "subject_kind": self.sar.subject_kind,
            "generated_at": timezone.now().isoformat(),
            "records": self.records,
            "withheld": self.withheld,
            "held_by_other_agencies": self.elsewhere,
            "disclosure_log": self.disclosure_log,
        }


def build_export(sar: SubjectAccessRequest) -> Export:
    """What the SAR's agency holds about the subject (decrypts values: call only to export)."""
    agency = sar.agency
    ids = [uuid.UUID(str(i)) for i in sar.matched_ids]
    records: list[dict[str, Any]] = []
    withheld: list[dict[str, Any]] = []
    elsewhere: Counter[tuple[int, str]] = Counter()
    case_categories: dict[uuid.UUID, set[str]] = defaultdict(set)
    perpetrator = sar.subject_kind == SubjectKind.PERPETRATOR

    if perpetrator:
        cases = list(policy.sar_cases(sar.subject_kind, ids).select_related("lead_agency", "nominal"))
        for nominal in policy.sar_nominals(ids):
            if nominal.owner_agency_id == agency.pk:
                _add_record(records, withheld, nominal, None, agency, True, case_categories)
                for case in cases:
                    if case.nominal_id == nominal.pk:
                        case_categories[case.pk].add(Category.C1)
            else:
                elsewhere[(nominal.owner_agency_id, "cases.Nominal")] += 1
        for case in cases:
            if case.owner_agency_id == agency.pk:
                _add_record(records, withheld, case, case, agency, True, case_categories)
            else:
                elsewhere[(case.owner_agency_id, "cases.Case")] += 1
    else:
        cases = list(policy.sar_cases(sar.subject_kind, ids).select_related("lead_agency"))
    by_id = {case.pk: case for case in cases}
    for model, path in _record_models():
        prefix = path.rpartition("__")[0]
        rows = model.objects.filter(**{f"{path}__in": list(by_id)})  # type: ignore[attr-defined]
        rows = rows.select_related(prefix) if prefix else rows
        for obj in rows:
            case = by_id[_case_id(obj, path)]
            disposition = policy.sar_disposition(
                agency.pk, obj, perpetrator=perpetrator, is_victim=model is Victim, subject_ids=ids
            )
            if disposition == policy.SAR_REFER:
                elsewhere[(obj.owner_agency_id, model._meta.label)] += 1
            elif disposition == policy.SAR_EXPORT_OWN:
                _add_record(records, withheld, obj, case, agency, False, case_categories)
            elif disposition == policy.SAR_WITHHOLD_VICTIM:
                withheld.append(_withheld(obj, case, None, victim_reason(agency)))
            elif disposition == policy.SAR_EXPORT:
                _add_record(records, withheld, obj, case, agency, True, case_categories)
            elif disposition == policy.SAR_WITHHOLD_PERPETRATOR:
                withheld.append(_withheld(obj, case, None, perpetrator_reason(agency)))
    names = dict(Agency.objects.filter(pk__in={a for a, _ in elsewhere}).values_list("pk", "name"))
    grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for (agency_id, label), count in sorted(elsewhere.items()):
        grouped[agency_id].append({"type": label, "count": count})
    other = [
        {
            "agency": names[agency_id],
            "records": items,
            "advice": f"Held by {names[agency_id]}: refer the request to them.",
        }
        for agency_id, items in grouped.items()
    ]
    return Export(sar, records, withheld, other, _disclosure_log(agency, cases), case_categories)


def _case_id(obj: Model, path: str) -> uuid.UUID:
    *parents, last = path.split("__")
    target: Any = obj
    for part in parents:
        target = getattr(target, part)
    return getattr(target, f"{last}_id")  # type: ignore[no-any-return]


def _withheld(obj: Model, case: Case | None, field: str | None, reason: str) -> dict[str, Any]:
    return {
        "type": obj._meta.label,
        "id": str(obj.pk),
        "case_reference": case.reference if case else None,
        "field": field,
        "reason": reason,
    }


def _add_record(
    records: list[dict[str, Any]],
    withheld: list[dict[str, Any]],
    obj: Model,
    case: Case | None,
    agency: Agency,
    protect_victim: bool,
    case_categories: dict[uuid.UUID, set[str]],
) -> None:
    fields: dict[str, Any] = {}
    for name in _field_names(obj):
        category = _field_category(obj, name)
        if protect_victim and category in VICTIM_CATEGORIES:
            withheld.append(_withheld(obj, case, name, victim_reason(agency)))
            continue
        value = getattr(obj, name, None)
        if isinstance(value, dict) and protect_victim and "victim_safety" in value:
            value = {k: v for k, v in value.items() if k != "victim_safety"}
            withheld.append(_withheld(obj, case, f"{name}.victim_safety", victim_reason(agency)))
        if name == "photo" and value is not None:
            value = (
                f"photograph held ({getattr(obj, 'photo_content_type', '') or 'image'}); supplied on request"
            )
        fields[name] = _jsonable(value)
        if case is not None and category:
            case_categories[case.pk].add(str(category))
    records.append(
        {
            "type": obj._meta.label,
            "id": str(obj.pk),
            "case_reference": case.reference if case else None,
            "created_at": _jsonable(getattr(obj, "created_at", None)),
            "fields": fields,
        }
    )


def _disclosure_log(agency: Agency, cases: list[Case]) -> dict[str, list[dict[str, Any]]]:
    case_ids = [c.pk for c in cases]
    refs = {c.pk: c.reference for c in cases}
    led = [c.pk for c in cases if c.lead_agency_id == agency.pk]
    shares_made, disclosures_made, events_recorded = policy.sar_disclosure_rows(agency.pk, case_ids, led)
    shares = [
        {
            "case_reference": refs[s.case_id],
            "received_by": s.agency.name,
            "agreement": s.agreement.reference,
            "categories": s.categories,
            "purpose": s.purpose,
            "from": _jsonable(s.valid_from),
            "ended": _jsonable(s.revoked_at),
        }
        for s in shares_made.select_related("agency", "agreement").order_by("valid_from")
    ]
    disclosures = [
        {
            "case_reference": refs[d.case_id],
            "recipient_category": d.get_recipient_kind_display(),
            "categories": d.categories,
            "disclosed_on": _jsonable(d.disclosed_on),
            "undertaking_given": d.undertaking,
        }
        for d in disclosures_made.order_by("disclosed_on")
    ]
    events = [
        {
            "audit_event": e.pk,
            "case_reference": refs.get(e.case_id) if e.case_id else None,
            "operation": e.get_op_display(),
            "when": _jsonable(e.occurred_at),
            "recipients": e.recipients,
            "categories": e.categories,
            "agreement_id": _jsonable(e.agreement_id),
        }
        for e in events_recorded.order_by("id")
    ]
    return {"shares": shares, "disclosures": disclosures, "audit_events": events}


def holds_anything(agency: Agency, kind: str, ids: list[uuid.UUID]) -> bool:
    """Whether the agency controls any record about the subject (counts rows; decrypts nothing)."""
    perpetrator = kind == SubjectKind.PERPETRATOR
    if perpetrator and policy.sar_nominals(ids).filter(owner_agency=agency).exists():
        return True
    cases = policy.sar_cases(kind, ids)
    if cases.filter(owner_agency=agency).exists():
        return True
    case_ids = list(cases.values_list("id", flat=True))
    for model, path in _record_models():
        if model.objects.filter(**{f"{path}__in": case_ids}, owner_agency=agency).exists():  # type: ignore[attr-defined]
            return True
    return False


# --- services -------------------------------------------------------------------------------
@transaction.atomic
def do_open_sar(
    *, agency: Agency, handled_by: Any, query: SubjectQuery, reference: str = ""
) -> SubjectAccessRequest:
    """Record a SAR for a person the agency holds data on; DomainError (nothing written) if none."""
    reference = reference.strip() or f"SAR-{timezone.localdate():%Y}-{secrets.token_hex(3).upper()}"
    if len(reference) > 40:
        raise DomainError("A SAR reference is at most 40 characters.", field="reference")
    if agency.subject_access_requests.filter(reference=reference).exists():
        raise DomainError(f"Your agency already has a SAR with reference {reference}.", field="reference")
    index, ids = match_subject(query)
    sar = SubjectAccessRequest(
        reference=reference,
        subject_kind=query.kind,
        subject_index=index,
        matched_ids=[str(i) for i in ids],
        agency=agency,
        handled_by=handled_by,
        requested_at=timezone.now(),
    )
    if not ids or not holds_anything(agency, query.kind, ids):
        raise DomainError(
            f"{agency} holds nothing in Convene about this person. Check the spelling, date of birth and "
            "identifiers; if they are right, answer the request that no data is held here.",
            field="family_name",
            code="nothing_held",
        )
    sar.save()
    consult(
        handled_by,
        sar,
        f"subject access request {reference}",
        agency=agency,
        detail={"change": "sar_opened", "subject_kind": query.kind, "matches": len(ids)},
    )
    return sar


@transaction.atomic
def do_export_sar(*, sar: SubjectAccessRequest, acting_user: Any) -> Export:
    """Produce the export and audit it (one EXPORT event per case it draws on)."""
    export = build_export(sar)
    justification = f"subject access request {sar.reference}"
    case_ids: list[uuid.UUID | None] = [*sorted(export.case_categories, key=str)] or [None]
    for case_id in case_ids:
        record_event(
            Op.EXPORT,
            actor=acting_user,
            agency=sar.agency,
            obj=sar,
            case_id=case_id,
            categories=sorted(export.case_categories.get(case_id, set())) if case_id else [],
            justification=justification,
            detail={"records": len(export.records), "withheld": len(export.withheld), "sar": str(sar.pk)},
        )
    now = timezone.now()
    sar.status, sar.exported_at = SarStatus.EXPORTED, now
    sar.save(update_fields=["status", "exported_at"])
    return export
