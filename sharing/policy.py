"""The one place that answers "may this user do or see this?".

Every surface — REST API, HTML views, templates, WebSocket consumers, exports, admin — asks here.
Rules come in three forms (STYLE.md): per object (``can_*``, ``case_access``), as a queryset
(``*_visible_to``) and as an audience (``user_ids_who_can_view``). The forms share their rule
definitions so they cannot drift apart; tests/test_policy_parity.py proves they agree.

Forbidden looks like not-found: ``access_case`` raises Http404 for both.

Results are cached on the user object for the life of one request (``forget(user)`` clears them;
long-lived consumers call it before every re-check).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.contrib.auth.models import Permission
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from agencies.models import Agency, Membership, Role
from cases.models import Case
from core.categories import ALL_CATEGORIES, FULL_ACCESS, Level

from .models import (
    AgreementParty,
    BreakGlass,
    CaseGroupObjectPermission,
    CaseShare,
    CaseUserObjectPermission,
    SharingAgreement,
)

CONTENT_ROLES = frozenset({Role.PRACTITIONER, Role.CHAIR})
_CACHE = "_convene_policy_cache"


# --- who the user is ------------------------------------------------------------------------
def _cache(user: Any) -> dict[Any, Any]:
    cache = getattr(user, _CACHE, None)
    if cache is None:
        cache = {}
        setattr(user, _CACHE, cache)
    return cache


def forget(user: Any) -> None:
    """Drop what this module cached on the user (after a change, or before a consumer re-check)."""
    if hasattr(user, _CACHE):
        delattr(user, _CACHE)


def memberships(user: Any) -> list[Membership]:
    """The user's active memberships, with their agencies (one query, cached for the request)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    cache = _cache(user)
    if "memberships" not in cache:
        cache["memberships"] = list(Membership.objects.active().filter(user=user).select_related("agency"))
    result: list[Membership] = cache["memberships"]
    return result


def agency_ids(user: Any, roles: Iterable[str] | None = None) -> frozenset[int]:
    wanted = None if roles is None else set(roles)
    return frozenset(m.agency_id for m in memberships(user) if wanted is None or m.role in wanted)


def has_role(user: Any, role: str, agency: Agency | int | None = None) -> bool:
    agency_id = agency.pk if isinstance(agency, Agency) else agency
    return any(m.role == role and (agency_id is None or m.agency_id == agency_id) for m in memberships(user))


def primary_membership(user: Any, prefer_agency_id: int | None = None) -> Membership | None:
    """The membership a user acts under, for audit: one in the preferred agency if they hold it."""
    items = memberships(user)
    for membership in items:
        if prefer_agency_id is not None and membership.agency_id == prefer_agency_id:
            return membership
    return items[0] if items else None


def content_agencies(user: Any) -> frozenset[int]:
    """Agencies in which the user holds a role that sees case content (practitioner or chair)."""
    return agency_ids(user, CONTENT_ROLES)


# --- one case -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Access:
    """Why and how much a user sees of one case. ``levels`` maps category → Level."""

    case_id: uuid.UUID
    via: str  # "lead", "share" or "break_glass"
    agency_id: int
    role: str
    levels: dict[str, int]
    own_agency_ids: frozenset[int]
    share_ids: tuple[uuid.UUID, ...] = ()
    agreement_ids: tuple[uuid.UUID, ...] = ()
    break_glass_id: uuid.UUID | None = None
    break_glass_expires_at: datetime | None = None
    withheld_reasons: dict[str, str] = field(default_factory=dict)

    @property
    def is_lead(self) -> bool:
        return self.via == "lead"

    def level(self, category: str) -> int:
        return self.levels.get(category, Level.NONE)

    @property
    def categories(self) -> list[str]:
        return [c for c in ALL_CATEGORIES if self.levels.get(c, 0) > Level.NONE]

    @property
    def justification(self) -> str:
        if self.via == "lead":
            return "lead agency"
        if self.via == "break_glass":
            return f"break-glass {self.break_glass_id}"
        shares = ",".join(str(s) for s in self.share_ids)
        agreements = ",".join(str(a) for a in self.agreement_ids)
        return f"share {shares} under agreement {agreements}"


@lru_cache(maxsize=1)
def view_permission_id() -> int:
    return Permission.objects.get(content_type__app_label="cases", codename="view_case").pk


def _party_levels(agreement_ids: Iterable[uuid.UUID], agency_id: int) -> dict[uuid.UUID, dict[str, int]]:
    parties = AgreementParty.objects.filter(agreement_id__in=list(agreement_ids), agency_id=agency_id)
    return {p.agreement_id: {k: int(v) for k, v in (p.categories or {}).items()} for p in parties}


def case_access(user: Any, case: Case, at: datetime | None = None) -> Access | None:
    """How this user may see this case now, or None. The rule every other form mirrors."""
    if case.erased_at is not None:
        return None
    cache: dict[Any, Any] = (
        _cache(user) if user is not None and getattr(user, "is_authenticated", False) else {}
    )
    key = ("access", case.pk)
    if at is None and key in cache:
        cached: Access | None = cache[key]
        return cached
    result = _case_access(user, case, at)
    if at is None and cache is not None:
        cache[key] = result
    return result


def _case_access(user: Any, case: Case, at: datetime | None) -> Access | None:
    at = at or timezone.now()
    mine = {m.agency_id: m for m in memberships(user) if m.role in CONTENT_ROLES}
    if not mine:
        return None
    own = frozenset(mine)
    if case.lead_agency_id in mine:
        membership = mine[case.lead_agency_id]
        return Access(case.pk, "lead", membership.agency_id, membership.role, dict(FULL_ACCESS), own)
    group_ids = list(Agency.objects.filter(pk__in=own).values_list("group_id", flat=True))
    permitted_groups = set(
        CaseGroupObjectPermission.objects.filter(
            content_object_id=case.pk, group_id__in=group_ids, permission_id=view_permission_id()
        ).values_list("group_id", flat=True)
    )
    shares = list(
        CaseShare.objects.live(at)
        .filter(case_id=case.pk, agency_id__in=own, agency__group_id__in=permitted_groups)
        .select_related("agency")
    )
    if shares:
        agency_id = shares[0].agency_id
        shares = [s for s in shares if s.agency_id == agency_id]
        party = _party_levels([s.agreement_id for s in shares], agency_id)
        levels: dict[str, int] = {}
        for share in shares:
            terms = party.get(share.agreement_id, {})
            for category in share.categories:
                levels[category] = max(levels.get(category, 0), min(terms.get(category, 0), Level.FULL))
        membership = mine[agency_id]
        return Access(
            case.pk,
            "share",
            agency_id,
            membership.role,
            levels,
            own,
            share_ids=tuple(s.pk for s in shares),
            agreement_ids=tuple(sorted({s.agreement_id for s in shares})),
        )
    glass = (
        BreakGlass.objects.filter(case_id=case.pk, user=user, agency_id__in=own, expires_at__gt=at)
        .filter(
            Exists(
                CaseUserObjectPermission.objects.filter(
                    content_object_id=OuterRef("case_id"), user=user, permission_id=view_permission_id()
                )
            )
        )
        .order_by("-expires_at")
        .first()
    )
    if (
        glass is not None
        and SharingAgreement.objects.in_force(timezone.localdate(at)).filter(pk=glass.agreement_id).exists()
    ):
        terms = _party_levels([glass.agreement_id], glass.agency_id).get(glass.agreement_id, {})
        return Access(
            case.pk,
            "break_glass",
            glass.agency_id,
            mine[glass.agency_id].role,
            {k: min(v, Level.FULL) for k, v in terms.items()},
            own,
            agreement_ids=(glass.agreement_id,),
            break_glass_id=glass.pk,
            break_glass_expires_at=glass.expires_at,
        )
    return None


def can_view_case(user: Any, case: Case) -> bool:
    return case_access(user, case) is not None


def access_case(user: Any, pk: Any, queryset: QuerySet[Case] | None = None) -> tuple[Case, Access]:
    """Fetch a case the user may see, with their access; Http404 whether it is missing or forbidden."""
    try:
        case_uuid = uuid.UUID(str(pk))
    except ValueError as exc:
        raise Http404("No such case.") from exc
    qs = queryset if queryset is not None else Case.objects.select_related("nominal", "lead_agency", "owner")
    case = qs.filter(pk=case_uuid).first()
    if case is None:
        raise Http404("No such case.")
    access = case_access(user, case)
    if access is None:
        raise Http404("No such case.")
    return case, access


def can_edit_case(user: Any, case: Case) -> bool:
    """Only the lead agency's practitioners and chairs change the case record."""
    access = case_access(user, case)
    return access is not None and access.is_lead


def can_share_case(user: Any, case: Case) -> bool:
    """The case owner, or a chair of the lead agency, shares and revokes."""
    access = case_access(user, case)
    if access is None or not access.is_lead:
        return False
    return case.owner_id == user.pk or has_role(user, Role.CHAIR, case.lead_agency_id)


def can_add_note(user: Any, case: Case) -> bool:
    """Anyone who may see the case adds notes, in their own agency's name."""
    return case_access(user, case) is not None


def can_disclose_case(user: Any, case: Case) -> bool:
    return can_share_case(user, case)


def can_approve_disclosure(user: Any, case: Case) -> bool:
    access = case_access(user, case)
    return access is not None and access.role == Role.CHAIR


def can_erase_case(user: Any, case: Case) -> bool:
    return case.erased_at is None and (
        has_role(user, Role.DPO, case.lead_agency_id)
        or has_role(user, Role.AGENCY_ADMIN, case.lead_agency_id)
    )


# --- fields ---------------------------------------------------------------------------------
def record_level(access: Access, obj: Any, category: str) -> int:
    """The level a viewer has on one record: full on their own agency's records."""
    owner = getattr(obj, "owner_agency_id", None)
    if owner is not None and owner in access.own_agency_ids:
        return Level.FULL
    return access.level(category)


def visible_fields(access: Access, obj: Any) -> frozenset[str]:
    """The fields of one case record this viewer receives (from the record's VISIBILITY map)."""
    visibility: dict[str, tuple[str, int]] = getattr(obj, "VISIBILITY", {})
    shown = set()
    for name, (category, minimum) in visibility.items():
        if category == "*":
            category = getattr(obj, "category", obj.CATEGORY)
        if record_level(access, obj, category) >= minimum:
            shown.add(name)
    return frozenset(shown)


def can_see_record(access: Access, obj: Any) -> bool:
    """A record is listed if the viewer has at least summary of its category."""
    category = getattr(obj, "category", None) if "category" in getattr(obj, "__dict__", {}) else None
    return record_level(access, obj, category or obj.CATEGORY) >= Level.SUMMARY


def withheld_categories(access: Access) -> dict[str, str]:
    """Category → reason, for every category not given in full."""
    reasons = {}
    for category in ALL_CATEGORIES:
        level = access.level(category)
        if level >= Level.FULL:
            continue
        if access.via == "break_glass":
            where = "the agreement covering this break-glass access"
        else:
            where = "agreement " + ", ".join(str(a) for a in access.agreement_ids)
        if level == Level.SUMMARY:
            reasons[category] = f"Summary only: not shared in full with your agency under {where}."
        else:
            reasons[category] = f"Withheld: not shared with your agency under {where}."
    return reasons


# --- querysets ------------------------------------------------------------------------------
def _visible_q(user: Any, at: datetime) -> Q:
    own = content_agencies(user)
    if not own:
        return Q(pk__in=[])
    today = timezone.localdate(at)
    share = CaseShare.objects.live(at).filter(case_id=OuterRef("pk"), agency_id__in=own)
    grant = CaseGroupObjectPermission.objects.filter(
        content_object_id=OuterRef("pk"), group__agency__in=own, permission_id=view_permission_id()
    )
    glass = BreakGlass.objects.filter(
        case_id=OuterRef("pk"),
        user_id=user.pk,
        agency_id__in=own,
        expires_at__gt=at,
        agreement__status="active",
        agreement__starts_on__lte=today,
    ).filter(Q(agreement__ends_on__isnull=True) | Q(agreement__ends_on__gte=today))
    personal = CaseUserObjectPermission.objects.filter(
        content_object_id=OuterRef("pk"), user_id=user.pk, permission_id=view_permission_id()
    )
    return Q(lead_agency_id__in=own) | (Exists(share) & Exists(grant)) | (Exists(glass) & Exists(personal))


def cases_visible_to(user: Any, at: datetime | None = None) -> QuerySet[Case]:
    """Every case the user may see, as one SQL query (semi-joins over shares and guardian rows)."""
    at = at or timezone.now()
    return Case.objects.filter(_visible_q(user, at), erased_at__isnull=True)


def shared_with_my_agency(user: Any) -> QuerySet[Case]:
    own = content_agencies(user)
    return cases_visible_to(user).exclude(lead_agency_id__in=own)


# --- audiences ------------------------------------------------------------------------------
def user_ids_who_can_view(case: Case, at: datetime | None = None) -> set[int]:
    """Everyone who may see the case now: the WebSocket audience for its events."""
    at = at or timezone.now()
    if case.erased_at is not None:
        return set()
    share_agencies = set(
        CaseShare.objects.live(at)
        .filter(case_id=case.pk)
        .filter(
            Exists(
                CaseGroupObjectPermission.objects.filter(
                    content_object_id=case.pk,
                    group_id=OuterRef("agency__group_id"),
                    permission_id=view_permission_id(),
                )
            )
        )
        .values_list("agency_id", flat=True)
    )
    agencies = share_agencies | {case.lead_agency_id}
    users = set(
        Membership.objects.active(at)
        .filter(agency_id__in=agencies, role__in=CONTENT_ROLES)
        .values_list("user_id", flat=True)
    )
    today = timezone.localdate(at)
    glass = BreakGlass.objects.filter(
        case_id=case.pk,
        expires_at__gt=at,
        agreement__status="active",
        agreement__starts_on__lte=today,
    ).filter(Q(agreement__ends_on__isnull=True) | Q(agreement__ends_on__gte=today))
    for user_id, agency_id in glass.values_list("user_id", "agency_id"):
        if (
            Membership.objects.active(at)
            .filter(user_id=user_id, agency_id=agency_id, role__in=CONTENT_ROLES)
            .exists()
            and CaseUserObjectPermission.objects.filter(
                content_object_id=case.pk, user_id=user_id, permission_id=view_permission_id()
            ).exists()
        ):
            users.add(user_id)
    return users


# --- roles to actions -----------------------------------------------------------------------
def can_view_audit(user: Any) -> bool:
    """Auditors see the audit log (and no case content)."""
    return bool(agency_ids(user, [Role.AUDITOR]))


def audit_scope_agency_ids(user: Any) -> frozenset[int] | None:
    """Auditors see events of their own agencies' people and cases; None means every agency."""
    if getattr(user, "is_superuser", False):
        return None
    return agency_ids(user, [Role.AUDITOR])


def can_manage_memberships(user: Any, agency: Agency | int) -> bool:
    return has_role(user, Role.AGENCY_ADMIN, agency)


def administered_agency_ids(user: Any) -> frozenset[int]:
    return agency_ids(user, [Role.AGENCY_ADMIN])


def can_draft_agreement(user: Any) -> bool:
    return bool(agency_ids(user, [Role.AGENCY_ADMIN]))


def can_manage_agreement(user: Any, agreement: SharingAgreement) -> bool:
    """Agency admins of a party agency (or of the drafting agency) manage the agreement."""
    admin_of = administered_agency_ids(user)
    if agreement.drafted_by_agency_id in admin_of:
        return True
    return agreement.parties.filter(agency_id__in=admin_of).exists()


def agreements_visible_to(user: Any) -> QuerySet[SharingAgreement]:
    mine = agency_ids(user)
    return SharingAgreement.objects.filter(
        Q(drafted_by_agency_id__in=mine) | Q(parties__agency_id__in=mine)
    ).distinct()


def can_sign_for(user: Any, party: AgreementParty) -> bool:
    return has_role(user, Role.AGENCY_ADMIN, party.agency_id)


def break_glass_agreements(user: Any, case: Case) -> QuerySet[SharingAgreement]:
    """Agreements in force to which both the user's agency and the lead agency are parties."""
    own = content_agencies(user)
    return (
        SharingAgreement.objects.in_force()
        .filter(parties__agency_id=case.lead_agency_id)
        .filter(Exists(AgreementParty.objects.filter(agreement_id=OuterRef("pk"), agency_id__in=own)))
        .distinct()
    )


def can_break_glass(user: Any, case: Case) -> bool:
    return case_access(user, case) is None and break_glass_agreements(user, case).exists()


def can_review_break_glass(user: Any, glass: BreakGlass) -> bool:
    """The lead agency's chairs and the auditors of the lead agency review break-glass use."""
    lead = glass.case.lead_agency_id
    return has_role(user, Role.CHAIR, lead) or has_role(user, Role.AUDITOR, lead)
