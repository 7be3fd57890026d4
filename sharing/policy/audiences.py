"""Audiences: everyone who may see a case now (the WebSocket audience for its events)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from agencies.models import Membership
from cases.models import Case
from sharing.models import CaseGroupObjectPermission, CaseShare
from sharing.policy.grants import _live_break_glass, _view_permission_q
from sharing.policy.identity import CONTENT_ROLES


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
