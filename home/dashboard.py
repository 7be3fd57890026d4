"""What the dashboard shows a user, by role. Every list comes from the policy module's querysets.

The dashboard shows counts, case references, dates and levels — never an encrypted value — so it reads
no case content and records no consultation; opening a case from it does. Each panel is a fixed number
of aggregate queries, however many cases the user can see.

- practitioner / chair: upcoming meetings and reviews, my overdue actions, my agency's actions overdue
  or due within a week (``policy.agency_actions_due``), overdue actions by agency,
  caseload by MAPPA level and risk (charts from ``core.charts``);
- auditor: the audit pages, the chain's status and audit activity per day;
- agency admin: the people of their agency by role;
- DPO: the retention review queue and open subject access requests.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.safestring import SafeString

from agencies.models import Membership, Role
from cases import choices as c
from cases.models import Case
from core import charts
from sharing import policy

log = logging.getLogger(__name__)

REVIEW_HORIZON_DAYS = 28
ACTION_DUE_SOON_DAYS = 7
AUDIT_ACTIVITY_DAYS = 14
LIST_LIMIT = 8
RISK_SERIES: tuple[tuple[str, str], ...] = (
    (c.RiskLevel.VERY_HIGH, "Very high"),
    (c.RiskLevel.HIGH, "High"),
    (c.RiskLevel.MEDIUM, "Medium"),
    (c.RiskLevel.LOW, "Low"),
    ("", "Not assessed"),
)


@dataclass
class Dashboard:
    memberships: list[Membership]
    today: date
    sees_cases: bool = False
    can_audit: bool = False
    can_admin: bool = False
    is_dpo: bool = False
    # practitioner / chair
    open_cases: int = 0
    upcoming_meetings: list[Any] = field(default_factory=list)
    meetings_available: bool = False
    reviews_due: list[dict[str, Any]] = field(default_factory=list)
    my_overdue_actions: list[dict[str, Any]] = field(default_factory=list)
    my_overdue_count: int = 0
    overdue_by_agency_chart: SafeString | None = None
    agency_actions_due: list[dict[str, Any]] = field(default_factory=list)
    agency_actions_due_count: int = 0
    overdue_total: int = 0
    caseload_chart: SafeString | None = None
    break_glass_to_review: int = 0
    # auditor
    chain: dict[str, Any] = field(default_factory=dict)
    audit_activity: dict[date, int] = field(
        default_factory=dict
    )  # events per day, as the audit pages scope them
    audit_activity_chart: SafeString | None = None
    # agency admin
    people: list[dict[str, Any]] = field(default_factory=list)
    # DPO
    retention_due: list[Any] = field(default_factory=list)
    retention_due_count: int = 0
    open_sars: int = 0

    @property
    def primary(self) -> Membership | None:
        return self.memberships[0] if self.memberships else None


def dashboard_context(user: Any, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    board = Dashboard(memberships=policy.memberships(user), today=timezone.localdate(now))
    board.sees_cases = bool(policy.content_agencies(user))
    board.can_audit = policy.can_view_audit(user)
    board.can_admin = bool(policy.administered_agency_ids(user))
    board.is_dpo = bool(policy.agency_ids(user, [Role.DPO]))
    if board.sees_cases:
        _casework(board, user, now)
    if board.can_audit:
        _audit(board, user, now)
    if board.can_admin:
        _people(board, user)
    if board.is_dpo:
        _retention(board, user)
    return {"board": board, "memberships": board.memberships}


# --- practitioners and chairs -------------------------------------------------------------------
def _casework(board: Dashboard, user: Any, now: datetime) -> None:
    visible = policy.cases_visible_to(user, now).exclude(status=c.CaseStatus.CLOSED)
    today = board.today

    # Caseload by MAPPA level × risk: one GROUP BY query.
    cells = {
        (row["mappa_level"], row["risk_level"] or ""): row["n"]
        for row in visible.order_by().values("mappa_level", "risk_level").annotate(n=Count("pk"))
    }
    board.open_cases = sum(cells.values())
    levels: list[tuple[int | None, str]] = [(level, f"Level {level}") for level in c.MappaLevel.values]
    if any(level is None for level, _ in cells):
        levels.append((None, "No level"))
    series = [
        (label, [cells.get((level, risk), 0) for level, _ in levels])
        for risk, label in RISK_SERIES
        if any(cells.get((level, risk), 0) for level, _ in levels) or risk
    ]
    board.caseload_chart = charts.stacked_bar_chart(
        title="Open cases by MAPPA level and risk",
        categories=[label for _, label in levels],
        series=series,
        category_label="MAPPA level",
        chart_id="chart-caseload",
    )

    # Reviews due: cases whose next review falls in the next four weeks (or is already late).
    board.reviews_due = [
        dict(row)  # a row the page annotates below
        for row in visible.filter(
            next_review_on__isnull=False, next_review_on__lte=today + timedelta(days=REVIEW_HORIZON_DAYS)
        )
        .order_by("next_review_on", "reference")
        .values("pk", "reference", "next_review_on", "mappa_level", "risk_level")[:LIST_LIMIT]
    ]
    for row in board.reviews_due:
        row["overdue"] = row["next_review_on"] < today
        row["risk_label"] = c.RiskLevel(row["risk_level"]).label if row["risk_level"] else "Not assessed"

    # Actions are category C5: only cases where this user's access includes C5 count.
    overdue = policy.actions_visible_to(user, now).filter(status__in=c.OPEN_ACTION_STATUSES, due_on__lt=today)
    mine = overdue.filter(owner_id=user.pk)
    board.my_overdue_actions = [
        dict(row)  # a row the page annotates below
        for row in mine.order_by("due_on", "case__reference").values(
            "pk", "case_id", "case__reference", "due_on", "pillar"
        )[:LIST_LIMIT]
    ]
    pillars = dict(c.Pillar.choices)
    for row in board.my_overdue_actions:
        row["days_late"] = (today - row["due_on"]).days
        row["pillar_label"] = pillars.get(row["pillar"], row["pillar"])
    board.my_overdue_count = (
        len(board.my_overdue_actions) if len(board.my_overdue_actions) < LIST_LIMIT else mine.count()
    )
    by_agency = list(
        overdue.order_by().values("agency__name").annotate(n=Count("pk")).order_by("-n", "agency__name")
    )
    board.overdue_total = sum(row["n"] for row in by_agency)
    board.overdue_by_agency_chart = charts.bar_chart(
        title="Overdue actions by agency",
        items=[(row["agency__name"], row["n"]) for row in by_agency],
        category_label="Agency",
        value_label="Overdue actions",
        chart_id="chart-overdue-by-agency",
        colour="#c0301a",
    )

    # Your agency's actions, overdue or due within a week: the policy's owner-agency queryset.
    agency_due = policy.agency_actions_due(user, today + timedelta(days=ACTION_DUE_SOON_DAYS), now)
    board.agency_actions_due = [
        dict(row)  # a row the page annotates below
        for row in agency_due.order_by("due_on", "case__reference", "pk").values(
            "pk", "case_id", "case__reference", "due_on", "pillar", "agency__name"
        )[:LIST_LIMIT]
    ]
    for row in board.agency_actions_due:
        row["days_late"] = (today - row["due_on"]).days
        row["overdue"] = row["due_on"] < today
        row["days_left"] = (row["due_on"] - today).days
        row["pillar_label"] = pillars.get(row["pillar"], row["pillar"])
    board.agency_actions_due_count = agency_due.count()  # always: the panel's query count is fixed

    board.upcoming_meetings, board.meetings_available = _upcoming_meetings(user, now)
    board.break_glass_to_review = policy.break_glass_review_queue(user).count()


def _upcoming_meetings(user: Any, now: datetime) -> tuple[list[Any], bool]:
    """The user's meetings that are in progress or still to come (one query). The meetings app is
    imported lazily so the dashboard works without it."""
    try:
        from meetings.models import MeetingStatus
    except ImportError:  # pragma: no cover - the meetings app is part of the project
        return [], False
    rows = list(
        policy.meetings_visible_to(user)
        .filter(
            Q(status=MeetingStatus.IN_PROGRESS)
            | Q(status=MeetingStatus.SCHEDULED, scheduled_for__gte=now - timedelta(hours=12))
        )
        .select_related("chair_agency")
        .annotate(item_count=Count("items", distinct=True))
        .order_by("scheduled_for")[:5]
    )
    return rows, True


# --- auditors ---------------------------------------------------------------------------------
def _audit(board: Dashboard, user: Any, now: datetime) -> None:
    from audit import services as audit_services

    last = audit_services.last_verification()
    board.chain = {
        "last_ok": None if last is None else last.ok,
        "last_at": None if last is None else last.ran_at,
        "last_message": "" if last is None else last.message,
        "unsealed": audit_services.pending_count(),
        "checkpoint_at": audit_services.latest_checkpoint_time(),
    }
    start = board.today - timedelta(days=AUDIT_ACTIVITY_DAYS - 1)
    since = timezone.make_aware(datetime.combine(start, datetime.min.time()))
    events = policy.audit_events_visible_to(user).filter(occurred_at__gte=since)
    counts = {
        row["day"]: row["n"]
        for row in events.annotate(day=TruncDate("occurred_at", tzinfo=timezone.get_current_timezone()))
        .order_by()
        .values("day")
        .annotate(n=Count("pk"))
    }
    board.audit_activity = counts
    board.audit_activity_chart = charts.time_series(
        title=f"Audit events per day, last {AUDIT_ACTIVITY_DAYS} days",
        points=charts.daily_points(counts, start, board.today),
        value_label="Events",
        chart_id="chart-audit-activity",
    )


# --- agency admins ----------------------------------------------------------------------------
def _people(board: Dashboard, user: Any) -> None:
    roles = dict(Role.choices)
    rows = (
        policy.memberships_administered_by(user)
        .order_by()
        .values("agency__name", "role")
        .annotate(n=Count("pk"))
        .order_by("agency__name", "role")
    )
    board.people = [
        {"agency": r["agency__name"], "role": roles.get(r["role"], r["role"]), "n": r["n"]} for r in rows
    ]


# --- data protection officers -----------------------------------------------------------------
def _retention(board: Dashboard, user: Any) -> None:
    dpo_of = [m.agency for m in board.memberships if m.role == Role.DPO]
    try:
        from lifecycle.models import SarStatus
        from lifecycle.retention import review_queue
    except ImportError:  # pragma: no cover - the lifecycle app is part of the project
        return
    items: list[Any] = []
    for agency in dpo_of:
        items += review_queue(agency, board.today)
    board.retention_due_count = len(items)
    board.retention_due = items[:LIST_LIMIT]
    board.open_sars = (
        policy.subject_access_requests_visible_to(user)
        .filter(agency__in=[a.pk for a in dpo_of], status=SarStatus.OPEN)
        .count()
    )


__all__ = ["Case", "Dashboard", "dashboard_context"]
