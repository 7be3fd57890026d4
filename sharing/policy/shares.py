"""Shares of one case, and the agreements under which its lead agency may share it."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404

from cases.models import Case
from sharing.models import AgreementParty, CaseShare, Disclosure, SharingAgreement
from sharing.policy.actions import can_view_disclosures
from sharing.policy.cases import Access, access_case, case_access
from sharing.policy.identity import Viewer, _is_uuid


def shares_visible_to(user: Viewer, case: Case) -> QuerySet[CaseShare]:
    """The lead agency sees every share of its case; a partner sees only its own agency's shares."""
    access = case_access(user, case)
    if access is None:
        return CaseShare.objects.none()
    shares = CaseShare.objects.filter(case_id=case.pk)
    if access.is_lead:
        return shares
    return shares.filter(agency_id__in=access.own_agency_ids)


def can_view_shares(user: Viewer, case: Case) -> bool:
    return case_access(user, case) is not None


def shareable_agreements(case: Case) -> QuerySet[SharingAgreement]:
    """Agreements in force to which the case's lead agency is a party."""
    lead_party = AgreementParty.objects.filter(agreement_id=OuterRef("pk"), agency_id=case.lead_agency_id)
    return SharingAgreement.objects.in_force().filter(Exists(lead_party))


def access_share(user: Viewer, pk: Any) -> tuple[CaseShare, Case, Access]:
    """A share the user may see (``shares_visible_to`` of a case they may see), with its case and
    the user's access to it; Http404 whether the share is missing or not theirs to see."""
    share = (
        CaseShare.objects.select_related("case", "agency", "agreement").filter(pk=pk).first()
        if _is_uuid(pk)
        else None
    )
    if share is None:
        raise Http404("No such share.")
    case, access = access_case(user, share.case_id)
    if not shares_visible_to(user, case).filter(pk=share.pk).exists():
        raise Http404("No such share.")
    return share, case, access


def live_shares_visible_to(user: Viewer, case: Case) -> QuerySet[CaseShare]:
    """The shares of the case the user may see (``shares_visible_to``) that give access now."""
    live = CaseShare.objects.live().filter(case_id=case.pk).values("pk")
    return shares_visible_to(user, case).filter(pk__in=live)


def disclosures_visible_to(user: Viewer, case: Case) -> QuerySet[Disclosure]:
    """The case's disclosure log, for the lead agency only (``can_view_disclosures``)."""
    if not can_view_disclosures(user, case):
        return Disclosure.objects.none()
    return Disclosure.objects.filter(case_id=case.pk)


def agreement_parties(agreements: QuerySet[SharingAgreement]) -> QuerySet[AgreementParty]:
    """The parties (and their category terms) of agreements the caller already obtained from the
    policy (``shareable_agreements``, ``agreements_visible_to``)."""
    return AgreementParty.objects.filter(agreement__in=agreements)
