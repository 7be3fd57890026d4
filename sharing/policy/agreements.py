"""Sharing agreements: who drafts, manages, signs and sees them."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from agencies.models import Role
from sharing.models import AgreementParty, SharingAgreement
from sharing.policy.identity import Viewer, agency_ids, has_role
from sharing.policy.oversight import administered_agency_ids


def can_draft_agreement(user: Viewer) -> bool:
    """Agency admins draft agreements (in their own agency's name)."""
    return bool(agency_ids(user, [Role.AGENCY_ADMIN]))


def can_manage_agreement(user: Viewer, agreement: SharingAgreement) -> bool:
    """Agency admins of a party agency (or of the drafting agency) manage the agreement."""
    admin_of = administered_agency_ids(user)
    if not admin_of:
        return False
    if agreement.drafted_by_agency_id in admin_of:
        return True
    return agreement.parties.filter(agency_id__in=admin_of).exists()


def can_activate_agreement(user: Viewer, agreement: SharingAgreement) -> bool:
    """The drafting agency's admins activate (and reactivate) an agreement."""
    return agreement.drafted_by_agency_id in administered_agency_ids(user)


def can_suspend_agreement(user: Viewer, agreement: SharingAgreement) -> bool:
    """Any party's admin may suspend: one controller's concern stops the sharing for all."""
    return can_manage_agreement(user, agreement)


def can_terminate_agreement(user: Viewer, agreement: SharingAgreement) -> bool:
    return can_manage_agreement(user, agreement)


def agreements_visible_to(user: Viewer) -> QuerySet[SharingAgreement]:
    """Agreements the user's agencies drafted or are party to (no case content in them)."""
    mine = agency_ids(user)
    party = AgreementParty.objects.filter(agreement_id=OuterRef("pk"), agency_id__in=mine)
    return SharingAgreement.objects.filter(Q(drafted_by_agency_id__in=mine) | Exists(party))


def can_view_agreement(user: Viewer, agreement: SharingAgreement) -> bool:
    mine = agency_ids(user)
    return agreement.drafted_by_agency_id in mine or agreement.parties.filter(agency_id__in=mine).exists()


def can_sign_for(user: Viewer, party: AgreementParty) -> bool:
    """An admin of the party agency signs for it."""
    return has_role(user, Role.AGENCY_ADMIN, party.agency_id)


def parties_user_may_sign(user: Viewer, agreement: SharingAgreement) -> list[AgreementParty]:
    admin_of = administered_agency_ids(user)
    return [p for p in agreement.parties.select_related("agency") if p.agency_id in admin_of]
