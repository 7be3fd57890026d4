"""Roles to actions outside case content: the audit log, operators, people and single sign-on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, Q, QuerySet

from agencies.models import Agency, Membership, Role, User
from cases.models import Case
from sharing.models import AgreementParty, BreakGlass, CaseShare, SharingAgreement
from sharing.policy.identity import Viewer, _person_id, agency_ids, has_role, is_operator

if TYPE_CHECKING:
    from audit.models import AuditEvent


def can_view_audit(user: Viewer) -> bool:
    """Auditors see the audit log (and no case content)."""
    return bool(agency_ids(user, [Role.AUDITOR]))


def audit_scope_agency_ids(user: Viewer) -> frozenset[int] | None:
    """Auditors see events of their own agencies' people and cases; None means every agency."""
    if getattr(user, "is_superuser", False):
        return None
    return agency_ids(user, [Role.AUDITOR])


def audit_events_visible_to(user: Viewer) -> QuerySet[AuditEvent]:
    """Audit events an auditor may read: by their agencies' people, or about their agencies' cases."""
    from audit.models import AuditEvent

    if not can_view_audit(user) and not getattr(user, "is_superuser", False):
        return AuditEvent.objects.none()
    scope = audit_scope_agency_ids(user)
    if scope is None:
        return AuditEvent.objects.all()
    people = Membership.objects.filter(agency_id__in=scope).values("user_id")
    cases = Case.objects.filter(lead_agency_id__in=scope).values("pk")
    return AuditEvent.objects.filter(
        Q(actor_agency_id__in=scope) | Q(actor_id__in=people) | Q(case_id__in=cases)
    )


def audit_cases_visible_to(user: User) -> QuerySet[Case]:
    """Cases an auditor may name (by reference): those their agencies lead, hold (or held) a share of,
    or opened by break-glass. Any other case id looks to the auditor exactly like one that does not
    exist."""
    scope = audit_scope_agency_ids(user)
    if scope is None:
        return Case.objects.all()
    if not scope:
        return Case.objects.none()
    shared = CaseShare.objects.filter(case_id=OuterRef("pk"), agency_id__in=scope)
    glass = BreakGlass.objects.filter(case_id=OuterRef("pk"), agency_id__in=scope)
    return Case.objects.filter(Q(lead_agency_id__in=scope) | Q(Exists(shared)) | Q(Exists(glass)))


def can_onboard_agencies(user: Viewer) -> bool:
    """Operators create and deactivate agencies and invite their first admins."""
    return is_operator(user)


def can_manage_memberships(user: Viewer, agency: Agency | int) -> bool:
    return has_role(user, Role.AGENCY_ADMIN, agency)


def administered_agency_ids(user: Viewer) -> frozenset[int]:
    return agency_ids(user, [Role.AGENCY_ADMIN])


def can_configure_sso(user: Viewer, agency: Agency | int) -> bool:
    """An agency's single sign-on (its OpenID provider) is set by its agency admins, or a superuser."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return is_operator(user) or has_role(user, Role.AGENCY_ADMIN, agency)


def provider_may_sign_in(user: Viewer, agency: Agency | int) -> bool:
    """Whether this agency's single sign-on provider may sign this person in (and link them).

    Only an active person whose every current role is in this agency, and who is neither a
    superuser nor staff. Any agency admin can add an existing person to their agency and runs their
    agency's provider; if that provider could speak for someone who also holds a role elsewhere, it
    would sign them in with all their other agencies' access. Such people sign in with their
    username and Convene's code.
    """
    if user is None or not getattr(user, "is_active", False):
        return False
    if getattr(user, "is_superuser", False) or getattr(user, "is_staff", False):
        return False
    agency_id = agency.pk if isinstance(agency, Agency) else agency
    held = Membership.objects.active().filter(user_id=_person_id(user)).values_list("agency_id", flat=True)
    return set(held) == {agency_id}


def can_view_operations(user: Viewer) -> bool:
    """The operations page (scheduled jobs, failed or late runs) is for operators only."""
    return is_operator(user)


def audit_agreements_visible_to(user: Viewer) -> QuerySet[SharingAgreement]:
    """Agreements an auditor may name: those one of their agencies is party to (every agreement for
    a partnership-wide auditor, ``audit_scope_agency_ids`` None)."""
    scope = audit_scope_agency_ids(user)
    if scope is None:
        return SharingAgreement.objects.all()
    party = AgreementParty.objects.filter(agreement_id=OuterRef("pk"), agency_id__in=scope)
    return SharingAgreement.objects.filter(Exists(party))


def memberships_administered_by(user: Viewer) -> QuerySet[Membership]:
    """Active memberships of the agencies this user administers (``can_manage_memberships``)."""
    return Membership.objects.active().filter(agency_id__in=administered_agency_ids(user))
