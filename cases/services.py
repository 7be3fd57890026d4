"""Every change to a case record: validate, write, audit in the same transaction, broadcast on commit.

``do_*`` functions do no permission checks (the caller asked sharing.policy first); they take the
acting user and the agency the user acts for, for the audit record.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from agencies.models import Agency, User
from audit.models import Op
from audit.services import record_event
from core.errors import ConflictError, DomainError, check_version
from core.events import send_on_commit
from core.text import require_reason
from keystore.keyring import create_data_key
from notifications import services as notifications
from sharing import policy

from . import choices as c
from .identifiers import (
    name_dob_index,
    nhs_index,
    normalise_nhs_number,
    normalise_pnc,
    person_name_index,
    pnc_index,
)
from .models import (
    Action,
    ActionUpdate,
    Breach,
    Case,
    Condition,
    Nominal,
    Note,
    Order,
    OrderEvent,
    Referral,
    RiskAssessment,
    RiskManagementPlan,
    Victim,
)


def broadcast_case_changed(case: Case, kind: str, object_id: Any = None) -> None:
    """Tell the case's live audience (ids and version only) once the transaction commits."""
    payload: dict[str, Any] = {
        "type": "case.changed",
        "case_id": str(case.pk),
        "version": case.version,
        "kind": kind,
    }
    if object_id is not None:
        payload["object_id"] = str(object_id)
    send_on_commit(f"case.{case.pk}", payload)


def bump_case_version(case: Case) -> None:
    """Raise the case's version by one in the database, under the case's row lock.

    The increment happens in the database (``F("version") + 1``) after ``select_for_update`` on the
    case row, never from the in-memory object: two writers that loaded the same version each add
    one, so the 409 check sees every change. The in-memory version is then refreshed.
    """
    Case.objects.select_for_update().filter(pk=case.pk).values_list("pk", flat=True).first()
    Case.objects.filter(pk=case.pk).update(version=F("version") + 1, updated_at=timezone.now())
    case.version = Case.objects.filter(pk=case.pk).values_list("version", flat=True).get()


def _bump_case(case: Case) -> None:
    bump_case_version(case)


def new_reference() -> str:
    return f"CNV-{timezone.localdate().year}-{secrets.token_hex(3).upper()}"


# --- nominals -------------------------------------------------------------------------------
@dataclass
class NominalInput:
    given_name: str
    family_name: str
    date_of_birth: date | None = None
    aliases: tuple[tuple[str, str], ...] = ()
    ethnicity: str = ""
    address: str | None = None
    pnc_id: str | None = None
    visor_ref: str | None = None
    ndelius_crn: str | None = None
    nhs_number: str | None = None


def validate_nominal(data: NominalInput) -> NominalInput:
    if not data.given_name.strip() or not data.family_name.strip():
        raise DomainError("Enter the perpetrator's given and family names.", field="family_name")
    if data.date_of_birth is not None and data.date_of_birth > timezone.localdate():
        raise DomainError("Date of birth must be in the past.", field="date_of_birth")
    if data.pnc_id:
        data.pnc_id = normalise_pnc(data.pnc_id)
    if data.nhs_number:
        data.nhs_number = normalise_nhs_number(data.nhs_number)
    return data


def find_duplicate_nominals(data: NominalInput) -> list[Nominal]:
    """Nominals matching on PNC, NHS number, or normalised name plus date of birth (blind indexes).

    Every match, whoever may see it: for internal checks only. What a referrer is offered is
    ``duplicate_check`` (the policy's ``nominals_linkable_by``)."""
    probes = []
    if data.pnc_id:
        probes.append(("pnc_index", pnc_index(data.pnc_id)))
    if data.nhs_number:
        probes.append(("nhs_index", nhs_index(data.nhs_number)))
    compound = name_dob_index(data.given_name, data.family_name, data.date_of_birth)
    if compound:
        probes.append(("name_dob_index", compound))
    found: dict[Any, Nominal] = {}
    for column, value in probes:
        for nominal in Nominal.objects.filter(**{column: value}):
            found[nominal.pk] = nominal
    return list(found.values())


def _names(data: NominalInput) -> list[dict[str, str]]:
    names = [{"given": data.given_name.strip(), "family": data.family_name.strip(), "kind": "primary"}]
    names += [{"given": g.strip(), "family": f.strip(), "kind": "alias"} for g, f in data.aliases]
    return names


@transaction.atomic
def do_create_nominal(*, data: NominalInput, agency: Agency, acting_user: Any) -> Nominal:
    data = validate_nominal(data)
    nominal = Nominal(
        data_key_id=create_data_key("nominal"),
        owner_agency=agency,
        created_by=acting_user,
        names=_names(data),
        date_of_birth=data.date_of_birth,
        ethnicity=data.ethnicity,
        address=data.address or None,
        pnc_id=data.pnc_id or None,
        visor_ref=data.visor_ref or None,
        ndelius_crn=data.ndelius_crn or None,
        nhs_number=data.nhs_number or None,
        pnc_index=pnc_index(data.pnc_id) if data.pnc_id else None,
        nhs_index=nhs_index(data.nhs_number) if data.nhs_number else None,
        name_dob_index=name_dob_index(data.given_name, data.family_name, data.date_of_birth),
        name_index=person_name_index(f"{data.given_name} {data.family_name}"),
    )
    nominal.save()
    record_event(
        Op.COLLECT,
        actor=acting_user,
        agency=agency,
        obj=nominal,
        categories=["C1"],
        justification="new referral",
    )
    return nominal


# --- cases ----------------------------------------------------------------------------------
@dataclass
class ReferralInput:
    reason: str
    lawful_basis: str
    index_offence: str
    received_on: date
    urgency: str = c.Urgency.ROUTINE
    first_incident_on: date | None = None
    last_incident_on: date | None = None


def validate_case_fields(*, forum: str, mappa_category: int | None, mappa_level: int | None) -> None:
    if forum not in c.Forum.values:
        raise DomainError("Choose the forum: MAPPA or stalking clinic.", field="forum")
    if mappa_level is not None and mappa_level not in c.MappaLevel.values:
        raise DomainError("MAPPA level must be 1, 2 or 3.", field="mappa_level")
    if mappa_category is not None and mappa_category not in c.MappaCategory.values:
        raise DomainError("MAPPA category must be 1, 2, 3 or 4.", field="mappa_category")
    if forum == c.Forum.MAPPA and (mappa_category is None or mappa_level is None):
        raise DomainError("A MAPPA case needs its category and level.", field="mappa_level")


def validate_referral(data: ReferralInput) -> None:
    today = timezone.localdate()
    data.reason = require_reason(data.reason, field="reason", message="Give the reason for the referral.")
    data.lawful_basis = require_reason(
        data.lawful_basis, field="lawful_basis", message="Record the lawful basis for the referral."
    )
    if data.received_on > today:
        raise DomainError("The referral date cannot be in the future.", field="received_on")
    if data.urgency not in c.Urgency.values:
        raise DomainError("Choose routine, priority or urgent.", field="urgency")
    if data.first_incident_on and data.last_incident_on and data.last_incident_on < data.first_incident_on:
        raise DomainError("The last incident cannot be before the first.", field="last_incident_on")


@transaction.atomic
def do_create_case(
    *,
    nominal: Nominal,
    forum: str,
    lead_agency: Agency,
    owner: Any,
    acting_user: Any,
    referral: ReferralInput,
    mappa_category: int | None = None,
    mappa_level: int | None = None,
    next_review_on: date | None = None,
) -> Case:
    """Open a case (status referred) with its referral, under a fresh data key."""
    validate_case_fields(forum=forum, mappa_category=mappa_category, mappa_level=mappa_level)
    validate_referral(referral)
    case = Case(
        reference=new_reference(),
        nominal=nominal,
        data_key_id=create_data_key("case"),
        forum=forum,
        mappa_category=mappa_category,
        mappa_level=mappa_level,
        lead_agency=lead_agency,
        owner=owner,
        owner_agency=lead_agency,
        created_by=acting_user,
        next_review_on=next_review_on,
    )
    case.save()  # its lead's candidate row for case lists is written by a trigger (sharing.visibility)
    ref = Referral(
        case=case,
        owner_agency=lead_agency,
        created_by=acting_user,
        referring_agency=lead_agency,
        referred_by=acting_user,
        reason=referral.reason,
        lawful_basis=referral.lawful_basis,
        index_offence=referral.index_offence,
        received_on=referral.received_on,
        first_incident_on=referral.first_incident_on,
        last_incident_on=referral.last_incident_on,
        urgency=referral.urgency,
    )
    ref.save()
    record_event(
        Op.COLLECT,
        actor=acting_user,
        agency=lead_agency,
        obj=case,
        case_id=case.pk,
        categories=["C1", "C2"],
        justification=referral.lawful_basis,
        detail={"created": "case_and_referral"},
    )
    return case


@transaction.atomic
def do_add_victim(
    *,
    case: Case,
    agency: Agency,
    acting_user: Any,
    name: str,
    relationship: str,
    contact: str | None = None,
    address: str | None = None,
    area: str | None = None,
    routines: str | None = None,
    workplace: str | None = None,
    vulnerabilities: str | None = None,
    consent: str = c.Consent.NOT_SOUGHT,
    advocate: Any = None,
) -> Victim:
    if not name.strip():
        raise DomainError("Enter the victim's name.", field="name")
    if relationship not in c.Relationship.values:
        raise DomainError("Choose the relationship to the perpetrator.", field="relationship")
    if consent not in c.Consent.values:
        raise DomainError("Choose the consent-to-share status.", field="consent")
    victim = Victim(
        case=case,
        owner_agency=agency,
        created_by=acting_user,
        name=name.strip(),
        relationship=relationship,
        contact=contact or None,
        address=address or None,
        area=area or None,
        routines=routines or None,
        workplace=workplace or None,
        vulnerabilities=vulnerabilities or None,
        consent=consent,
        advocate=advocate,
        name_index=person_name_index(name, "victim.name"),
    )
    victim.save()
    _bump_case(case)
    record_event(
        Op.COLLECT, actor=acting_user, agency=agency, obj=victim, case_id=case.pk, categories=["C7", "C8"]
    )
    broadcast_case_changed(case, "victim", victim.pk)
    return victim


@transaction.atomic
def do_add_note(
    *, case: Case, agency: Agency, acting_user: Any, body: str, category: str, basis: str = c.Basis.FACT
) -> Note:
    """A note in the author's agency's name (partners add their own; they never edit others')."""
    from core.categories import Category

    if not body.strip():
        raise DomainError("Write the note.", field="body")
    if len(body) > 20000:
        raise DomainError("A note is at most 20,000 characters.", field="body")
    if category not in Category.values:
        raise DomainError("Choose the note's data category.", field="category")
    if basis not in c.Basis.values:
        raise DomainError("Say whether the note is fact or opinion.", field="basis")
    note = Note(
        case=case, owner_agency=agency, created_by=acting_user, body=body, category=category, basis=basis
    )
    note.save()
    _bump_case(case)
    record_event(
        Op.COLLECT, actor=acting_user, agency=agency, obj=note, case_id=case.pk, categories=[category]
    )
    broadcast_case_changed(case, "note", note.pk)
    return note


# --- shared plumbing for changes --------------------------------------------------------------
def _categories(obj: Any, fields: Any = None) -> list[str]:
    """The data categories a change touches: those of the fields named, or the record's own."""
    visibility: dict[str, tuple[str, int]] = getattr(obj, "VISIBILITY", {})
    found = set()
    for name in fields or ():
        category = visibility.get(name, (obj.CATEGORY, 0))[0]
        found.add(getattr(obj, "category", obj.CATEGORY) if category == "*" else category)
    return sorted(found or {obj.CATEGORY})


def last_changed_by(obj: Any) -> str:
    """Who last wrote this record, from the audit log (a username, never a value)."""
    from audit.models import AuditEvent

    event = (
        AuditEvent.objects.filter(object_type=obj._meta.label, object_id=str(obj.pk))
        .order_by("-occurred_at", "-id")
        .values_list("actor_username", flat=True)
        .first()
    )
    return event or ""


def _check_version(obj: Any, submitted: int | None, what: str) -> None:
    """Refuse an edit based on a stale version, naming who changed the record since."""
    current = type(obj).objects.filter(pk=obj.pk).values_list("version", flat=True).first()
    if current is None:
        raise DomainError(f"This {what} no longer exists.", field="version")
    if submitted is None:
        check_version(current, None, what)
    elif int(submitted) != current:
        check_version(current, submitted, what, changed_by=last_changed_by(obj))
    obj.version = current


def _save_changes(obj: Any, changes: dict[str, Any]) -> list[str]:
    """Apply changes that differ; bump the record's version; return the names changed."""
    changed = []
    for name, value in changes.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed.append(name)
    obj.version += 1
    obj.save(update_fields=[*changed, "version", "updated_at"])
    return changed


def _record(
    op: str, *, obj: Any, case: Case, agency: Agency, acting_user: Any, fields: Any = None, **detail: Any
) -> None:
    record_event(
        op,
        actor=acting_user,
        agency=agency,
        obj=obj,
        case_id=case.pk,
        categories=_categories(obj, fields),
        detail={"fields": sorted(fields)} if fields else (detail or None),
    )


def _not_future(value: date | None, field: str, what: str) -> None:
    if value is not None and value > timezone.localdate():
        raise DomainError(f"{what} cannot be in the future.", field=field)


def _choice(value: Any, choices: Any, field: str, message: str) -> None:
    if value not in choices:
        raise DomainError(message, field=field)


def _text(value: str | None, field: str, message: str, limit: int = 20000) -> str:
    if value is None or not str(value).strip():
        raise DomainError(message, field=field)
    if len(value) > limit:
        raise DomainError(f"At most {limit:,} characters.", field=field)
    return str(value).strip()


def _lock_case(case: Case) -> None:
    """Serialise writers of one case (PostgreSQL row lock; SQLite serialises writes anyway)."""
    Case.objects.select_for_update().filter(pk=case.pk).values_list("pk", flat=True).first()
    case.version = Case.objects.filter(pk=case.pk).values_list("version", flat=True).get()


# --- case header and status -----------------------------------------------------------------
CASE_HEADER_FIELDS = frozenset(
    {"forum", "mappa_category", "mappa_level", "next_review_on", "owner", "retention_review_on"}
)


@transaction.atomic
def do_update_case(
    *, case: Case, version: int | None, agency: Agency, acting_user: Any, changes: dict[str, Any]
) -> Case:
    """Change the case header (forum, MAPPA category and level, next review, owner)."""
    unknown = set(changes) - CASE_HEADER_FIELDS
    if unknown:
        raise DomainError("These fields cannot be changed here.", field=sorted(unknown)[0])
    _lock_case(case)
    _check_version(case, version, "case")
    merged = {
        "forum": changes.get("forum", case.forum),
        "mappa_category": changes.get("mappa_category", case.mappa_category),
        "mappa_level": changes.get("mappa_level", case.mappa_level),
    }
    validate_case_fields(**merged)
    owner = changes.get("owner")
    if owner is not None:
        from agencies.models import Membership

        if not Membership.objects.active().filter(user=owner, agency_id=case.lead_agency_id).exists():
            raise DomainError("The case owner must be a member of the lead agency.", field="owner")
    changed = _save_changes(case, changes)
    _record(
        Op.ALTER, obj=case, case=case, agency=agency, acting_user=acting_user, fields=changed or ["version"]
    )
    broadcast_case_changed(case, "case", case.pk)
    return case


@transaction.atomic
def do_change_case_status(
    *,
    case: Case,
    to: str,
    version: int | None,
    agency: Agency,
    acting_user: Any,
    closure_reason: str = "",
    closure_note: str | None = None,
) -> Case:
    """Move the case along referred → screening → active → closed (and reopen a closed case)."""
    _lock_case(case)
    _check_version(case, version, "case")
    if to not in c.CaseStatus.values:
        raise DomainError("Choose a status.", field="status")
    if to not in c.STATUS_TRANSITIONS[case.status]:
        allowed = ", ".join(sorted(c.CaseStatus(s).label.lower() for s in c.STATUS_TRANSITIONS[case.status]))
        raise DomainError(
            f"A {c.CaseStatus(case.status).label.lower()} case can only move to: {allowed}.", field="status"
        )
    changes: dict[str, Any] = {"status": to}
    if to == c.CaseStatus.CLOSED:
        _choice(closure_reason, c.ClosureReason.values, "closure_reason", "Give the reason for closing.")
        changes.update(
            closure_reason=closure_reason, closure_note=closure_note or None, closed_at=timezone.now()
        )
    else:
        changes.update(closure_reason="", closed_at=None)
    changed = _save_changes(case, changes)
    record_event(
        Op.ALTER,
        actor=acting_user,
        agency=agency,
        obj=case,
        case_id=case.pk,
        categories=_categories(case, changed),
        detail={"fields": sorted(changed), "status": to},
    )
    broadcast_case_changed(case, "status", case.pk)
    return case


# --- nominal, victim, referral ---------------------------------------------------------------
@transaction.atomic
def do_update_nominal(
    *, nominal: Nominal, case: Case, version: int | None, agency: Agency, acting_user: Any, data: NominalInput
) -> Nominal:
    """Replace the nominal's identity details (names, aliases, identifiers), re-indexing them.

    A nominal can be used by several cases (a link from a referral): the change is audited against
    every live case using it, so each lead agency's auditors see it, and each case's audience is
    told. Who may make it is ``policy.can_edit_nominal`` (the lead of the original case only).
    """
    _check_version(nominal, version, "perpetrator record")
    data = validate_nominal(data)
    changes = {
        "names": _names(data),
        "date_of_birth": data.date_of_birth,
        "ethnicity": data.ethnicity,
        "address": data.address or None,
        "pnc_id": data.pnc_id or None,
        "visor_ref": data.visor_ref or None,
        "ndelius_crn": data.ndelius_crn or None,
        "nhs_number": data.nhs_number or None,
        "pnc_index": pnc_index(data.pnc_id) if data.pnc_id else None,
        "nhs_index": nhs_index(data.nhs_number) if data.nhs_number else None,
        "name_dob_index": name_dob_index(data.given_name, data.family_name, data.date_of_birth),
        "name_index": person_name_index(f"{data.given_name} {data.family_name}"),
    }
    changed = [f for f in _save_changes(nominal, changes) if not f.endswith("_index")]
    users = list(Case.objects.filter(nominal_id=nominal.pk, erased_at__isnull=True).exclude(pk=case.pk))
    for using in [case, *users]:
        _bump_case(using)
        _record(
            Op.ALTER,
            obj=nominal,
            case=using,
            agency=agency,
            acting_user=acting_user,
            fields=changed or ["names"],
        )
        broadcast_case_changed(using, "nominal", nominal.pk)
    return nominal


VICTIM_FIELDS = frozenset(
    {
        "name",
        "contact",
        "address",
        "area",
        "routines",
        "workplace",
        "relationship",
        "vulnerabilities",
        "consent",
        "advocate",
    }
)


@transaction.atomic
def do_update_victim(
    *, victim: Victim, version: int | None, agency: Agency, acting_user: Any, changes: dict[str, Any]
) -> Victim:
    unknown = set(changes) - VICTIM_FIELDS
    if unknown:
        raise DomainError("These fields cannot be changed here.", field=sorted(unknown)[0])
    _check_version(victim, version, "victim record")
    if "name" in changes:
        changes["name"] = _text(changes["name"], "name", "Enter the victim's name.", 500)
        changes["name_index"] = person_name_index(changes["name"], "victim.name")
    if "relationship" in changes:
        _choice(
            changes["relationship"],
            c.Relationship.values,
            "relationship",
            "Choose the relationship to the perpetrator.",
        )
    if "consent" in changes:
        _choice(changes["consent"], c.Consent.values, "consent", "Choose the consent-to-share status.")
    for name in ("contact", "address", "area", "routines", "workplace", "vulnerabilities"):
        if name in changes:
            changes[name] = changes[name] or None
    changed = [f for f in _save_changes(victim, changes) if f != "name_index"]
    case = victim.case
    _bump_case(case)
    _record(
        Op.ALTER, obj=victim, case=case, agency=agency, acting_user=acting_user, fields=changed or ["name"]
    )
    broadcast_case_changed(case, "victim", victim.pk)
    return victim


@transaction.atomic
def do_record_screening(
    *,
    referral: Referral,
    version: int | None,
    agency: Agency,
    acting_user: Any,
    outcome: str,
    advice_given: str | None = None,
) -> Referral:
    """Record the screening decision on a referral (accepted, advice only, to MAPPA, declined)."""
    _check_version(referral, version, "referral")
    _choice(outcome, c.ScreeningOutcome.values, "outcome", "Choose the screening outcome.")
    if outcome == c.ScreeningOutcome.ADVICE_ONLY and not (advice_given or "").strip():
        raise DomainError("Record the advice given.", field="advice_given")
    changed = _save_changes(referral, {"outcome": outcome, "advice_given": advice_given or None})
    case = referral.case
    _bump_case(case)
    _record(
        Op.ALTER,
        obj=referral,
        case=case,
        agency=agency,
        acting_user=acting_user,
        fields=changed or ["outcome"],
    )
    broadcast_case_changed(case, "referral", referral.pk)
    return referral


# --- risk assessments -------------------------------------------------------------------------
SDASH_RISK = {"standard": c.RiskLevel.LOW, "medium": c.RiskLevel.MEDIUM, "high": c.RiskLevel.HIGH}
SASH_RISK = {"low": c.RiskLevel.LOW, "moderate": c.RiskLevel.MEDIUM, "high": c.RiskLevel.HIGH}
SRP_RISK = {"low": c.RiskLevel.LOW, "moderate": c.RiskLevel.MEDIUM, "high": c.RiskLevel.HIGH}
OASYS_LEVELS = tuple(c.RiskLevel.values)


@dataclass
class AssessmentInput:
    tool: str
    level: str = ""
    answers: dict[str, Any] | None = None
    srp_type: str = ""
    srp_domains: dict[str, str] | None = None
    formulation: str | None = None
    assessed_on: date | None = None
    basis: str = c.Basis.OPINION


def grade_assessment(data: AssessmentInput) -> tuple[str, str, int | None]:
    """Validate one tool's answers; return (tool level, headline risk level, S-DASH yes count)."""
    _choice(data.tool, c.Tool.values, "tool", "Choose the assessment tool.")
    answers = data.answers or {}
    if not isinstance(answers, dict):
        raise DomainError("Answers must be given question by question.", field="answers")
    if data.tool == c.Tool.SDASH:
        keys = [key for key, _ in c.SDASH_QUESTIONS]
        missing = [key for key in keys if not isinstance(answers.get(key), bool)]
        if missing:
            raise DomainError("Answer every S-DASH question yes or no.", field=f"answers.{missing[0]}")
        extra = set(answers) - set(keys) - {"notes"}
        if extra:
            raise DomainError("An answer names a question S-DASH does not have.", field="answers")
        _choice(
            data.level, c.SdashGrade.values, "level", "Give the officer's grade: standard, medium or high."
        )
        return data.level, SDASH_RISK[data.level], sum(1 for key in keys if answers[key])
    if data.tool == c.Tool.SASH:
        _choice(data.level, c.SashConcern.values, "level", "Give the SASH concern: low, moderate or high.")
        return data.level, SASH_RISK[data.level], None
    if data.tool == c.Tool.SRP:
        _choice(data.srp_type, c.SrpType.values, "srp_type", "Choose the SRP stalker type.")
        domains = data.srp_domains or {}
        for domain in c.SRP_DOMAINS:
            _choice(
                domains.get(domain),
                c.SRP_DOMAIN_LEVELS,
                f"srp_domains.{domain}",
                f"Rate the {domain.replace('_', ' ')} risk: low, moderate or high.",
            )
        if set(domains) - set(c.SRP_DOMAINS):
            raise DomainError("SRP has four risk domains only.", field="srp_domains")
        order = {level: i for i, level in enumerate(c.SRP_DOMAIN_LEVELS)}
        highest = max((domains[d] for d in c.SRP_DOMAINS), key=order.__getitem__)
        return highest, SRP_RISK[highest], None
    _choice(data.level, OASYS_LEVELS, "level", "Give the RoSH level: low, medium, high or very high.")
    return data.level, data.level, None


@transaction.atomic
def do_record_assessment(
    *, case: Case, agency: Agency, acting_user: Any, data: AssessmentInput
) -> RiskAssessment:
    """Add a completed risk tool; the case's headline risk follows the newest assessment."""
    level, risk_level, yes_count = grade_assessment(data)
    assessed_on = data.assessed_on or timezone.localdate()
    _not_future(assessed_on, "assessed_on", "The assessment date")
    _choice(data.basis, c.Basis.values, "basis", "Say whether this is fact or professional opinion.")
    _lock_case(case)
    assessment = RiskAssessment(
        case=case,
        owner_agency=agency,
        created_by=acting_user,
        tool=data.tool,
        answers=data.answers or {},
        yes_count=yes_count,
        level=level,
        risk_level=risk_level,
        srp_type=data.srp_type if data.tool == c.Tool.SRP else "",
        srp_domains=dict(data.srp_domains or {}) if data.tool == c.Tool.SRP else {},
        formulation=data.formulation or None,
        assessor=acting_user,
        assessed_on=assessed_on,
        basis=data.basis,
    )
    assessment.save()
    newest = (
        case.assessments.order_by("-assessed_on", "-created_at").values_list("risk_level", flat=True).first()
    )
    Case.objects.filter(pk=case.pk).update(risk_level=newest or "")
    case.risk_level = newest or ""
    _bump_case(case)
    _record(Op.COLLECT, obj=assessment, case=case, agency=agency, acting_user=acting_user)
    broadcast_case_changed(case, "assessment", assessment.pk)
    return assessment


# --- orders, conditions, breaches ---------------------------------------------------------------
SPO_TYPES = frozenset({c.OrderType.SPO, c.OrderType.INTERIM_SPO})
SPO_MINIMUM_DAYS = 730  # a full SPO lasts at least two years (Stalking Protection Act 2019 s5(3))
SPO_NOTIFY_DAYS = 3  # the subject notifies name and address within 3 days of service (s9)
ORDER_FIELDS = frozenset(
    {
        "order_type",
        "legal_basis",
        "court",
        "status",
        "applied_on",
        "made_on",
        "served_on",
        "starts_on",
        "ends_on",
        "until_further_order",
        "notification_met_on",
    }
)


def _years_after(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February
        return start.replace(year=start.year + years, day=28)


def validate_order(values: dict[str, Any]) -> dict[str, Any]:
    """Check an order's dates and type; fill in its notification due date. Returns the values.

    Decision: a *full* SPO with a fixed end less than two years after it starts is refused (the Act
    allows no shorter full order); an interim SPO has no minimum. The notification requirement
    (name and address within 3 days of service) applies to full and interim SPOs.
    """
    _choice(values.get("order_type"), c.OrderType.values, "order_type", "Choose the type of order.")
    _choice(values.get("status"), c.OrderStatus.values, "status", "Choose the order's status.")
    if not (values.get("legal_basis") or "").strip():
        raise DomainError("Give the order's legal basis.", field="legal_basis")
    for name, label in (
        ("applied_on", "The application date"),
        ("made_on", "The date made"),
        ("served_on", "The date served"),
    ):
        _not_future(values.get(name), name, label)
    applied, made, served = values.get("applied_on"), values.get("made_on"), values.get("served_on")
    if applied and made and made < applied:
        raise DomainError("An order cannot be made before it was applied for.", field="made_on")
    if made and served and served < made:
        raise DomainError("An order cannot be served before it was made.", field="served_on")
    starts, ends = values.get("starts_on"), values.get("ends_on")
    if values.get("until_further_order") and ends is not None:
        raise DomainError(
            "An order until further order has no end date: clear one or the other.", field="ends_on"
        )
    if starts and ends and ends < starts:
        raise DomainError("An order cannot end before it starts.", field="ends_on")
    if values["order_type"] == c.OrderType.SPO and starts and ends and ends < _years_after(starts, 2):
        raise DomainError(
            "A full Stalking Protection Order lasts at least two years or until further order.",
            field="ends_on",
        )
    if values["order_type"] in SPO_TYPES and served:
        values["notification_due_on"] = served + timedelta(days=SPO_NOTIFY_DAYS)
    else:
        values["notification_due_on"] = None
    met = values.get("notification_met_on")
    _not_future(met, "notification_met_on", "The notification date")
    if met and served and met < served:
        raise DomainError(
            "Notification cannot be met before the order was served.", field="notification_met_on"
        )
    return values


@transaction.atomic
def do_add_order(*, case: Case, agency: Agency, acting_user: Any, values: dict[str, Any]) -> Order:
    unknown = set(values) - ORDER_FIELDS
    if unknown:
        raise DomainError("Unknown order field.", field=sorted(unknown)[0])
    values = {"status": c.OrderStatus.IN_FORCE, "court": "", "until_further_order": False, **values}
    validate_order(values)
    order = Order(case=case, owner_agency=agency, created_by=acting_user, **values)
    order.save()
    _bump_case(case)
    _record(Op.COLLECT, obj=order, case=case, agency=agency, acting_user=acting_user)
    broadcast_case_changed(case, "order", order.pk)
    return order


@transaction.atomic
def do_update_order(
    *, order: Order, version: int | None, agency: Agency, acting_user: Any, changes: dict[str, Any]
) -> Order:
    unknown = set(changes) - ORDER_FIELDS
    if unknown:
        raise DomainError("Unknown order field.", field=sorted(unknown)[0])
    _check_version(order, version, "order")
    merged = {name: getattr(order, name) for name in ORDER_FIELDS} | dict(changes)
    validate_order(merged)
    changes = dict(changes, notification_due_on=merged["notification_due_on"])
    changed = _save_changes(order, changes)
    case = order.case
    _bump_case(case)
    _record(
        Op.ALTER, obj=order, case=case, agency=agency, acting_user=acting_user, fields=changed or ["status"]
    )
    broadcast_case_changed(case, "order", order.pk)
    return order


EVENT_STATUS: dict[str, str] = {
    c.OrderEventKind.VARIATION: c.OrderStatus.VARIED,
    c.OrderEventKind.RENEWAL: c.OrderStatus.IN_FORCE,
    c.OrderEventKind.DISCHARGE: c.OrderStatus.DISCHARGED,
}


@transaction.atomic
def do_add_order_event(
    *,
    order: Order,
    agency: Agency,
    acting_user: Any,
    kind: str,
    occurred_on: date,
    details: str | None = None,
    new_ends_on: date | None = None,
) -> OrderEvent:
    """Record a variation, renewal or discharge; the order's status (and end, on renewal) follows."""
    _choice(kind, c.OrderEventKind.values, "kind", "Choose variation, renewal or discharge.")
    if occurred_on is None:
        raise DomainError("Give the date.", field="occurred_on")
    _not_future(occurred_on, "occurred_on", "The date")
    if order.starts_on and occurred_on < order.starts_on:
        raise DomainError("This cannot happen before the order started.", field="occurred_on")
    if new_ends_on is not None and kind != c.OrderEventKind.RENEWAL:
        raise DomainError("Only a renewal sets a new end date.", field="new_ends_on")
    event = OrderEvent(
        order=order,
        owner_agency=agency,
        created_by=acting_user,
        kind=kind,
        occurred_on=occurred_on,
        details=details or None,
    )
    event.save()
    changes: dict[str, Any] = {"status": EVENT_STATUS[kind]}
    if new_ends_on is not None:
        if order.starts_on and new_ends_on < order.starts_on:
            raise DomainError("An order cannot end before it starts.", field="new_ends_on")
        changes.update(ends_on=new_ends_on, until_further_order=False)
    _save_changes(order, changes)
    case = order.case
    _bump_case(case)
    _record(Op.COLLECT, obj=event, case=case, agency=agency, acting_user=acting_user)
    broadcast_case_changed(case, "order", order.pk)
    return event


@transaction.atomic
def do_add_condition(
    *,
    order: Order,
    agency: Agency,
    acting_user: Any,
    kind: str,
    text: str,
    protected_persons: str | None = None,
    exclusion_zone: Any = None,
    electronic_monitoring: bool = False,
) -> Condition:
    _choice(kind, c.ConditionKind.values, "kind", "Choose prohibition or positive requirement.")
    text = _text(text, "text", "Write the condition as the order words it.", 5000)
    condition = Condition(
        order=order,
        owner_agency=agency,
        created_by=acting_user,
        kind=kind,
        text=text,
        protected_persons=protected_persons or None,
        exclusion_zone=exclusion_zone or None,
        electronic_monitoring=bool(electronic_monitoring),
    )
    condition.save()
    case = order.case
    _bump_case(case)
    fields = (
        ["text"]
        + (["exclusion_zone"] if exclusion_zone else [])
        + (["protected_persons"] if protected_persons else [])
    )
    record_event(
        Op.COLLECT,
        actor=acting_user,
        agency=agency,
        obj=condition,
        case_id=case.pk,
        categories=_categories(condition, fields),
    )
    broadcast_case_changed(case, "condition", condition.pk)
    return condition


@transaction.atomic
def do_record_breach(
    *,
    order: Order,
    agency: Agency,
    acting_user: Any,
    occurred_on: date,
    reported_by: str,
    description: str,
    action_taken: str | None = None,
    outcome: str = "",
) -> Breach:
    if occurred_on is None:
        raise DomainError("Give the date of the breach.", field="occurred_on")
    _not_future(occurred_on, "occurred_on", "The breach date")
    if order.starts_on and occurred_on < order.starts_on:
        raise DomainError("A breach cannot happen before the order started.", field="occurred_on")
    reported_by = _text(reported_by, "reported_by", "Say who reported the breach.", 200)
    description = _text(description, "description", "Describe the breach.")
    breach = Breach(
        order=order,
        owner_agency=agency,
        created_by=acting_user,
        occurred_on=occurred_on,
        reported_by=reported_by,
        description=description,
        action_taken=action_taken or None,
        outcome=(outcome or "")[:200],
    )
    breach.save()
    case = order.case
    _bump_case(case)
    _record(Op.COLLECT, obj=breach, case=case, agency=agency, acting_user=acting_user)
    broadcast_case_changed(case, "breach", breach.pk)
    return breach


# --- plan and actions ---------------------------------------------------------------------------
def validate_plan_items(items: Any) -> dict[str, list[dict[str, str]]]:
    """Items per pillar: ``{pillar: [{"text": …, "agency": …}]}``; every pillar present."""
    if not isinstance(items, dict):
        raise DomainError("Give the plan's items under each pillar.", field="items")
    unknown = set(items) - set(c.Pillar.values)
    if unknown:
        raise DomainError("The plan has four pillars only.", field="items")
    clean: dict[str, list[dict[str, str]]] = {}
    for pillar in c.Pillar.values:
        entries = items.get(pillar) or []
        if not isinstance(entries, list):
            raise DomainError("Give a list of items for each pillar.", field=f"items.{pillar}")
        clean[pillar] = []
        for entry in entries:
            if isinstance(entry, str):
                entry = {"text": entry}
            if not isinstance(entry, dict) or not str(entry.get("text", "")).strip():
                raise DomainError("Each plan item needs its text.", field=f"items.{pillar}")
            clean[pillar].append({"text": str(entry["text"]).strip(), "agency": str(entry.get("agency", ""))})
    if not any(clean.values()):
        raise DomainError("A plan needs at least one item.", field="items")
    return clean


def current_plan(case: Case) -> RiskManagementPlan | None:
    return case.plans.order_by("-number").first()


@transaction.atomic
def do_save_plan(
    *,
    case: Case,
    base_number: int | None,
    agency: Agency,
    acting_user: Any,
    items: Any,
    contingency: str | None = None,
    change_summary: str = "",
    agreed_at_meeting: Any = None,
) -> RiskManagementPlan:
    """Write plan version n+1. ``base_number`` is the version the editor started from (0 for none).

    If another version was written since, nothing is saved and ConflictError names its author, so
    two editors never overwrite each other: one succeeds, the other reloads and re-applies.
    """
    if base_number is None:
        raise DomainError("The plan version you edited is required.", field="base_number")
    clean = validate_plan_items(items)
    _lock_case(case)
    latest = case.plans.order_by("-number").select_related("created_by").first()
    current = latest.number if latest else 0
    if int(base_number) != current:
        who = latest.created_by.get_username() if latest else ""
        raise ConflictError(
            f"The plan was changed by {who} since you opened it (now version {current}). "
            "Reload to see their version, then make your change again.",
            current_version=current,
        )
    plan = RiskManagementPlan(
        case=case,
        owner_agency=agency,
        created_by=acting_user,
        number=current + 1,
        items=clean,
        contingency=contingency or None,
        change_summary=(change_summary or "")[:200],
        agreed_at_meeting=agreed_at_meeting,
    )
    try:
        with transaction.atomic():
            plan.save()
    except IntegrityError as exc:
        raise ConflictError(
            "Someone else saved the plan at the same moment. Reload to see their version.",
            current_version=current + 1,
        ) from exc
    _bump_case(case)
    _record(Op.COLLECT, obj=plan, case=case, agency=agency, acting_user=acting_user, number=plan.number)
    broadcast_case_changed(case, "plan", plan.pk)
    return plan


def _validate_action_owner(owner: Any, action_agency: Agency) -> None:
    from agencies.models import Membership

    if owner is None:
        raise DomainError("Choose who owns the action.", field="owner")
    if not Membership.objects.active().filter(user=owner, agency=action_agency).exists():
        raise DomainError("The action's owner must belong to the agency it is assigned to.", field="owner")


@transaction.atomic
def do_add_action(
    *,
    case: Case,
    agency: Agency,
    acting_user: Any,
    pillar: str,
    text: str,
    owner: Any,
    action_agency: Agency,
    due_on: date,
    meeting: Any = None,
) -> Action:
    _choice(pillar, c.Pillar.values, "pillar", "Choose the plan pillar.")
    text = _text(text, "text", "Describe the action.", 2000)
    if due_on is None:
        raise DomainError("Give the due date.", field="due_on")
    _validate_action_owner(owner, action_agency)
    action = Action(
        case=case,
        owner_agency=agency,
        created_by=acting_user,
        pillar=pillar,
        text=text,
        owner=owner,
        agency=action_agency,
        due_on=due_on,
        meeting=meeting,
    )
    action.save()
    _bump_case(case)
    _record(Op.COLLECT, obj=action, case=case, agency=agency, acting_user=acting_user)
    broadcast_case_changed(case, "action", action.pk)
    notifications.notify_action_assigned(action, acting_user)
    return action


@transaction.atomic
def do_update_action(
    *,
    action: Action,
    version: int | None,
    agency: Agency,
    acting_user: Any,
    status: str | None = None,
    due_on: date | None = None,
) -> Action:
    _check_version(action, version, "action")
    changes: dict[str, Any] = {}
    if status is not None:
        _choice(status, c.ActionStatus.values, "status", "Choose the action's status.")
        changes["status"] = status
        changes["completed_at"] = timezone.now() if status == c.ActionStatus.DONE else None
        if status == action.status:
            changes.pop("completed_at")
    if due_on is not None:
        changes["due_on"] = due_on
    if not changes:
        raise DomainError("Change the status or the due date.", field="status")
    changed = _save_changes(action, changes)
    case = action.case
    _bump_case(case)
    _record(
        Op.ALTER, obj=action, case=case, agency=agency, acting_user=acting_user, fields=changed or ["status"]
    )
    broadcast_case_changed(case, "action", action.pk)
    return action


@transaction.atomic
def do_add_action_update(*, action: Action, agency: Agency, acting_user: Any, text: str) -> ActionUpdate:
    text = _text(text, "text", "Write the update.", 5000)
    update = ActionUpdate(action=action, owner_agency=agency, created_by=acting_user, text=text)
    update.save()
    case = action.case
    _bump_case(case)
    _record(Op.COLLECT, obj=update, case=case, agency=agency, acting_user=acting_user)
    broadcast_case_changed(case, "action", action.pk)
    return update


# --- opening a case from a referral, with the duplicate check ----------------------------------
MATCH_COLUMNS = {"PNC ID": "pnc_index", "NHS number": "nhs_index", "name and date of birth": "name_dob_index"}


class DuplicateNominal(DomainError):
    """The referral's perpetrator matches existing nominals: link to one, or confirm a new one."""

    code = "duplicate_nominal"

    def __init__(self, matches: list[tuple[Nominal, list[str]]]) -> None:
        super().__init__(
            "This person may already be known: link the referral to the existing record, or confirm "
            "that it is someone else.",
            field="nominal",
        )
        self.matches = matches


@dataclass(frozen=True)
class HiddenMatch:
    """A match the referrer may not see, on a case whose lead agency is to be told (a match notice)."""

    case_id: uuid.UUID
    holder_agency_id: int
    agreement_id: uuid.UUID
    matched_on: tuple[str, ...]


@dataclass
class DuplicateCheck:
    """What the duplicate check found for one user: the matches offered to them (records they see
    in full, each with what matched) and the hidden matches whose lead agencies are told instead."""

    offered: list[tuple[Nominal, list[str]]]
    hidden: list[HiddenMatch]


def _probes(data: NominalInput) -> dict[str, str]:
    probes = {
        "PNC ID": pnc_index(data.pnc_id) if data.pnc_id else None,
        "NHS number": nhs_index(data.nhs_number) if data.nhs_number else None,
        "name and date of birth": name_dob_index(data.given_name, data.family_name, data.date_of_birth),
    }
    return {label: value for label, value in probes.items() if value}


def duplicate_check(data: NominalInput, *, user: User, referring_agency: Agency) -> DuplicateCheck:
    """Match the referral's perpetrator against the nominals of live cases (blind indexes only).

    Only records the policy lets this user see in full are offered (``nominals_linkable_by``); any
    other match reveals nothing to them. The work is the same whether anything matches: the
    policy's lookups, one query for the agencies that would be told, one query for the matches
    (with the policy's answer computed in it); only a user who is offered a match costs one more
    query, to load the records they see.
    """
    data = validate_nominal(data)
    probes = _probes(data)
    linkable = policy.nominals_linkable_by(user)
    holders = policy.match_notice_holder_ids(referring_agency.pk)
    matching = Q(pk__in=[])
    for label, value in probes.items():
        matching |= Q(**{f"nominal__{MATCH_COLUMNS[label]}": value})
    rows = list(
        Case.objects.filter(matching, erased_at__isnull=True)
        .annotate(linkable=Exists(linkable.filter(pk=OuterRef("nominal_id"))))
        .order_by("created_at", "id")
        .values_list(
            "pk",
            "nominal_id",
            "lead_agency_id",
            "linkable",
            *(f"nominal__{c}" for c in MATCH_COLUMNS.values()),
        )
    )
    bases: dict[Any, list[str]] = {}
    offered_ids: list[Any] = []
    hidden: list[HiddenMatch] = []
    for case_id, nominal_id, lead_id, may_link, *indexes in rows:
        held = dict(zip(MATCH_COLUMNS.values(), indexes, strict=True))
        matched = [label for label, value in probes.items() if held[MATCH_COLUMNS[label]] == value]
        if may_link:
            bases.setdefault(nominal_id, matched)
            if nominal_id not in offered_ids:
                offered_ids.append(nominal_id)
        elif lead_id in holders:
            hidden.append(HiddenMatch(case_id, lead_id, holders[lead_id], tuple(matched)))
    nominals = {n.pk: n for n in Nominal.objects.filter(pk__in=offered_ids)} if offered_ids else {}
    return DuplicateCheck([(nominals[pk], bases[pk]) for pk in offered_ids], hidden)


def duplicate_matches(
    data: NominalInput, *, user: User, referring_agency: Agency
) -> list[tuple[Nominal, list[str]]]:
    """The matches offered to this user, each with what matched (PNC, NHS number, name and DOB)."""
    return duplicate_check(data, user=user, referring_agency=referring_agency).offered


def _tell_holders(hidden: list[HiddenMatch], *, case: Case, agency: Agency, acting_user: User) -> None:
    """A match notice for each lead agency whose case matched and whom the referrer may not see:
    the fact of a referral, naming the referring agency, disclosed to the holder (and audited so)."""
    from sharing.models import MatchNotice

    for match in hidden:
        notice = MatchNotice.objects.create(
            case_id=match.case_id,
            holder_agency_id=match.holder_agency_id,
            referring_agency=agency,
            referral_case=case,
            matched_on=list(match.matched_on),
        )
        record_event(
            Op.DISCLOSE,
            actor=acting_user,
            agency=agency,
            obj=notice,
            case_id=match.case_id,
            categories=["C2"],
            justification=f"duplicate check: the fact of a referral by {agency} told to the lead agency",
            agreement_id=match.agreement_id,
            recipients=[f"agency:{match.holder_agency_id}"],
            detail={"referral_case": str(case.pk), "matched_on": list(match.matched_on)},
        )
        notifications.notify_match_notice(notice)


@transaction.atomic
def do_open_case(
    *,
    nominal_data: NominalInput,
    referral: ReferralInput,
    forum: str,
    lead_agency: Agency,
    acting_user: User,
    link_nominal_id: uuid.UUID | None = None,
    confirm_new_nominal: bool = False,
    mappa_category: int | None = None,
    mappa_level: int | None = None,
    next_review_on: date | None = None,
) -> Case:
    """Open a case from a referral: reuse a record the duplicate check offered, or create one.

    A link is accepted only to a nominal the duplicate check offered this user for this person (so
    one they see in full); any other id, known or not, is refused alike on ``link_nominal``. Matches
    the user may not see are told to their lead agencies as match notices, in this transaction.
    """
    validate_case_fields(forum=forum, mappa_category=mappa_category, mappa_level=mappa_level)
    validate_referral(referral)
    check = duplicate_check(nominal_data, user=acting_user, referring_agency=lead_agency)
    if link_nominal_id is not None:
        offered = {nominal.pk: nominal for nominal, _ in check.offered}
        linked = offered.get(link_nominal_id)
        if linked is not None:
            # Wait for an erasure of a case using it to commit (it holds this row), then make sure
            # a live case still uses it: the last case's erasure destroys the nominal's key.
            Nominal.objects.select_for_update().filter(pk=linked.pk).values_list("pk", flat=True).first()
            if not Case.objects.filter(nominal_id=linked.pk, erased_at__isnull=True).exists():
                linked = None
        if linked is None:
            raise DomainError(
                "Link the referral only to a record the duplicate check offered you for this person.",
                field="link_nominal",
            )
        nominal = linked
    elif check.offered and not confirm_new_nominal:
        raise DuplicateNominal(check.offered)
    else:
        nominal = do_create_nominal(data=nominal_data, agency=lead_agency, acting_user=acting_user)
    case = do_create_case(
        nominal=nominal,
        forum=forum,
        lead_agency=lead_agency,
        owner=acting_user,
        acting_user=acting_user,
        referral=referral,
        mappa_category=mappa_category,
        mappa_level=mappa_level,
        next_review_on=next_review_on,
    )
    _tell_holders(check.hidden, case=case, agency=lead_agency, acting_user=acting_user)
    return case
