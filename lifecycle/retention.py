"""Retention review dates and the review queue (read side; mutations are in lifecycle.services).

A record's review date is its clock start plus its agency's review period:
- the clock starts when the record was made, or when its case closed (closed cases restart it);
- the period is the agency's ``RetentionRule`` for the record type (MoPI-based defaults);
- a partner's contribution is also bounded by the agreement it was shared under: the stricter wins;
- a later "retain" decision replaces the computed date with the reviewer's next review date.
"""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Model, Q
from django.utils import timezone

from agencies.models import Agency
from cases.models import Case, Note, RiskAssessment, Victim
from core.categories import AgencyType
from sharing.models import CaseShare

from .models import Decision, LegalHold, RecordType, RetentionDecision, RetentionRule

# MoPI (College of Policing APP, retention, review and disposal): public-protection matters on a
# roughly 10-year review cycle, other groups after 6 years. DOMAIN.md §5 marks these [verify]:
# they are only defaults; each agency sets its own RetentionRule.
MOPI_PUBLIC_PROTECTION_MONTHS = 120
STANDARD_REVIEW_MONTHS = 72

CONTRIBUTION_MODELS: dict[str, type[Model]] = {
    RecordType.NOTE: Note,
    RecordType.ASSESSMENT: RiskAssessment,
    RecordType.VICTIM: Victim,
}


def default_review_months(agency_type: str, record_type: str) -> int:
    """Stalking cases managed through MAPPA or a clinic are public-protection matters for the police."""
    if agency_type == AgencyType.POLICE:
        return MOPI_PUBLIC_PROTECTION_MONTHS
    return STANDARD_REVIEW_MONTHS


def default_basis(agency_type: str) -> str:
    if agency_type == AgencyType.POLICE:
        return "MoPI public-protection group: ~10-year review cycle (default; verify locally)"
    return "Agency records schedule: 6 years (default; verify locally)"


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _local(moment: datetime) -> date:
    return timezone.localdate(moment)


class Rules:
    """An agency's rules by record type, falling back to the defaults (one query per agency set)."""

    def __init__(self, agencies: Iterable[Agency]) -> None:
        self._agencies = {a.pk: a for a in agencies}
        self._rules: dict[tuple[int, str], RetentionRule] = {
            (r.agency_id, r.record_type): r
            for r in RetentionRule.objects.filter(agency_id__in=list(self._agencies))
        }

    def rule(self, agency_id: int, record_type: str) -> RetentionRule | None:
        return self._rules.get((agency_id, record_type))

    def months(self, agency_id: int, record_type: str) -> int:
        rule = self.rule(agency_id, record_type)
        if rule is not None:
            return rule.review_months
        return default_review_months(self._agencies[agency_id].agency_type, record_type)

    def describe(self, agency_id: int, record_type: str) -> str:
        rule = self.rule(agency_id, record_type)
        months = self.months(agency_id, record_type)
        basis = rule.basis if rule else default_basis(self._agencies[agency_id].agency_type)
        return f"{self._agencies[agency_id]} {record_type} rule: review after {months} months ({basis})"


def _latest_retains(record_type: str, object_ids: Iterable[Any]) -> dict[uuid.UUID, RetentionDecision]:
    latest: dict[uuid.UUID, RetentionDecision] = {}
    for decision in RetentionDecision.objects.filter(
        record_type=record_type, object_id__in=list(object_ids), decision=Decision.RETAIN
    ).order_by("decided_at"):
        latest[decision.object_id] = decision
    return latest


def _apply_decision(start: datetime, computed: date, decision: RetentionDecision | None) -> date:
    if decision is not None and decision.decided_at >= start and decision.next_review_on:
        return decision.next_review_on
    return computed


def case_review_date(case: Case, rules: Rules | None = None) -> date:
    """The case's retention review date under its lead agency's rule (clock restarts at closure)."""
    rules = rules or Rules([case.lead_agency])
    start = case.closed_at or case.created_at
    computed = add_months(_local(start), rules.months(case.lead_agency_id, RecordType.CASE))
    decision = _latest_retains(RecordType.CASE, [case.pk]).get(case.pk)
    return _apply_decision(start, computed, decision)


def agreement_months(case_ids: Iterable[Any], agency_id: int) -> dict[uuid.UUID, int]:
    """Per case, the strictest agreement retention (in months) bounding this agency's contributions."""
    bound: dict[uuid.UUID, int] = {}
    rows = CaseShare.objects.filter(case_id__in=list(case_ids), agency_id=agency_id).values_list(
        "case_id", "agreement__retention_years"
    )
    for case_id, years in rows:
        months = int(years) * 12
        bound[case_id] = min(bound.get(case_id, months), months)
    return bound


@dataclass(frozen=True)
class QueueItem:
    record_type: str
    object_id: uuid.UUID
    case_id: uuid.UUID
    case_reference: str
    review_on: date
    months: int
    on_legal_hold: bool
    case_closed: bool

    @property
    def is_case(self) -> bool:
        return self.record_type == RecordType.CASE


def contribution_review_dates(agency: Agency, record_type: str, today: date | None = None) -> list[QueueItem]:
    """This agency's contributions of one type to other agencies' cases that are due by ``today``."""
    today = today or timezone.localdate()
    model = CONTRIBUTION_MODELS[record_type]
    rules = Rules([agency])
    months = rules.months(agency.pk, record_type)
    # A retain decision may bring a review forward; the agreement bound only shortens the period.
    decided_due = RetentionDecision.objects.filter(
        record_type=record_type, agency=agency, decision=Decision.RETAIN, next_review_on__lte=today
    ).values("object_id")
    shortest = min([months, *[y * 12 for y in _agreement_years(agency)]])
    cut = timezone.make_aware(datetime.combine(add_months(today, -shortest), datetime.max.time()))
    rows = list(
        model.objects.filter(owner_agency=agency, case__erased_at__isnull=True)  # type: ignore[attr-defined]
        .exclude(case__lead_agency=agency)
        .filter(
            Q(case__closed_at__isnull=False, case__closed_at__lte=cut)
            | Q(case__closed_at__isnull=True, created_at__lte=cut)
            | Q(id__in=decided_due)
        )
        .values_list("id", "case_id", "case__reference", "case__closed_at", "created_at")
    )
    case_ids = {row[1] for row in rows}
    bounds = agreement_months(case_ids, agency.pk)
    decisions = _latest_retains(record_type, [row[0] for row in rows])
    held = set(LegalHold.objects.active().filter(case_id__in=case_ids).values_list("case_id", flat=True))
    items = []
    for object_id, case_id, reference, closed_at, created_at in rows:
        period = min(months, bounds.get(case_id, months))
        start = closed_at or created_at
        review_on = _apply_decision(start, add_months(_local(start), period), decisions.get(object_id))
        if review_on <= today:
            items.append(
                QueueItem(
                    record_type,
                    object_id,
                    case_id,
                    reference,
                    review_on,
                    period,
                    case_id in held,
                    bool(closed_at),
                )
            )
    return items


def _agreement_years(agency: Agency) -> list[int]:
    return list(
        CaseShare.objects.filter(agency=agency)
        .values_list("agreement__retention_years", flat=True)
        .distinct()
    )


def review_queue(agency: Agency, today: date | None = None) -> list[QueueItem]:
    """Everything of this agency whose retention review date has passed: its cases, then contributions."""
    today = today or timezone.localdate()
    cases = list(
        Case.objects.filter(lead_agency=agency, erased_at__isnull=True, retention_review_on__lte=today)
        .order_by("retention_review_on", "reference")
        .values_list("id", "reference", "retention_review_on", "closed_at")
    )
    held = set(
        LegalHold.objects.active().filter(case_id__in=[c[0] for c in cases]).values_list("case_id", flat=True)
    )
    months = Rules([agency]).months(agency.pk, RecordType.CASE)
    items = [
        QueueItem(RecordType.CASE, pk, pk, reference, review_on, months, pk in held, bool(closed_at))  # type: ignore[arg-type]
        for pk, reference, review_on, closed_at in cases
    ]
    contributions: list[QueueItem] = []
    for record_type in CONTRIBUTION_MODELS:
        contributions += contribution_review_dates(agency, record_type, today)
    contributions.sort(key=lambda item: (item.review_on, item.case_reference))
    return items + contributions
