"""Perpetrator records (nominals) used by more than one case, and the match notices a referral raises.

A referral's duplicate check, a link to an existing nominal and an edit of one all turn on these.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from agencies.models import Role
from cases.models import Case, Nominal
from core.categories import Level
from sharing.models import AgreementParty, MatchNotice, MatchNoticeStatus, SharingAgreement
from sharing.policy.actions import can_edit_case, can_share_case
from sharing.policy.cases import Access, case_access
from sharing.policy.fields import visible_fields
from sharing.policy.identity import Viewer, agency_ids, content_agencies
from sharing.policy.querysets import cases_visible_to, cases_with_category_visible_to
from sharing.policy.shares import shareable_agreements

NOMINAL_FIELDS = frozenset(Nominal.VISIBILITY)


NOMINAL_CATEGORIES = tuple(sorted({category for category, _ in Nominal.VISIBILITY.values()}))


def sees_nominal_in_full(access: Access, nominal: Nominal) -> bool:
    """Every field of the perpetrator record reaches this viewer (names, DOB, address, PNC, NHS…)."""
    return visible_fields(access, nominal) >= NOMINAL_FIELDS


def can_link_nominal(user: Viewer, nominal: Nominal) -> bool:
    """A new case may reuse an existing perpetrator record only if the user already sees that record
    in full through a case they may see now (linking would otherwise hand them what no agreement
    gave them). The queryset form, which the duplicate check uses, is ``nominals_linkable_by``."""
    for case in Case.objects.filter(nominal_id=nominal.pk, erased_at__isnull=True):
        access = case_access(user, case)
        if access is not None and sees_nominal_in_full(access, nominal):
            return True
    return False


def nominals_linkable_by(user: Viewer, at: datetime | None = None) -> QuerySet[Nominal]:
    """The perpetrator records this user sees in full through a case they may see: the only
    duplicate-check matches shown to them, and the only ones a new case may be linked to.

    The same rule as ``can_link_nominal``. Its cost does not depend on which nominals exist: the
    lookups behind it are the user's shares and break-glass rows (``cases_with_category_visible_to``),
    and the rest is one SQL query whatever it is filtered on."""
    own = content_agencies(user)
    if not own:
        return Nominal.objects.none()
    # Every subquery is correlated on the nominal (then on the case), so the database looks only at
    # the few cases using each matched nominal, never at the user's whole visible set.
    first, *others = NOMINAL_CATEGORIES
    full = cases_with_category_visible_to(user, first, Level.FULL, at).filter(nominal_id=OuterRef("pk"))
    for category in others:
        also = cases_with_category_visible_to(user, category, Level.FULL, at).filter(pk=OuterRef("pk"))
        full = full.filter(Exists(also))
    seen = cases_visible_to(user, at).filter(nominal_id=OuterRef("pk"))
    return Nominal.objects.filter(Q(Exists(seen), owner_agency_id__in=own) | Q(Exists(full)))


def nominal_steward_id(nominal: Nominal) -> int | None:
    """The agency that keeps a perpetrator record: the lead agency of the oldest live case using it."""
    return (
        Case.objects.filter(nominal_id=nominal.pk, erased_at__isnull=True)
        .order_by("created_at", "id")
        .values_list("lead_agency_id", flat=True)
        .first()
    )


def can_edit_nominal(user: Viewer, nominal: Nominal, case: Case) -> bool:
    """The lead agency of a case changes its perpetrator record only if it also leads the original
    case using it: a record two lead agencies share is never rewritten by the one that linked to it."""
    if case.nominal_id != nominal.pk or not can_edit_case(user, case):
        return False
    return case.lead_agency_id == nominal_steward_id(nominal)


def match_notice_holder_ids(referring_agency_id: int) -> dict[int, uuid.UUID]:
    """Agencies told when a referral by this agency matches a perpetrator of a case they lead and
    the referrer may not see: its fellow parties to an agreement in force, each with the agreement
    (the first by reference) that makes them partners. One query. An agency party to no agreement
    with the holder causes no notice and learns nothing."""
    mine = AgreementParty.objects.filter(agreement_id=OuterRef("agreement_id"), agency_id=referring_agency_id)
    rows = (
        AgreementParty.objects.filter(agreement__in=SharingAgreement.objects.in_force())
        .filter(Exists(mine))
        .exclude(agency_id=referring_agency_id)
        .order_by("-agreement__reference")
        .values_list("agency_id", "agreement_id")
    )
    return dict(rows)


def match_notices_visible_to(user: Viewer) -> QuerySet[MatchNotice]:
    """Match notices for the chairs of the agency that (still) leads the matched case."""
    chairs_of = agency_ids(user, [Role.CHAIR])
    if not chairs_of:
        return MatchNotice.objects.none()
    return MatchNotice.objects.filter(
        holder_agency_id__in=chairs_of,
        case__lead_agency_id=F("holder_agency_id"),
        case__erased_at__isnull=True,
    )


def match_notice_agreements(notice: MatchNotice) -> QuerySet[SharingAgreement]:
    """Agreements in force under which the holder may share the matched case with the referrer."""
    referrer = AgreementParty.objects.filter(
        agreement_id=OuterRef("pk"), agency_id=notice.referring_agency_id
    )
    return shareable_agreements(notice.case).filter(Exists(referrer))


def can_decide_match_notice(user: Viewer, notice: MatchNotice) -> bool:
    """A chair of the holder decides an open notice: share the case with the referrer, or dismiss."""
    return (
        notice.status == MatchNoticeStatus.OPEN
        and match_notices_visible_to(user).filter(pk=notice.pk).exists()
        and can_share_case(user, notice.case)
    )
