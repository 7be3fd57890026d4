"""Opening a case from a referral, with the duplicate check and match notices to hidden holders."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from agencies.models import Agency, User
from audit.models import Op
from audit.services import record_event
from core.errors import DomainError
from notifications import services as notifications
from sharing import policy

from ..identifiers import name_dob_index, nhs_index, pnc_index
from ..models import Case, Nominal
from .nominals import NominalInput, do_create_nominal, validate_nominal
from .records import ReferralInput, do_create_case, validate_case_fields, validate_referral

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
