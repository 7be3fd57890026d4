"""Break-glass: who may open a case not shared with them, and who reviews that use."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from agencies.models import Role
from cases.models import Case
from sharing.models import AgreementParty, BreakGlass, SharingAgreement
from sharing.policy.cases import case_access
from sharing.policy.identity import Viewer, _is_uuid, agency_ids, content_agencies, has_role
from sharing.policy.oversight import audit_scope_agency_ids


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
    """The lead agency's chairs and auditors review break-glass use, once, and never their own."""
    if glass.reviewed_at is not None or _own_break_glass(user, glass):
        return False  # nobody reviews their own emergency access
    lead = glass.case.lead_agency_id
    return has_role(user, Role.CHAIR, lead) or has_role(user, Role.AUDITOR, lead)


def break_glass_reviewer_agencies(user: Viewer) -> frozenset[int]:
    """Lead agencies whose break-glass use this user reviews (as a chair or an auditor there)."""
    return agency_ids(user, [Role.CHAIR, Role.AUDITOR])


def break_glass_review_queue(user: Viewer) -> QuerySet[BreakGlass]:
    """Break-glass uses waiting for review by this user (lead agency chair or auditor)."""
    return break_glass_queue(user, "pending")


def break_glass_reviewed_by_my_agencies(user: Viewer) -> QuerySet[BreakGlass]:
    """Break-glass uses already reviewed, on cases led by the agencies this user reviews for."""
    return break_glass_queue(user, "reviewed")


def can_view_break_glass(user: Viewer, glass: BreakGlass) -> bool:
    return glass.user_id == user.pk or glass.case.lead_agency_id in break_glass_reviewer_agencies(user)


# --- one queue, one "not your own" rule -------------------------------------------------------------
BREAK_GLASS_QUEUE_STATES = ("pending", "reviewed", "all")


def _own_break_glass(user: Viewer, glass: BreakGlass) -> bool:
    return user.pk is not None and glass.user_id == user.pk


def break_glass_queue(user: Viewer, state: str = "pending") -> QuerySet[BreakGlass]:
    """Break-glass uses on cases led by the agencies this user reviews for (chair or auditor there):
    ``pending`` (not yet reviewed), ``reviewed``, or ``all``. The page, the API and the dashboard's
    count all read this one queue; whether a row may be reviewed is ``can_review_break_glass``."""
    if state not in BREAK_GLASS_QUEUE_STATES:
        raise ValueError(f"Unknown break-glass queue state {state!r}.")
    rows = BreakGlass.objects.filter(case__lead_agency_id__in=break_glass_reviewer_agencies(user))
    if state == "pending":
        return rows.filter(reviewed_at__isnull=True)
    if state == "reviewed":
        return rows.filter(reviewed_at__isnull=False)
    return rows


def access_break_glass_for_review(user: Viewer, pk: Any) -> BreakGlass:
    """A break-glass use the user may see as a reviewer; Http404 when it is missing, not theirs to
    see, or their own (a person's own emergency access is not theirs to review)."""
    glass = BreakGlass.objects.select_related("case").filter(pk=pk).first() if _is_uuid(pk) else None
    if glass is None or not can_view_break_glass(user, glass) or _own_break_glass(user, glass):
        raise Http404("No such break-glass access.")
    return glass


def break_glass_awaiting_audit(user: Viewer) -> QuerySet[BreakGlass]:
    """Unreviewed break-glass uses an auditor sees in their audit scope (opened by, or on a case
    led by, an agency in scope; everything for a partnership-wide auditor)."""
    scope = audit_scope_agency_ids(user)
    rows = BreakGlass.objects.filter(reviewed_at__isnull=True)
    if scope is not None:
        rows = rows.filter(Q(agency_id__in=scope) | Q(case__lead_agency_id__in=scope))
    return rows


def case_for_break_glass(user: Viewer, pk: Any) -> Case | None:
    """The case behind a break-glass request: not erased, and the user either sees it already or
    is party to an agreement in force with its lead (``break_glass_agreements``); None otherwise."""
    if not _is_uuid(pk):
        return None
    case = Case.objects.filter(pk=pk, erased_at__isnull=True).first()
    if case is None:
        return None
    if case_access(user, case) is None and not break_glass_agreements(user, case).exists():
        return None
    return case
