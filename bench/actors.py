"""The benchmark's world: the personas measured, and the case lists they see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.figures import Figure, summarise


@dataclass
class Actors:
    practitioner: Any  # a probation practitioner: sees cases shared by several forces
    agency: Any
    case_ids: list[Any]  # cases the practitioner sees (for detail reads)
    lead_user: Any  # a police practitioner (for writes as the lead agency)
    lead_agency: Any
    lead_case: Any
    stale: Any = None  # a practitioner whose candidate rows are mostly stale (their agreement suspended)
    fresh: Any = None  # a practitioner of the same kind of agency whose agreement is in force


def actors() -> Actors:
    from agencies.models import Membership, Role
    from cases.models import Case
    from core.categories import AgencyType
    from sharing import policy

    def first(agency_type: str) -> Any:
        return (
            Membership.objects.filter(role=Role.PRACTITIONER, agency__agency_type=agency_type)
            .select_related("user", "agency")
            .order_by("agency__name", "user__username")
            .first()
        )

    prob = first(AgencyType.PROBATION)
    pol = first(AgencyType.POLICE)
    visible = list(
        policy.cases_visible_to(prob.user).order_by("-created_at", "-id").values_list("pk", flat=True)[:400]
    )
    lead_case = Case.objects.filter(lead_agency=pol.agency).order_by("-created_at").first()
    stale, fresh = stale_and_fresh()
    return Actors(prob.user, prob.agency, visible, pol.user, pol.agency, lead_case, stale, fresh)


def stale_and_fresh() -> tuple[Any, Any]:
    """A health practitioner whose only agreement is suspended (every candidate row stale), and one
    whose agreements are all in force with about as many candidate rows (None, None if the world
    has no suspended agreement)."""
    from django.db.models import Count, Q

    from agencies.models import Agency, Membership, Role
    from core.categories import AgencyType
    from sharing.models import CaseVisibility

    health = Agency.objects.filter(agency_type=AgencyType.HEALTH).annotate(
        suspended=Count("agreement_parties", filter=Q(agreement_parties__agreement__status="suspended")),
        in_force=Count("agreement_parties", filter=Q(agreement_parties__agreement__status="active")),
    )
    stale_agency = health.filter(suspended__gt=0, in_force=0).order_by("name").first()
    if stale_agency is None:
        return None, None
    rows = dict(
        CaseVisibility.objects.filter(agency__agency_type=AgencyType.HEALTH)
        .values_list("agency_id")
        .annotate(n=Count("case_id"))
    )
    fresh_agencies = health.filter(suspended=0, in_force__gt=0)
    target = rows.get(stale_agency.pk, 0)
    fresh_agency = min(fresh_agencies, key=lambda a: abs(rows.get(a.pk, 0) - target), default=None)
    if fresh_agency is None:
        return None, None

    def practitioner(agency: Any) -> Any:
        m = (
            Membership.objects.filter(agency=agency, role=Role.PRACTITIONER)
            .select_related("user")
            .order_by("user__username")
            .first()
        )
        return m.user if m is not None else None

    return practitioner(stale_agency), practitioner(fresh_agency)


def slowdown_ms(
    key: str, label: str, measured: list[float], baseline: list[float], baseline_label: str, note: str
) -> Figure:
    """A time in ms beside the same operation without the permission filter, target ≤ 1.5×."""
    m, m_spread = summarise(measured)
    b, b_spread = summarise(baseline)
    return Figure(
        key,
        label,
        m * 1000,
        "ms",
        (m_spread[0] * 1000, m_spread[1] * 1000),
        b * 1000,
        baseline_label,
        (b_spread[0] * 1000, b_spread[1] * 1000),
        m / b,
        "restricted / unrestricted",
        "≤ 1.5×",
        m / b <= 1.5,
        note,
    )
