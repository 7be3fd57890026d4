"""Opening a case with its referral, and the records added to it: victims and notes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone

from agencies.models import Agency, User
from audit.models import Op
from audit.services import record_event
from core.errors import DomainError
from core.text import require_reason
from keystore.keyring import create_data_key

from .. import choices as c
from ..identifiers import person_name_index
from ..models import Case, Nominal, Note, Referral, Victim
from .plumbing import _save_change, new_reference


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
    owner: User,
    acting_user: User,
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
    acting_user: User,
    name: str,
    relationship: str,
    contact: str | None = None,
    address: str | None = None,
    area: str | None = None,
    routines: str | None = None,
    workplace: str | None = None,
    vulnerabilities: str | None = None,
    consent: str = c.Consent.NOT_SOUGHT,
    advocate: User | None = None,
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
    _save_change(
        victim, case=case, agency=agency, acting_user=acting_user, kind="victim", categories=["C7", "C8"]
    )
    return victim


@transaction.atomic
def do_add_note(
    *, case: Case, agency: Agency, acting_user: User, body: str, category: str, basis: str = c.Basis.FACT
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
    _save_change(note, case=case, agency=agency, acting_user=acting_user, kind="note", categories=[category])
    return note
