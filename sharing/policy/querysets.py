"""Querysets: every case a user may see, as one SQL query (the queryset form of ``case_access``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from cases.models import Action, Case
from core.categories import Level
from sharing.models import AgreementParty, CaseGroupObjectPermission, CaseShare, CaseVisibility
from sharing.policy.grants import _cap, _live_break_glass, _view_permission_q
from sharing.policy.identity import Viewer, _content_memberships, _person_id, content_agencies, memberships

# The order of every case list, newest first: ``listed_at`` is what ``cases_visible_to`` annotates.
LIST_ORDER = ("-listed_at", "-id")


def _visible_q(user: Viewer, at: datetime | None) -> Q:
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
        glass = _live_break_glass(when).filter(
            case_id=OuterRef("pk"), user_id=_person_id(user), agency_id__in=own
        )
        rule |= Q(Exists(glass))
    return rule


def _may_have_break_glass(user: Viewer) -> bool:
    """Whether the memberships lookup saw an unexpired break-glass row of this user's."""
    return any(getattr(m, "holds_break_glass", True) for m in memberships(user))


def cases_visible_to(user: Viewer, at: datetime | None = None) -> QuerySet[Case]:
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


def shared_with_my_agency(user: Viewer) -> QuerySet[Case]:
    own = content_agencies(user)
    return cases_visible_to(user).exclude(lead_agency_id__in=own)


def cases_with_category_visible_to(
    user: Viewer, category: str, minimum: int = Level.SUMMARY, at: datetime | None = None
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
        .filter(user_id=_person_id(user), agency_id__in=own)
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


def actions_visible_to(user: Viewer, at: datetime | None = None) -> QuerySet[Action]:
    """Actions (category C5) on the cases where the user's access includes C5 at summary level or
    more: the queryset form of ``can_see_record(case_access(user, action.case), action)``'s case part."""
    from core.categories import Category

    cases = cases_with_category_visible_to(user, Category.C5, Level.SUMMARY, at)
    return Action.objects.filter(case__in=cases.values("pk"))
