"""One case: how (and how much) a user may see it, the rule every other form mirrors.

Forbidden looks like not-found: ``access_case`` raises Http404 for both.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404
from django.utils import timezone

from cases.models import Case
from core.categories import ALL_CATEGORIES, FULL_ACCESS, Level
from sharing.models import CaseGroupObjectPermission, CaseShare
from sharing.policy.grants import _cap, _live_break_glass, _party_levels, _view_permission_q
from sharing.policy.identity import Viewer, _cache, _content_memberships, _person_id


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


def case_access(user: Viewer, case: Case, at: datetime | None = None) -> Access | None:
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


def _case_access(user: Viewer, case: Case, at: datetime) -> Access | None:
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
        .filter(case_id=case.pk, user_id=_person_id(user), agency_id__in=own)
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


def can_view_case(user: Viewer, case: Case, at: datetime | None = None) -> bool:
    return case_access(user, case, at) is not None


class Denied(Http404):
    """A case id refused: missing or forbidden, alike (a 404 to the user, with the same body).

    The policy only decides; it writes nothing. The surface that asked records the attempt for the
    auditors, once, from what this carries (``sharing.denials.record``, called by the page middleware,
    the API's exception handler, or a view that answers a refusal with a message of its own). ``reason`` names
    the rule that refused (the audit row's ``surface``); ``case_id`` is the id asked for, which may
    not exist.
    """

    def __init__(self, reason: str, case_id: uuid.UUID, user: Viewer) -> None:
        super().__init__("No such case.")
        self.reason = reason
        self.case_id = case_id
        self.user = user


def access_case(user: Viewer, pk: Any, queryset: QuerySet[Case] | None = None) -> tuple[Case, Access]:
    """Fetch a case the user may see, with their access; ``Denied`` (an Http404) whether it is missing
    or forbidden, and a plain Http404 for an id that is not one (not an attempt on any case)."""
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
        # An attempt is evidence for the auditors (flagged when it follows a revoked share). Both are
        # the same Denied, so that to the user (and to a stopwatch) a forbidden case looks exactly like
        # a missing one, and the surface records both alike.
        raise Denied("access_case", case_uuid, user)
    return case, access
