"""Break-glass: who may open a case not shared with them, and who reviews that use."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet

from agencies.models import Role
from cases.models import Case
from sharing.models import AgreementParty, BreakGlass, SharingAgreement
from sharing.policy.cases import case_access
from sharing.policy.identity import Viewer, agency_ids, content_agencies, has_role


def break_glass_agreements(user: Viewer, case: Case) -> QuerySet[SharingAgreement]:
    """Agreements in force to which both the user's agency and the lead agency are parties."""
    own = content_agencies(user)
    return (
        SharingAgreement.objects.in_force()
        .filter(
            Exists(AgreementParty.objects.filter(agreement_id=OuterRef("pk"), agency_id=case.lead_agency_id))
        )
        .filter(Exists(AgreementParty.objects.filter(agreement_id=OuterRef("pk"), agency_id__in=own)))
    )


def break_glass_agency_ids(user: Viewer, agreement: SharingAgreement) -> list[int]:
    """The user's content agencies that are party to the agreement (the agency they break glass as)."""
    own = content_agencies(user)
    return sorted(agreement.parties.filter(agency_id__in=own).values_list("agency_id", flat=True))


def can_break_glass(user: Viewer, case: Case) -> bool:
    """A practitioner or chair of a party agency may open a case not shared with them."""
    if case.erased_at is not None:
        return False
    return case_access(user, case) is None and break_glass_agreements(user, case).exists()


def can_review_break_glass(user: Viewer, glass: BreakGlass) -> bool:
    """The lead agency's chairs and the auditors of the lead agency review break-glass use."""
    if glass.reviewed_at is not None:
        return False
    lead = glass.case.lead_agency_id
    return has_role(user, Role.CHAIR, lead) or has_role(user, Role.AUDITOR, lead)


def break_glass_reviewer_agencies(user: Viewer) -> frozenset[int]:
    """Lead agencies whose break-glass use this user reviews (as a chair or an auditor there)."""
    return agency_ids(user, [Role.CHAIR, Role.AUDITOR])


def break_glass_review_queue(user: Viewer) -> QuerySet[BreakGlass]:
    """Break-glass uses waiting for review by this user (lead agency chair or auditor)."""
    return BreakGlass.objects.filter(
        case__lead_agency_id__in=break_glass_reviewer_agencies(user), reviewed_at__isnull=True
    )


def break_glass_reviewed_by_my_agencies(user: Viewer) -> QuerySet[BreakGlass]:
    """Break-glass uses already reviewed, on cases led by the agencies this user reviews for."""
    return BreakGlass.objects.filter(
        case__lead_agency_id__in=break_glass_reviewer_agencies(user), reviewed_at__isnull=False
    )


def can_view_break_glass(user: Viewer, glass: BreakGlass) -> bool:
    return glass.user_id == user.pk or glass.case.lead_agency_id in break_glass_reviewer_agencies(user)
