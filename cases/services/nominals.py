"""Nominals (perpetrators): validate the identity details, find duplicates, create the record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from agencies.models import Agency, User
from audit.models import Op
from audit.services import record_event
from core.errors import DomainError
from keystore.keyring import create_data_key

from ..identifiers import (
    name_dob_index,
    nhs_index,
    normalise_nhs_number,
    normalise_pnc,
    person_name_index,
    pnc_index,
)
from ..models import Nominal


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
def do_create_nominal(*, data: NominalInput, agency: Agency, acting_user: User) -> Nominal:
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
