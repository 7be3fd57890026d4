"""The building blocks every form of the case rule shares: the guardian grant, agreements in force,
the terms a party agreed, live break-glass, and the categories an agency type never receives.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache

from django.contrib.auth.models import Permission
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from core.categories import ALL_CATEGORIES, AgencyType, Category, Level
from sharing.models import AgreementParty, AgreementStatus, BreakGlass, CaseUserObjectPermission

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
