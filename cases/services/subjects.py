"""Editing the nominal, a victim and the referral's screening on a case."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from agencies.models import Agency, User
from audit.models import Op
from core.errors import DomainError

from .. import choices as c
from ..identifiers import name_dob_index, nhs_index, person_name_index, pnc_index
from ..models import Case, Nominal, Referral, Victim
from .nominals import NominalInput, _names, validate_nominal
from .plumbing import (
    _check_version,
    _choice,
    _finish_change,
    _save_change,
    _save_changes,
    _text,
)


@transaction.atomic
def do_update_nominal(
    *,
    nominal: Nominal,
    case: Case,
    version: int | None,
    agency: Agency,
    acting_user: User,
    data: NominalInput,
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
        _finish_change(
            nominal,
            case=using,
            agency=agency,
            acting_user=acting_user,
            kind="nominal",
            op=Op.ALTER,
            fields=changed or ["names"],
        )
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
    *, victim: Victim, version: int | None, agency: Agency, acting_user: User, changes: dict[str, Any]
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
    _save_change(
        victim,
        case=victim.case,
        agency=agency,
        acting_user=acting_user,
        kind="victim",
        changes=changes,
        if_unchanged="name",
    )
    return victim


@transaction.atomic
def do_record_screening(
    *,
    referral: Referral,
    version: int | None,
    agency: Agency,
    acting_user: User,
    outcome: str,
    advice_given: str | None = None,
) -> Referral:
    """Record the screening decision on a referral (accepted, advice only, to MAPPA, declined)."""
    _check_version(referral, version, "referral")
    _choice(outcome, c.ScreeningOutcome.values, "outcome", "Choose the screening outcome.")
    if outcome == c.ScreeningOutcome.ADVICE_ONLY and not (advice_given or "").strip():
        raise DomainError("Record the advice given.", field="advice_given")
    _save_change(
        referral,
        case=referral.case,
        agency=agency,
        acting_user=acting_user,
        kind="referral",
        changes={"outcome": outcome, "advice_given": advice_given or None},
        if_unchanged="outcome",
    )
    return referral
