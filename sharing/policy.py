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
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import Permission
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from agencies.models import Agency, Membership, Role, User
from cases.models import Case, Nominal
from core.categories import ALL_CATEGORIES, FULL_ACCESS, AgencyType, Category, Level

from .models import (
    AgreementParty,
    AgreementStatus,
    BreakGlass,
    CaseGroupObjectPermission,
    CaseShare,
    CaseUserObjectPermission,
    CaseVisibility,
    MatchNotice,
    MatchNoticeStatus,
    SharingAgreement,
)

if TYPE_CHECKING:
    from lifecycle.models import LegalHold

CONTENT_ROLES = frozenset({Role.PRACTITIONER, Role.CHAIR})
_CACHE = "_convene_policy_cache"
VIEW_CASE_CODENAME = "view_case"

# Categories an agency type never receives, whatever an agreement or share says (DOMAIN.md §7:
# victim identity and location never go to health). Agreements cannot widen these.
NEVER_SHARED: dict[str, frozenset[str]] = {AgencyType.HEALTH: frozenset({Category.C7.value})}
NEVER_REASON: dict[str, str] = {
    Category.C7.value: "Victim identity and location are never shared with a health agency.",
}


def never_shared(agency_type: str) -> frozenset[str]:
    """Categories an agency of this type may never receive (a hard rule above any agreement)."""
    return NEVER_SHARED.get(agency_type, frozenset())


def _cap(levels: dict[str, int], agency_type: str) -> dict[str, int]:
    banned = never_shared(agency_type)
    return {
        c: min(int(v), Level.FULL)
        for c, v in levels.items()
        if c in ALL_CATEGORIES and c not in banned and int(v) > Level.NONE
    }


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
        glass = BreakGlass.objects.filter(user_id=OuterRef("user_id"), expires_at__gt=timezone.now())
        cache["memberships"] = list(
            Membership.objects.active()
            .filter(user=user)
            .select_related("agency")
            .annotate(holds_break_glass=Exists(glass))  # lets case lists skip the break-glass rule
        )
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
    agreement_refs: tuple[str, ...] = ()
    agency_type: str = ""

    @property
    def is_lead(self) -> bool:
        return self.via == "lead"

    @property
    def is_break_glass(self) -> bool:
        return self.via == "break_glass"

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
            return f"break-glass {self.break_glass_id} under agreement {','.join(self.agreement_refs)}"
        shares = ",".join(str(s) for s in self.share_ids)
        return f"share {shares} under agreement {','.join(self.agreement_refs)}"


@lru_cache(maxsize=1)
def view_permission_id() -> int:
    return Permission.objects.get(content_type__app_label="cases", codename=VIEW_CASE_CODENAME).pk


def _view_permission_q(prefix: str = "") -> Q:
    """The cases.view_case permission by its id (looked up once per process, then a literal).

    Not a join through auth_permission and django_content_type: PostgreSQL then misestimates the
    guardian rows and hashes the whole permission table for every case list (docs/benchmarks.md).
    A literal also spares every list the planning and building of a sub-select (docs/benchmarks.md).
    """
    return Q(**{f"{prefix}permission_id": view_permission_id()})


def _in_force_q(at: datetime, prefix: str = "agreement__") -> Q:
    today = timezone.localdate(at)
    return Q(**{f"{prefix}status": AgreementStatus.ACTIVE, f"{prefix}starts_on__lte": today}) & (
        Q(**{f"{prefix}ends_on__isnull": True}) | Q(**{f"{prefix}ends_on__gte": today})
    )


def _content_memberships(user: Any) -> dict[int, Membership]:
    """Agency id → the membership that sees content there (a chair's wins over a practitioner's)."""
    mine: dict[int, Membership] = {}
    for membership in memberships(user):
        if membership.role not in CONTENT_ROLES:
            continue
        current = mine.get(membership.agency_id)
        if current is None or membership.role == Role.CHAIR:
            mine[membership.agency_id] = membership
    return mine


def case_access(user: Any, case: Case, at: datetime | None = None) -> Access | None:
    """How this user may see this case now, or None. The rule every other form mirrors.

    Cached on the user for the request when ``at`` is not given.
    """
    if case.erased_at is not None:
        return None
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    cache = _cache(user)
    key = ("access", case.pk)
    if at is None and key in cache:
        cached: Access | None = cache[key]
        return cached
    result = _case_access(user, case, at or timezone.now())
    if at is None:
        cache[key] = result
    return result


def _case_access(user: Any, case: Case, at: datetime) -> Access | None:
    mine = _content_memberships(user)
    if not mine:
        return None
    own = frozenset(mine)
    if case.lead_agency_id in mine:
        membership = mine[case.lead_agency_id]
        return Access(
            case.pk,
            "lead",
            membership.agency_id,
            membership.role,
            dict(FULL_ACCESS),
            own,
            agency_type=membership.agency.agency_type,
        )
    grant = CaseGroupObjectPermission.objects.filter(
        _view_permission_q(), content_object_id=case.pk, group_id=OuterRef("agency__group_id")
    )
    shares = sorted(
        CaseShare.objects.live(at)
        .filter(case_id=case.pk, agency_id__in=own)
        .filter(Exists(grant))
        .select_related("agreement"),
        key=lambda s: (s.agency_id, str(s.pk)),
    )
    if shares:
        agency_id = shares[0].agency_id
        shares = [s for s in shares if s.agency_id == agency_id]
        membership = mine[agency_id]
        terms = _party_levels([s.agreement_id for s in shares], agency_id)
        levels: dict[str, int] = {}
        for share in shares:
            allowed = terms.get(share.agreement_id, {})
            for category in share.categories:
                levels[category] = max(levels.get(category, 0), int(allowed.get(category, 0)))
        return Access(
            case.pk,
            "share",
            agency_id,
            membership.role,
            _cap(levels, membership.agency.agency_type),
            own,
            share_ids=tuple(s.pk for s in shares),
            agreement_ids=tuple(sorted({s.agreement_id for s in shares}, key=str)),
            agreement_refs=tuple(sorted({s.agreement.reference for s in shares})),
            agency_type=membership.agency.agency_type,
        )
    glass = (
        _live_break_glass(at)
        .filter(case_id=case.pk, user_id=user.pk, agency_id__in=own)
        .select_related("agreement")
        .order_by("-expires_at")
        .first()
    )
    if glass is not None:
        membership = mine[glass.agency_id]
        glass_terms = _party_levels([glass.agreement_id], glass.agency_id).get(glass.agreement_id, {})
        return Access(
            case.pk,
            "break_glass",
            glass.agency_id,
            membership.role,
            _cap(glass_terms, membership.agency.agency_type),
            own,
            agreement_ids=(glass.agreement_id,),
            break_glass_id=glass.pk,
            break_glass_expires_at=glass.expires_at,
            agreement_refs=(glass.agreement.reference,),
            agency_type=membership.agency.agency_type,
        )
    return None


def _party_levels(agreement_ids: Iterable[uuid.UUID], agency_id: int) -> dict[uuid.UUID, dict[str, int]]:
    parties = AgreementParty.objects.filter(agreement_id__in=list(agreement_ids), agency_id=agency_id)
    return {p.agreement_id: {k: int(v) for k, v in (p.categories or {}).items()} for p in parties}


def _live_break_glass(at: datetime) -> QuerySet[BreakGlass]:
    """Break-glass rows giving access at ``at``: unexpired, under an agreement in force, with the
    personal guardian permission the service granted still held."""
    personal = CaseUserObjectPermission.objects.filter(
        _view_permission_q(), content_object_id=OuterRef("case_id"), user_id=OuterRef("user_id")
    )
    return BreakGlass.objects.filter(_in_force_q(at), expires_at__gt=at).filter(Exists(personal))


def can_view_case(user: Any, case: Case, at: datetime | None = None) -> bool:
    return case_access(user, case, at) is not None


def access_case(user: Any, pk: Any, queryset: QuerySet[Case] | None = None) -> tuple[Case, Access]:
    """Fetch a case the user may see, with their access; Http404 whether it is missing or forbidden."""
    try:
        case_uuid = uuid.UUID(str(pk))
    except ValueError as exc:
        raise Http404("No such case.") from exc
    qs = queryset if queryset is not None else Case.objects.select_related("nominal", "lead_agency", "owner")
    case = qs.filter(pk=case_uuid).first()
    # A missing id is judged by the same rule against an unsaved stand-in (it can only fail), so a
    # missing case and a forbidden one run the same queries.
    access = case_access(user, case if case is not None else Case(pk=case_uuid))
    if case is None or access is None:
        if getattr(user, "is_authenticated", False):
            # An attempt is evidence for the auditors (flagged when it follows a revoked share). It is
            # recorded whether the case exists or not, so that to the user (and to a stopwatch) a
            # forbidden case looks exactly like a missing one.
            from audit.services import record_denied

            record_denied(user, case_uuid, "access_case")
        raise Http404("No such case.")
    return case, access


# --- roles to actions on a case ---------------------------------------------------------------
def can_edit_case(user: Any, case: Case) -> bool:
    """Only the lead agency's practitioners and chairs change the case record."""
    access = case_access(user, case)
    return access is not None and access.is_lead


def can_share_case(user: Any, case: Case) -> bool:
    """The case owner, or a chair of the lead agency, shares and revokes."""
    access = case_access(user, case)
    if access is None or not access.is_lead:
        return False
    return bool(case.owner_id == user.pk or has_role(user, Role.CHAIR, case.lead_agency_id))


def can_revoke_share(user: Any, share: CaseShare) -> bool:
    return share.revoked_at is None and can_share_case(user, share.case)


def can_add_note(user: Any, case: Case) -> bool:
    """Practitioners and chairs who may see the case add notes, in their own agency's name."""
    return case_access(user, case) is not None


def note_agency_id(user: Any, case: Case) -> int | None:
    """The agency in whose name this user's note on the case is written (the agency they see it through)."""
    access = case_access(user, case)
    return None if access is None else access.agency_id


def can_chair_review(user: Any, case: Case) -> bool:
    """Chairs who may see the case run its reviews and record decisions."""
    access = case_access(user, case)
    return access is not None and has_role(user, Role.CHAIR, access.agency_id)


def can_record_decision(user: Any, case: Case) -> bool:
    return can_chair_review(user, case)


def can_disclose_case(user: Any, case: Case) -> bool:
    """The lead agency's case owner or chair records a disclosure to a third party."""
    return can_share_case(user, case)


def can_approve_disclosure(user: Any, case: Case) -> bool:
    """A chair of the lead agency approves a disclosure outside Convene."""
    access = case_access(user, case)
    return access is not None and access.is_lead and has_role(user, Role.CHAIR, case.lead_agency_id)


# --- perpetrator records (nominals) used by more than one case -------------------------------
# A referral's duplicate check, a link to an existing nominal and an edit of one all turn on these.
NOMINAL_FIELDS = frozenset(Nominal.VISIBILITY)
NOMINAL_CATEGORIES = tuple(sorted({category for category, _ in Nominal.VISIBILITY.values()}))


def sees_nominal_in_full(access: Access, nominal: Nominal) -> bool:
    """Every field of the perpetrator record reaches this viewer (names, DOB, address, PNC, NHS…)."""
    return visible_fields(access, nominal) >= NOMINAL_FIELDS


def can_link_nominal(user: Any, nominal: Nominal) -> bool:
    """A new case may reuse an existing perpetrator record only if the user already sees that record
    in full through a case they may see now (linking would otherwise hand them what no agreement
    gave them). The queryset form, which the duplicate check uses, is ``nominals_linkable_by``."""
    for case in Case.objects.filter(nominal_id=nominal.pk, erased_at__isnull=True):
        access = case_access(user, case)
        if access is not None and sees_nominal_in_full(access, nominal):
            return True
    return False


def nominals_linkable_by(user: Any, at: datetime | None = None) -> QuerySet[Nominal]:
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


def can_edit_nominal(user: Any, nominal: Nominal, case: Case) -> bool:
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


def match_notices_visible_to(user: Any) -> QuerySet[MatchNotice]:
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


def can_decide_match_notice(user: Any, notice: MatchNotice) -> bool:
    """A chair of the holder decides an open notice: share the case with the referrer, or dismiss."""
    return (
        notice.status == MatchNoticeStatus.OPEN
        and match_notices_visible_to(user).filter(pk=notice.pk).exists()
        and can_share_case(user, notice.case)
    )


def can_view_disclosures(user: Any, case: Case) -> bool:
    """The disclosure log of a case is the lead agency's record."""
    access = case_access(user, case)
    return access is not None and access.is_lead


def can_erase_case(user: Any, case: Case) -> bool:
    return case.erased_at is None and (
        has_role(user, Role.DPO, case.lead_agency_id)
        or has_role(user, Role.AGENCY_ADMIN, case.lead_agency_id)
    )


# Information lifecycle (retention review, erasure, legal holds, subject access): lifecycle/.
def lifecycle_agency_ids(user: Any) -> frozenset[int]:
    """Agencies whose retention, holds and erasures this user manages (DPOs and agency admins)."""
    return agency_ids(user, [Role.DPO, Role.AGENCY_ADMIN])


def can_manage_retention(user: Any, agency: Agency | int) -> bool:
    """Review, retain and erase what the agency controls: its DPO or agency admin."""
    return has_role(user, Role.DPO, agency) or has_role(user, Role.AGENCY_ADMIN, agency)


def can_handle_sar(user: Any, agency: Agency | int) -> bool:
    """Subject access requests are answered by the agency's data-protection officer."""
    return has_role(user, Role.DPO, agency)


def can_set_legal_hold(user: Any, case: Case) -> bool:
    """DPOs and admins of the lead agency, or of an agency the case is shared with (e.g. the CPS)."""
    mine = lifecycle_agency_ids(user)
    if case.erased_at is not None or not mine:
        return False
    if case.lead_agency_id in mine:
        return True
    return CaseShare.objects.filter(case_id=case.pk, agency_id__in=mine, revoked_at__isnull=True).exists()


def legal_holds_visible_to(user: User) -> QuerySet[LegalHold]:
    """Holds a DPO or agency admin sees: those their agency placed, and those on cases it leads."""
    from lifecycle.models import LegalHold

    mine = lifecycle_agency_ids(user)
    if not mine:
        return LegalHold.objects.none()
    return LegalHold.objects.filter(Q(agency_id__in=mine) | Q(case__lead_agency_id__in=mine))


def legal_hold_lifting_agency_id(user: User, hold: LegalHold) -> int | None:
    """The agency on whose behalf ``user`` may lift ``hold``, or None (docs/security.md, legal holds).

    The placing agency's DPO lifts its own hold; the lead agency's DPO may lift another agency's hold
    on its case (the service then records the override and the reason). Nobody else: not the agency
    admins, not the other agencies the case is shared with.
    """
    if has_role(user, Role.DPO, hold.agency_id):
        return hold.agency_id
    if has_role(user, Role.DPO, hold.case.lead_agency_id):
        return hold.case.lead_agency_id
    return None


def can_lift_legal_hold(user: User, hold: LegalHold) -> bool:
    return legal_hold_lifting_agency_id(user, hold) is not None


# --- fields ---------------------------------------------------------------------------------
def _record_category(obj: Any) -> str:
    """A record's category: its own ``category`` field where it has one (notes), else its class's."""
    own = obj.__dict__.get("category") if isinstance(getattr(obj, "__dict__", None), dict) else None
    if isinstance(own, str) and own in ALL_CATEGORIES:
        return own
    return str(obj.CATEGORY)


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
            category = _record_category(obj)
        if record_level(access, obj, category) >= minimum:
            shown.add(name)
    return frozenset(shown)


def can_see_record(access: Access, obj: Any) -> bool:
    """A record is listed if the viewer has at least summary of its category."""
    return record_level(access, obj, _record_category(obj)) >= Level.SUMMARY


def withheld_reason(access: Access, category: str) -> str | None:
    """Why this viewer does not get all of a category (None when they get it in full)."""
    level = access.level(category)
    if level >= Level.FULL:
        return None
    if category in never_shared(access.agency_type):
        return NEVER_REASON.get(category, "Never shared with your agency.")
    refs = ", ".join(access.agreement_refs) or "no agreement"
    where = f"agreement {refs}"
    if access.via == "break_glass":
        where += " (break-glass access)"
    if level == Level.SUMMARY:
        return f"Summary only: not shared in full with your agency under {where}."
    return f"Not shared with your agency under {where}."


def withheld_categories(access: Access) -> dict[str, str]:
    """Category → reason, for every category not given in full."""
    reasons = {}
    for category in ALL_CATEGORIES:
        reason = withheld_reason(access, category)
        if reason is not None:
            reasons[category] = reason
    return reasons


# --- querysets ------------------------------------------------------------------------------
# The order of every case list, newest first: ``listed_at`` is what ``cases_visible_to`` annotates.
LIST_ORDER = ("-listed_at", "-id")


def _visible_q(user: Any, at: datetime | None) -> Q:
    """The exact rule, as SQL: lead, or a live share with its guardian grant, or live break-glass.

    ``at=None`` means now; then the break-glass arm is left out for a user whose memberships lookup
    found no live break-glass (``memberships`` notes it; ``do_break_glass`` forgets the cache)."""
    mine = _content_memberships(user)
    if not mine:
        return Q(pk__in=[])
    own = frozenset(mine)
    when = at or timezone.now()
    rule = Q(lead_agency_id__in=own)
    for agency_id, membership in sorted(mine.items()):  # the grant must be the receiving agency's own
        grant = CaseGroupObjectPermission.objects.filter(
            _view_permission_q(), content_object_id=OuterRef("case_id"), group_id=membership.agency.group_id
        )
        share = CaseShare.objects.live(when).filter(case_id=OuterRef("pk"), agency_id=agency_id)
        rule |= Q(Exists(share.filter(Exists(grant))))
    if at is not None or _may_have_break_glass(user):
        glass = _live_break_glass(when).filter(case_id=OuterRef("pk"), user_id=user.pk, agency_id__in=own)
        rule |= Q(Exists(glass))
    return rule


def _may_have_break_glass(user: Any) -> bool:
    """Whether the memberships lookup saw an unexpired break-glass row of this user's."""
    return any(getattr(m, "holds_break_glass", True) for m in memberships(user))


def cases_visible_to(user: Any, at: datetime | None = None) -> QuerySet[Case]:
    """Every case the user may see, as one SQL query, annotated ``listed_at`` for ``LIST_ORDER``.

    The exact rule is ``_visible_q``; the candidate rows (``CaseVisibility``) only narrow where it is
    tested. For a member of one agency the candidates are joined and ``listed_at`` is their copy of
    the case's created_at, so a list in ``LIST_ORDER`` reads that agency's index range newest first
    and stops after a page (docs/benchmarks.md); a member of several agencies gets a semi-join (no
    duplicate rows) and ``listed_at`` is the case's own created_at.
    """
    own = content_agencies(user)
    visible = Case.objects.filter(_visible_q(user, at), erased_at__isnull=True)
    if len(own) == 1:
        (agency_id,) = own
        return visible.filter(visibility__agency_id=agency_id).annotate(
            listed_at=F("visibility__case_created_at")
        )
    candidates = CaseVisibility.objects.filter(case_id=OuterRef("pk"), agency_id__in=own)
    return visible.filter(Exists(candidates)).annotate(listed_at=F("created_at"))


def shared_with_my_agency(user: Any) -> QuerySet[Case]:
    own = content_agencies(user)
    return cases_visible_to(user).exclude(lead_agency_id__in=own)


def cases_with_category_visible_to(
    user: Any, category: str, minimum: int = Level.SUMMARY, at: datetime | None = None
) -> QuerySet[Case]:
    """Visible cases where the user's access gives at least ``minimum`` of ``category`` — the queryset
    form of ``case_access(user, case).level(category) >= minimum`` (for dashboards' aggregates, e.g.
    actions are C5). Constant queries: the visible cases' query plus up to four small lookups."""
    mine = _content_memberships(user)
    visible = cases_visible_to(user, at)
    at = at or timezone.now()
    if not mine:
        return visible
    own = frozenset(mine)
    grant = CaseGroupObjectPermission.objects.filter(
        _view_permission_q(), content_object_id=OuterRef("case_id"), group_id=OuterRef("agency__group_id")
    )
    shares = (
        CaseShare.objects.live(at)
        .filter(agency_id__in=own)
        .exclude(case__lead_agency_id__in=own)
        .filter(Exists(grant))
        .values_list("case_id", "agency_id", "agreement_id", "categories")
    )
    by_case: dict[Any, list[tuple[int, Any, list[str]]]] = {}
    for case_id, agency_id, agreement_id, categories in shares:
        by_case.setdefault(case_id, []).append((agency_id, agreement_id, list(categories or [])))
    glasses = list(
        _live_break_glass(at)
        .filter(user_id=user.pk, agency_id__in=own)
        .exclude(case__lead_agency_id__in=own)
        .order_by("case_id", "-expires_at")
        .values_list("case_id", "agency_id", "agreement_id")
    )
    agreement_ids = {a for rows in by_case.values() for _, a, _ in rows} | {a for _, _, a in glasses}
    terms: dict[tuple[Any, int], dict[str, int]] = {
        (p.agreement_id, p.agency_id): {k: int(v) for k, v in (p.categories or {}).items()}
        for p in AgreementParty.objects.filter(agreement_id__in=agreement_ids, agency_id__in=own)
    }
    allowed: set[Any] = set()
    for case_id, rows in by_case.items():
        agency_id = min(r[0] for r in rows)  # the agency case_access chooses
        level = 0
        for share_agency, agreement_id, categories in rows:
            if share_agency == agency_id and category in categories:
                level = max(level, terms.get((agreement_id, agency_id), {}).get(category, 0))
        capped = _cap({category: level}, mine[agency_id].agency.agency_type).get(category, 0)
        if capped >= minimum:
            allowed.add(case_id)
    seen_glass: set[Any] = set()
    for case_id, agency_id, agreement_id in glasses:
        if case_id in by_case or case_id in seen_glass:
            continue
        seen_glass.add(case_id)
        level = terms.get((agreement_id, agency_id), {}).get(category, 0)
        if _cap({category: level}, mine[agency_id].agency.agency_type).get(category, 0) >= minimum:
            allowed.add(case_id)
    return visible.filter(Q(lead_agency_id__in=own) | Q(pk__in=allowed))


# --- audiences ------------------------------------------------------------------------------
def user_ids_who_can_view(case: Case, at: datetime | None = None) -> set[int]:
    """Everyone who may see the case now: the WebSocket audience for its events (one query)."""
    at = at or timezone.now()
    if case.erased_at is not None:
        return set()
    grant = CaseGroupObjectPermission.objects.filter(
        _view_permission_q(), content_object_id=case.pk, group_id=OuterRef("agency__group_id")
    )
    share = (
        CaseShare.objects.live(at)
        .filter(case_id=case.pk, agency_id=OuterRef("agency_id"))
        .filter(Exists(grant))
    )
    glass = _live_break_glass(at).filter(
        case_id=case.pk, user_id=OuterRef("user_id"), agency_id=OuterRef("agency_id")
    )
    rows = (
        Membership.objects.active(at)
        .filter(role__in=CONTENT_ROLES)
        .filter(Q(agency_id=case.lead_agency_id) | Exists(share) | Exists(glass))
        .values_list("user_id", flat=True)
    )
    return set(rows)


# --- roles to actions: audit, people, agreements ----------------------------------------------
def can_view_audit(user: Any) -> bool:
    """Auditors see the audit log (and no case content)."""
    return bool(agency_ids(user, [Role.AUDITOR]))


def audit_scope_agency_ids(user: Any) -> frozenset[int] | None:
    """Auditors see events of their own agencies' people and cases; None means every agency."""
    if getattr(user, "is_superuser", False):
        return None
    return agency_ids(user, [Role.AUDITOR])


def audit_events_visible_to(user: Any) -> QuerySet[Any]:
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


def is_operator(user: Any) -> bool:
    """Operators run the service itself: active superusers, signed in."""
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", False)
        and getattr(user, "is_superuser", False)
    )


def can_onboard_agencies(user: Any) -> bool:
    """Operators create and deactivate agencies and invite their first admins."""
    return is_operator(user)


def can_manage_memberships(user: Any, agency: Agency | int) -> bool:
    return has_role(user, Role.AGENCY_ADMIN, agency)


def administered_agency_ids(user: Any) -> frozenset[int]:
    return agency_ids(user, [Role.AGENCY_ADMIN])


def can_configure_sso(user: Any, agency: Agency | int) -> bool:
    """An agency's single sign-on (its OpenID provider) is set by its agency admins, or a superuser."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return is_operator(user) or has_role(user, Role.AGENCY_ADMIN, agency)


def provider_may_sign_in(user: Any, agency: Agency | int) -> bool:
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
    held = set(Membership.objects.active().filter(user_id=user.pk).values_list("agency_id", flat=True))
    return held == {agency_id}


def can_draft_agreement(user: Any) -> bool:
    """Agency admins draft agreements (in their own agency's name)."""
    return bool(agency_ids(user, [Role.AGENCY_ADMIN]))


def can_manage_agreement(user: Any, agreement: SharingAgreement) -> bool:
    """Agency admins of a party agency (or of the drafting agency) manage the agreement."""
    admin_of = administered_agency_ids(user)
    if not admin_of:
        return False
    if agreement.drafted_by_agency_id in admin_of:
        return True
    return agreement.parties.filter(agency_id__in=admin_of).exists()


def can_activate_agreement(user: Any, agreement: SharingAgreement) -> bool:
    """The drafting agency's admins activate (and reactivate) an agreement."""
    return agreement.drafted_by_agency_id in administered_agency_ids(user)


def can_suspend_agreement(user: Any, agreement: SharingAgreement) -> bool:
    """Any party's admin may suspend: one controller's concern stops the sharing for all."""
    return can_manage_agreement(user, agreement)


def can_terminate_agreement(user: Any, agreement: SharingAgreement) -> bool:
    return can_manage_agreement(user, agreement)


def agreements_visible_to(user: Any) -> QuerySet[SharingAgreement]:
    """Agreements the user's agencies drafted or are party to (no case content in them)."""
    mine = agency_ids(user)
    party = AgreementParty.objects.filter(agreement_id=OuterRef("pk"), agency_id__in=mine)
    return SharingAgreement.objects.filter(Q(drafted_by_agency_id__in=mine) | Exists(party))


def can_view_agreement(user: Any, agreement: SharingAgreement) -> bool:
    mine = agency_ids(user)
    return agreement.drafted_by_agency_id in mine or agreement.parties.filter(agency_id__in=mine).exists()


def can_sign_for(user: Any, party: AgreementParty) -> bool:
    """An admin of the party agency signs for it."""
    return has_role(user, Role.AGENCY_ADMIN, party.agency_id)


def parties_user_may_sign(user: Any, agreement: SharingAgreement) -> list[AgreementParty]:
    admin_of = administered_agency_ids(user)
    return [p for p in agreement.parties.select_related("agency") if p.agency_id in admin_of]


# --- break-glass ------------------------------------------------------------------------------
def break_glass_agreements(user: Any, case: Case) -> QuerySet[SharingAgreement]:
    """Agreements in force to which both the user's agency and the lead agency are parties."""
    own = content_agencies(user)
    return (
        SharingAgreement.objects.in_force()
        .filter(
            Exists(AgreementParty.objects.filter(agreement_id=OuterRef("pk"), agency_id=case.lead_agency_id))
        )
        .filter(Exists(AgreementParty.objects.filter(agreement_id=OuterRef("pk"), agency_id__in=own)))
    )


def break_glass_agency_ids(user: Any, agreement: SharingAgreement) -> list[int]:
    """The user's content agencies that are party to the agreement (the agency they break glass as)."""
    own = content_agencies(user)
    return sorted(agreement.parties.filter(agency_id__in=own).values_list("agency_id", flat=True))


def can_break_glass(user: Any, case: Case) -> bool:
    """A practitioner or chair of a party agency may open a case not shared with them."""
    if case.erased_at is not None:
        return False
    return case_access(user, case) is None and break_glass_agreements(user, case).exists()


def can_review_break_glass(user: Any, glass: BreakGlass) -> bool:
    """The lead agency's chairs and auditors review break-glass use, once, and never their own."""
    if glass.reviewed_at is not None or _own_break_glass(user, glass):
        return False  # nobody reviews their own emergency access
    lead = glass.case.lead_agency_id
    return has_role(user, Role.CHAIR, lead) or has_role(user, Role.AUDITOR, lead)


def break_glass_reviewer_agencies(user: Any) -> frozenset[int]:
    """Lead agencies whose break-glass use this user reviews (as a chair or an auditor there)."""
    return agency_ids(user, [Role.CHAIR, Role.AUDITOR])


def break_glass_review_queue(user: Any) -> QuerySet[BreakGlass]:
    """Break-glass uses waiting for review by this user (lead agency chair or auditor)."""
    return break_glass_queue(user, "pending")


def break_glass_reviewed_by_my_agencies(user: Any) -> QuerySet[BreakGlass]:
    """Break-glass uses already reviewed, on cases led by the agencies this user reviews for."""
    return break_glass_queue(user, "reviewed")


def can_view_break_glass(user: Any, glass: BreakGlass) -> bool:
    return glass.user_id == user.pk or glass.case.lead_agency_id in break_glass_reviewer_agencies(user)


def meeting_chair_memberships(user: Any) -> list[Membership]:
    """The memberships in which this user may schedule and chair case reviews."""
    return [m for m in memberships(user) if m.role == Role.CHAIR]


# --- shares and disclosures of one case --------------------------------------------------------
def shares_visible_to(user: Any, case: Case) -> QuerySet[CaseShare]:
    """The lead agency sees every share of its case; a partner sees only its own agency's shares."""
    access = case_access(user, case)
    if access is None:
        return CaseShare.objects.none()
    shares = CaseShare.objects.filter(case_id=case.pk)
    if access.is_lead:
        return shares
    return shares.filter(agency_id__in=access.own_agency_ids)


def can_view_shares(user: Any, case: Case) -> bool:
    return case_access(user, case) is not None


def shareable_agreements(case: Case) -> QuerySet[SharingAgreement]:
    """Agreements in force to which the case's lead agency is a party."""
    lead_party = AgreementParty.objects.filter(agreement_id=OuterRef("pk"), agency_id=case.lead_agency_id)
    return SharingAgreement.objects.in_force().filter(Exists(lead_party))


# --- meetings (case reviews) ----------------------------------------------------------------
@dataclass(frozen=True)
class ItemView:
    """What one attendee receives of one agenda item.

    ``mode``: "unacknowledged" (confidentiality statement not yet acknowledged), "excluded" (the
    attendee's agency is excluded from this item), "not_shared" (the case is not shared with them),
    "summary" (a third party: the executive summary only) or "minutes" (per ``access`` levels).
    """

    mode: str
    access: Access | None = None

    @property
    def sees_content(self) -> bool:
        return self.mode in ("minutes", "summary")


def meeting_attendee(user: Any, meeting: Any) -> Any:
    """The user's own attendee row for this meeting (None if not invited by name or no membership)."""
    if not memberships(user):
        return None
    cache = _cache(user)
    key = ("attendee", meeting.pk)
    if key not in cache:
        cache[key] = meeting.attendees.filter(user_id=user.pk).select_related("agency").first()
    return cache[key]


def can_view_meeting(user: Any, meeting: Any) -> bool:
    """Named attendees (and the chair) with an active membership in the agency they attend for."""
    attendee = meeting_attendee(user, meeting)
    return attendee is not None and attendee.agency_id in agency_ids(user)


def can_chair_meeting(user: Any, meeting: Any) -> bool:
    return meeting.chair_id == getattr(user, "pk", None) and has_role(
        user, Role.CHAIR, meeting.chair_agency_id
    )


def meetings_visible_to(user: Any) -> QuerySet[Any]:
    """Meetings the user attends by name, for an agency they are an active member of (one query)."""
    from meetings.models import Attendee, Meeting

    mine = agency_ids(user)
    if not mine:
        return Meeting.objects.none()
    attends = Attendee.objects.filter(meeting_id=OuterRef("pk"), user_id=user.pk, agency_id__in=mine)
    return Meeting.objects.filter(Exists(attends))


def agenda_item_view(user: Any, meeting: Any, item: Any) -> ItemView | None:
    """What this user sees of one agenda item; None if they may not see the meeting at all."""
    if not can_view_meeting(user, meeting):
        return None
    attendee = meeting_attendee(user, meeting)
    if attendee.acknowledged_confidentiality_at is None:
        return ItemView("unacknowledged")
    if attendee.agency_id in {a.pk for a in item.excluded_agencies.all()}:
        return ItemView("excluded")
    if item.case.erased_at is not None:
        return ItemView("not_shared")  # the case key is destroyed: nothing of it can be shown
    access = case_access(user, item.case)
    if attendee.role == "third_party":
        return ItemView("summary", access)
    if access is None:
        return ItemView("not_shared")
    return ItemView("minutes", access)


# A room event about an item names the item (every attendee's room lists every item) and its case;
# the case id reaches only attendees who see the item's content.
ITEM_CONTENT_KEYS = frozenset({"case_id"})


def room_event(event: dict[str, Any], *, sees_content: bool, meeting_wide: bool) -> dict[str, Any] | None:
    """What one attendee receives of a room event about an agenda item; None: nothing at all.

    ``sees_content`` is ``agenda_item_view(...).sees_content`` for that attendee and item (False if
    the item is gone). An item event (minutes, a decision) reaches only attendees who see the item's
    content; a meeting-wide event (the room moved to the item, the agenda changed) reaches every
    attendee, without the case id for those who do not.
    """
    if sees_content:
        return event
    if not meeting_wide:
        return None
    return {key: value for key, value in event.items() if key not in ITEM_CONTENT_KEYS}


def agenda_items_visible_to(user: Any, meeting: Any) -> list[tuple[Any, ItemView]]:
    """Every agenda item with what this user sees of it ([] if they may not see the meeting)."""
    if not can_view_meeting(user, meeting):
        return []
    items = meeting.items.select_related("case").prefetch_related("excluded_agencies")
    result = []
    for item in items:
        view = agenda_item_view(user, meeting, item)
        if view is not None:
            result.append((item, view))
    return result


def minute_fields(view: ItemView, obj: Any) -> frozenset[str]:
    """The fields of a minutes record (minutes, decision, dissent, addendum) this attendee receives."""
    if view.mode == "summary":
        return frozenset({"executive_summary"}) & frozenset(getattr(obj, "VISIBILITY", {}))
    if view.mode != "minutes" or view.access is None:
        return frozenset()
    return visible_fields(view.access, obj)


# --- notifications (notifications/) -------------------------------------------------------------
# Who receives which notice, and what following one may open. Audiences are (user id, agency id)
# pairs: the agency is the one the person receives the notice for. Each audience is computed from
# the rules above, so a notice never tells anyone of something they could not already see.
Audience = set[tuple[int, int]]


def _members(agency_ids_: Iterable[int], roles: Iterable[str]) -> Audience:
    rows = (
        Membership.objects.active()
        .filter(agency_id__in=list(agency_ids_), role__in=list(roles), user__is_active=True)
        .values_list("user_id", "agency_id")
    )
    return set(rows)


def case_shared_audience(share: CaseShare) -> Audience:
    """The receiving agency's practitioners and chairs who may now see the case."""
    viewers = user_ids_who_can_view(share.case)
    return {(u, a) for u, a in _members([share.agency_id], CONTENT_ROLES) if u in viewers}


def share_revoked_audience(share: CaseShare) -> Audience:
    """The agency that lost the share (told without the case's reference: they may no longer see it)."""
    return _members([share.agency_id], CONTENT_ROLES)


def case_viewers_audience(case: Case, user_ids: Iterable[int]) -> Audience:
    """Those of ``user_ids`` who may see the case now, with the agency they see it through."""
    viewers = user_ids_who_can_view(case) & set(user_ids)
    if not viewers:
        return set()
    shared = set(CaseShare.objects.live().filter(case_id=case.pk).values_list("agency_id", flat=True))
    agencies = {case.lead_agency_id, *shared}
    pairs = _members(agencies, CONTENT_ROLES)
    best: dict[int, int] = {}
    for user_id, agency_id in sorted(pairs, key=lambda p: (p[1] != case.lead_agency_id, p[1])):
        if user_id in viewers:
            best.setdefault(user_id, agency_id)
    return set(best.items())


def meeting_audience(
    meeting: Any, agency_id: int | None = None, user_ids: Iterable[int] | None = None
) -> Audience:
    """Named attendees who may open the meeting (optionally of one agency, or only these people)."""
    rows = meeting.attendees.filter(user__isnull=False)
    if agency_id is not None:
        rows = rows.filter(agency_id=agency_id)
    if user_ids is not None:
        rows = rows.filter(user_id__in=list(user_ids))
    active = set(
        Membership.objects.active()
        .values_list("user_id", "agency_id")
        .filter(user_id__in=rows.values("user_id"))
    )
    return {(u, a) for u, a in rows.values_list("user_id", "agency_id") if (u, a) in active}


def break_glass_audience(glass: BreakGlass) -> Audience:
    """The lead agency's chairs and auditors, who review break-glass use (can_review_break_glass)."""
    lead = Case.objects.filter(pk=glass.case_id).values_list("lead_agency_id", flat=True).get()
    return {(u, a) for u, a in _members([lead], [Role.CHAIR, Role.AUDITOR]) if u != glass.user_id}


def agreement_audience(agreement: SharingAgreement) -> Audience:
    """The agency admins of every party agency and of the drafting agency (can_manage_agreement)."""
    parties = set(agreement.parties.values_list("agency_id", flat=True)) | {agreement.drafted_by_agency_id}
    return _members(parties, [Role.AGENCY_ADMIN])


def dpo_audience(agency_ids_: Iterable[int]) -> Audience:
    """The data-protection officers of these agencies (retention, holds, subject access)."""
    return _members(agency_ids_, [Role.DPO])


def legal_hold_audience(case: Case) -> Audience:
    """DPOs of the lead agency and of every agency the case is shared with (can_set_legal_hold)."""
    shared = set(CaseShare.objects.live().filter(case_id=case.pk).values_list("agency_id", flat=True))
    return dpo_audience({case.lead_agency_id, *shared})


def match_notice_audience(notice: MatchNotice) -> Audience:
    """The chairs of the agency leading the matched case, who decide the notice (match_notices_visible_to)."""
    return _members([notice.holder_agency_id], [Role.CHAIR])


def notifications_visible_to(user: Any) -> QuerySet[Any]:
    """A person's own notifications, for the agencies they still work for (nobody reads another's;
    a membership that ended takes its notices with it)."""
    from notifications.models import Notification

    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Notification.objects.none()
    return Notification.objects.filter(recipient_id=user.pk).filter(
        Q(agency__isnull=True) | Q(agency_id__in=agency_ids(user))
    )


def notification_target(user: Any, notification: Any) -> str | None:
    """Where following the notification leads, asked again now; None if the user may not open it."""
    from django.urls import reverse

    from notifications.models import About

    about, pk = notification.about, notification.about_id
    if about == About.CASE:
        case = Case.objects.filter(pk=pk).first()
        return reverse("cases:detail", args=[case.pk]) if case and can_view_case(user, case) else None
    if about == About.MEETING:
        from meetings.models import Meeting

        meeting = Meeting.objects.filter(pk=pk).first()
        return (
            reverse("meetings:detail", args=[meeting.pk])
            if meeting and can_view_meeting(user, meeting)
            else None
        )
    if about == About.AGREEMENT:
        agreement = SharingAgreement.objects.filter(pk=pk).first()
        if agreement and can_view_agreement(user, agreement):
            return reverse("sharing:agreement-detail", args=[agreement.pk])
        return None
    if about == About.BREAK_GLASS:
        glass = BreakGlass.objects.filter(pk=pk).select_related("case").first()
        if glass and can_review_break_glass(user, glass):
            return reverse("sharing:break-glass-review", args=[glass.pk])
        return None
    if about == About.MATCH_NOTICE:
        notice = match_notices_visible_to(user).filter(pk=pk).first() if _is_uuid(pk) else None
        return reverse("sharing:match-notice", args=[notice.pk]) if notice else None
    if about == About.RETENTION:
        return reverse("lifecycle:queue") if pk.isdigit() and can_manage_retention(user, int(pk)) else None
    if about == About.LEGAL_HOLD:
        return reverse("lifecycle:holds") if pk.isdigit() and can_manage_retention(user, int(pk)) else None
    if about == About.SAR:
        from lifecycle.models import SubjectAccessRequest

        sar = SubjectAccessRequest.objects.filter(pk=pk).first() if _is_uuid(pk) else None
        return (
            reverse("lifecycle:sar", args=[sar.pk]) if sar and can_handle_sar(user, sar.agency_id) else None
        )
    return None


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(str(text))
    except ValueError:
        return False
    return True


def can_view_operations(user: Any) -> bool:
    """The operations page (scheduled jobs, failed or late runs) is for operators only."""
    return is_operator(user)


# ==== issue 15 (h5): access decisions moved here from the surfaces ===========================
# Each rule was written in a view, API view, consumer or lifecycle dispatcher; the surfaces now
# ask these. Per-instance answers, restricted querysets (``*_visible_to``) and the fetch-or-404
# forms (``access_*``); tests/test_policy_parity.py checks each queryset against its instance rule.


# --- opening a case -----------------------------------------------------------------------------
def case_opening_membership(user: Any) -> Membership | None:
    """The membership a user opens a case under (the lead agency): their first content role."""
    return next((m for m in memberships(user) if m.role in CONTENT_ROLES), None)


def can_open_case(user: Any) -> bool:
    """Practitioners and chairs open cases, for the agency they hold that role in."""
    return case_opening_membership(user) is not None


# --- who may own an action on a case --------------------------------------------------------------
def action_owner_agency_ids(case: Case) -> frozenset[int]:
    """The lead agency and every agency the case is shared with now (a live share)."""
    shared = CaseShare.objects.live().filter(case_id=case.pk).values_list("agency_id", flat=True)
    return frozenset({case.lead_agency_id, *shared})


def action_owners(case: Case) -> QuerySet[Membership]:
    """Active practitioner and chair memberships in the agencies working on the case now."""
    return (
        Membership.objects.active()
        .filter(agency_id__in=action_owner_agency_ids(case), role__in=CONTENT_ROLES)
        .select_related("user", "agency")
        .order_by("agency_id", "user_id", "pk")
    )


def can_own_action(user: Any, agency_id: int, case: Case) -> bool:
    """May ``user`` own an action on ``case`` for ``agency_id``: a content role there, and the
    agency leads the case or holds a live share of it."""
    if agency_id not in action_owner_agency_ids(case):
        return False
    return (
        Membership.objects.active()
        .filter(user_id=user.pk, agency_id=agency_id, role__in=CONTENT_ROLES)
        .exists()
    )


def action_owner_membership(user: Any, case: Case) -> Membership | None:
    """The membership an action assigned to ``user`` on ``case`` is owned under (None: not an owner)."""
    return action_owners(case).filter(user_id=user.pk).first()


# --- information lifecycle: holds, certificates, subject access (lifecycle/dispatch.py asks) ------
def legal_hold_placing_agency_id(user: Any, case: Case) -> int | None:
    """The agency a hold on ``case`` is placed for, or None if the user may not place one.

    The lead agency when the user is its DPO or admin; otherwise the lowest-numbered of the
    user's DPO/admin agencies that holds an unrevoked share of the case (the same rule as
    ``can_set_legal_hold``). Never an agency whose share was revoked, never a guess.
    """
    mine = lifecycle_agency_ids(user)
    if case.erased_at is not None or not mine:
        return None
    if case.lead_agency_id in mine:
        return case.lead_agency_id
    shared = CaseShare.objects.filter(case_id=case.pk, agency_id__in=mine, revoked_at__isnull=True)
    return shared.order_by("agency_id").values_list("agency_id", flat=True).first()


def access_case_for_hold(user: Any, case_ref: Any) -> Case | None:
    """A case by id or reference that the user may put under legal hold; None if missing or not."""
    text = str(case_ref or "").strip()
    cases = Case.objects.select_related("lead_agency")
    case = cases.filter(pk=uuid.UUID(text)).first() if _is_uuid(text) else None
    if case is None:
        case = cases.filter(reference=text.upper()).first()
    if case is None or not can_set_legal_hold(user, case):
        return None
    return case


def erasure_certificates_visible_to(user: Any) -> QuerySet[Any]:
    """Certificates of the agencies whose retention the user manages (can_manage_retention)."""
    from lifecycle.models import ErasureCertificate

    return ErasureCertificate.objects.filter(agency_id__in=lifecycle_agency_ids(user))


def subject_access_requests_visible_to(user: Any) -> QuerySet[Any]:
    """Subject access requests of the agencies where the user is the DPO (can_handle_sar)."""
    from lifecycle.models import SubjectAccessRequest

    return SubjectAccessRequest.objects.filter(agency_id__in=agency_ids(user, [Role.DPO]))


def lifecycle_agency(user: Any, agency_id: Any = None, *, sar: bool = False) -> Agency:
    """The agency the user acts for on lifecycle pages: the one chosen, if they manage it (DPO for
    subject access, DPO or admin otherwise), else their lowest-numbered such agency; Http404 if none."""
    allowed = agency_ids(user, [Role.DPO]) if sar else lifecycle_agency_ids(user)
    if not allowed:
        raise Http404("Not found.")
    if agency_id in (None, ""):
        chosen = min(allowed)
    else:
        try:
            chosen = int(agency_id)
        except (TypeError, ValueError) as exc:
            raise Http404("Not found.") from exc
        if chosen not in allowed:
            raise Http404("Not found.")
    return next(m.agency for m in memberships(user) if m.agency_id == chosen)


# --- break-glass review: one queue, one "not your own" rule --------------------------------------
BREAK_GLASS_QUEUE_STATES = ("pending", "reviewed", "all")


def _own_break_glass(user: Any, glass: BreakGlass) -> bool:
    return glass.user_id == getattr(user, "pk", None)


def break_glass_queue(user: Any, state: str = "pending") -> QuerySet[BreakGlass]:
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


def access_break_glass_for_review(user: Any, pk: Any) -> BreakGlass:
    """A break-glass use the user may see as a reviewer; Http404 when it is missing, not theirs to
    see, or their own (a person's own emergency access is not in their review queue)."""
    glass = BreakGlass.objects.select_related("case").filter(pk=pk).first() if _is_uuid(pk) else None
    if glass is None or not can_view_break_glass(user, glass) or _own_break_glass(user, glass):
        raise Http404("No such break-glass access.")
    return glass


def break_glass_awaiting_audit(user: Any) -> QuerySet[BreakGlass]:
    """Unreviewed break-glass uses an auditor sees in their audit scope (opened by, or on a case
    led by, an agency in scope; everything for a whole-partnership auditor)."""
    scope = audit_scope_agency_ids(user)
    rows = BreakGlass.objects.filter(reviewed_at__isnull=True)
    if scope is not None:
        rows = rows.filter(Q(agency_id__in=scope) | Q(case__lead_agency_id__in=scope))
    return rows


# --- one share -----------------------------------------------------------------------------------
def access_share(user: Any, pk: Any) -> tuple[CaseShare, Case, Access]:
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


# --- meetings: fetching one meeting or case for a page or a socket ---------------------------------
def visible_meeting(user: Any, pk: Any) -> Any:
    """The meeting if the user may see it (``can_view_meeting``); None if missing or forbidden."""
    from meetings.models import Meeting

    if not _is_uuid(pk):
        return None
    meeting = Meeting.objects.select_related("chair", "chair_agency", "current_item").filter(pk=pk).first()
    if meeting is None or not can_view_meeting(user, meeting):
        return None
    return meeting


def access_meeting(user: Any, pk: Any) -> Any:
    """The meeting if the user may see it; Http404 whether it is missing or forbidden."""
    meeting = visible_meeting(user, pk)
    if meeting is None:
        raise Http404("No such meeting.")
    return meeting


def access_chaired_meeting(user: Any, pk: Any) -> Any:
    """The meeting if the user chairs it; Http404 for everyone else (chair controls are hidden)."""
    meeting = access_meeting(user, pk)
    if not can_chair_meeting(user, meeting):
        raise Http404("No such meeting.")
    return meeting


def visible_case(user: Any, pk: Any) -> Case | None:
    """The case if the user may see it now; None if missing or forbidden (a socket's subscribe:
    unlike ``access_case`` nothing is recorded, the refusal is the reply)."""
    if not _is_uuid(pk):
        return None
    case = Case.objects.filter(pk=pk).first()
    return case if case is not None and can_view_case(user, case) else None


# --- sharing pages: break-glass entry, shares, disclosures ------------------------------------------
def case_for_break_glass(user: Any, pk: Any) -> Case | None:
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


def live_shares_visible_to(user: Any, case: Case) -> QuerySet[CaseShare]:
    """The shares of the case the user may see (``shares_visible_to``) that give access now."""
    return shares_visible_to(user, case).filter(
        pk__in=CaseShare.objects.live().filter(case_id=case.pk).values("pk")
    )


def disclosures_visible_to(user: Any, case: Case) -> QuerySet[Any]:
    """The case's disclosure log, for the lead agency only (``can_view_disclosures``)."""
    from sharing.models import Disclosure

    if not can_view_disclosures(user, case):
        return Disclosure.objects.none()
    return Disclosure.objects.filter(case_id=case.pk)


def disclosure_approvers(case: Case) -> list[User]:
    """Who may approve a disclosure of the case: the lead agency's active chairs."""
    chairs = Membership.objects.active().filter(agency_id=case.lead_agency_id, role=Role.CHAIR)
    return list(User.objects.filter(pk__in=chairs.values("user_id"), is_active=True))


def agreement_parties(agreements: QuerySet[SharingAgreement]) -> QuerySet[AgreementParty]:
    """The parties (and their category terms) of agreements the caller already obtained from the
    policy (``shareable_agreements``, ``agreements_visible_to``)."""
    return AgreementParty.objects.filter(agreement__in=agreements)


# --- meetings: who the chair may name ---------------------------------------------------------------
def meeting_action_owners(meeting: Any) -> QuerySet[Membership]:
    """Active memberships in the agencies attending the meeting: who a meeting's action may go to."""
    agencies = meeting.attendees.values("agency_id")
    return Membership.objects.active().filter(agency_id__in=agencies).select_related("user", "agency")


def membership_in(user_id: Any, agency_id: Any) -> Membership | None:
    """The active membership of a person in an agency (a chair inviting them by name), or None."""
    members = Membership.objects.active().filter(user_id=user_id, agency_id=agency_id)
    return members.select_related("user").first()


# --- audit pages: which agreements an auditor may name --------------------------------------------
def audit_agreements_visible_to(user: Any) -> QuerySet[SharingAgreement]:
    """Agreements one of the auditor's agencies is party to (every agreement for a partnership-wide
    auditor, ``audit_scope_agency_ids`` None)."""
    scope = audit_scope_agency_ids(user)
    if scope is None:
        return SharingAgreement.objects.all()
    party = AgreementParty.objects.filter(agreement_id=OuterRef("pk"), agency_id__in=scope)
    return SharingAgreement.objects.filter(Exists(party))


# --- subject access (lifecycle/sar.py asks) --------------------------------------------------------
# A subject access request is answered by ONE agency's DPO, for what that agency controls: its own
# records about the person in full (a victim's identity and location withheld from a perpetrator,
# a perpetrator's record withheld from a victim), other agencies' records only counted and referred
# to them. The lookups find the person by blind index only; nothing else of other agencies is read.
SAR_EXPORT = "export"  # the agency's own record about the subject, victim categories protected
SAR_EXPORT_OWN = "export_own"  # a victim's own record, in full
SAR_WITHHOLD_VICTIM = "withhold_victim"  # a victim's record, asked for by the perpetrator
SAR_WITHHOLD_PERPETRATOR = "withhold_perpetrator"  # the perpetrator's case, asked for by a victim
SAR_REFER = "refer"  # another agency's record: counted, "refer the request to them"
SAR_SKIP = "skip"  # another agency's record that is not about the subject


def sar_disposition(
    agency_id: int, obj: Any, *, perpetrator: bool, is_victim: bool, subject_ids: Iterable[Any]
) -> str:
    """What a SAR export for ``agency_id`` does with one case record (``owner_agency`` set)."""
    own_record = is_victim and obj.pk in set(subject_ids)
    if obj.owner_agency_id != agency_id:
        return SAR_REFER if perpetrator or own_record else SAR_SKIP
    if not perpetrator and own_record:
        return SAR_EXPORT_OWN
    if perpetrator and is_victim:
        return SAR_WITHHOLD_VICTIM
    return SAR_EXPORT if perpetrator else SAR_WITHHOLD_PERPETRATOR


def sar_victim_ids(name_index: str) -> list[uuid.UUID]:
    """Victims on cases not erased whose name has this blind index."""
    from cases.models import Victim

    return list(
        Victim.objects.filter(name_index=name_index, case__erased_at__isnull=True).values_list(
            "id", flat=True
        )
    )


def sar_nominal_ids(column: str, value: str) -> set[uuid.UUID]:
    """Nominals whose blind-index ``column`` (pnc_index, nhs_index, name_dob_index, name_index) matches."""
    if column not in ("pnc_index", "nhs_index", "name_dob_index", "name_index"):
        raise ValueError(f"Not a blind index: {column}")
    return set(Nominal.objects.filter(**{column: value}).values_list("id", flat=True))


def sar_nominals(ids: Iterable[Any]) -> QuerySet[Nominal]:
    return Nominal.objects.filter(id__in=list(ids))


def sar_cases(kind: str, ids: Iterable[Any]) -> QuerySet[Case]:
    """Cases not erased about the subject: theirs (a perpetrator's nominal) or naming them (a victim)."""
    ids = list(ids)
    if kind == "perpetrator":
        return Case.objects.filter(nominal_id__in=ids, erased_at__isnull=True)
    return Case.objects.filter(victims__id__in=ids, erased_at__isnull=True).distinct()


def sar_disclosure_rows(
    agency_id: int, case_ids: Iterable[Any], led_case_ids: Iterable[Any]
) -> tuple[QuerySet[CaseShare], QuerySet[Any], QuerySet[Any]]:
    """The agency's disclosure log for the subject's cases: the shares it made of the cases it leads,
    its third-party disclosures, and its audit events of disclosing and sharing."""
    from audit.models import AuditEvent, Op
    from sharing.models import Disclosure

    case_ids = list(case_ids)
    shares = CaseShare.objects.filter(case_id__in=list(led_case_ids))
    disclosures = Disclosure.objects.filter(case_id__in=case_ids, agency_id=agency_id)
    events = AuditEvent.objects.filter(
        case_id__in=case_ids,
        actor_agency_id=agency_id,
        op__in=[Op.DISCLOSE, Op.SHARE_GRANTED, Op.SHARE_REVOKED],
    )
    return shares, disclosures, events
