"""Shares of one case, and the agreements under which its lead agency may share it."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet

from cases.models import Case
from sharing.models import AgreementParty, CaseShare, SharingAgreement
from sharing.policy.cases import case_access
from sharing.policy.identity import Viewer


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
