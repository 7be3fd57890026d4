"""What the auditor pages and API show: filtered events, per-case and per-person trails, activity per
day, flagged patterns and chain status. Every query starts from policy.audit_events_visible_to, and
nothing here reads case content (events hold ids, category names, ops and justifications only)."""

from __future__ import annotations

import uuid
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.dateparse import parse_date

from agencies.models import Agency, User
from core.errors import DomainError
from core.parsing import is_whole_number
from sharing import policy
from sharing.models import BreakGlass

from .models import AuditCheckpoint, AuditEvent, AuditVerification, Op
from .services import pending_count

PAGE_SIZE = 50
SEEN_OPS = (Op.CONSULT, Op.DISCLOSE, Op.EXPORT, Op.BREAK_GLASS, Op.COMBINE)


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


@dataclass(frozen=True)
class Filters:
    person: str = ""
    agency: str = ""
    case: str = ""
    op: str = ""
    agreement: str = ""
    since: str = ""
    until: str = ""

    FIELDS = ("person", "agency", "case", "op", "agreement", "since", "until")

    @classmethod
    def from_query(cls, query: Any) -> Filters:
        return cls(**{name: (query.get(name) or "").strip()[:100] for name in cls.FIELDS})

    def as_query(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in self.FIELDS if getattr(self, name)}


def _day(text: str, field: str) -> date:
    value = parse_date(text)
    if value is None:
        raise DomainError("Enter a date as YYYY-MM-DD.", field=field)
    return value


def filtered_events(user: Any, filters: Filters) -> QuerySet[AuditEvent]:
    """The user's visible events narrowed by the filters; a bad filter is a DomainError naming it."""
    qs = policy.audit_events_visible_to(user)
    if filters.person:
        person = Q(actor_username=filters.person)
        if is_whole_number(filters.person):
            person |= Q(actor_id=int(filters.person))
        qs = qs.filter(person)
    if filters.agency:
        if not is_whole_number(filters.agency):
            raise DomainError("Choose an agency.", field="agency")
        qs = qs.filter(actor_agency_id=int(filters.agency))
    if filters.case:
        # Only a case the auditor may name is found by its reference: another agency's reference
        # answers exactly as a made-up one. An id narrows the (already restricted) events as it is.
        case_id = (
            policy.audit_cases_visible_to(user)
            .filter(reference=filters.case.upper())
            .values_list("pk", flat=True)
            .first()
        )
        if case_id is None:
            try:
                case_id = uuid.UUID(filters.case)
            except ValueError as exc:
                raise DomainError("No case you may audit has that reference.", field="case") from exc
        qs = qs.filter(case_id=case_id)
    if filters.op:
        if filters.op not in Op.values:
            raise DomainError("Choose an operation.", field="op")
        qs = qs.filter(op=filters.op)
    if filters.agreement:
        try:
            qs = qs.filter(agreement_id=uuid.UUID(filters.agreement))
        except ValueError as exc:
            raise DomainError("Enter an agreement id.", field="agreement") from exc
    tz = timezone.get_current_timezone()
    if filters.since:
        qs = qs.filter(occurred_at__gte=datetime.combine(_day(filters.since, "since"), time.min, tz))
    if filters.until:
        end = datetime.combine(_day(filters.until, "until"), time.min, tz) + timedelta(days=1)
        qs = qs.filter(occurred_at__lt=end)
    return qs


def page(
    qs: QuerySet[AuditEvent], before: str | None, size: int = PAGE_SIZE
) -> tuple[list[AuditEvent], int | None]:
    """Keyset page, newest first: ``before`` is the last id of the previous page."""
    if is_whole_number(before):
        qs = qs.filter(id__lt=int(before))
    rows = list(qs.order_by("-id")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return rows, (rows[-1].id if more and rows else None)


def labels(user: User, events: list[AuditEvent]) -> dict[str, dict[Any, str]]:
    """Agency names and case references for a page of events: two queries whatever the page size.
    A case the auditor may not name (policy.audit_cases_visible_to) keeps its bare id, as a case that
    does not exist does."""
    agency_ids = {e.actor_agency_id for e in events if e.actor_agency_id}
    case_ids = {e.case_id for e in events if e.case_id}
    cases = policy.audit_cases_visible_to(user).filter(pk__in=case_ids)
    return {
        "agencies": dict(Agency.objects.filter(pk__in=agency_ids).values_list("pk", "name")),
        "cases": dict(cases.values_list("pk", "reference")),
    }


def case_reference(user: User, case_id: uuid.UUID) -> str:
    """The reference of a case the auditor may name, else its id (the same for a missing case)."""
    reference = policy.audit_cases_visible_to(user).filter(pk=case_id).values_list("reference", flat=True)
    return reference.first() or str(case_id)


def annotate(user: User, events: list[AuditEvent]) -> list[dict[str, Any]]:
    names = labels(user, events)
    return [
        {
            "event": e,
            "agency": names["agencies"].get(e.actor_agency_id, ""),
            "case_reference": names["cases"].get(e.case_id, str(e.case_id) if e.case_id else ""),
        }
        for e in events
    ]


def case_trail(user: Any, case_id: uuid.UUID) -> QuerySet[AuditEvent]:
    """Who has seen this case, when and why: consultations, disclosures, exports and break-glass."""
    return policy.audit_events_visible_to(user).filter(case_id=case_id, op__in=SEEN_OPS)


def person_trail(user: Any, person_id: int) -> QuerySet[AuditEvent]:
    """What this person has seen."""
    return policy.audit_events_visible_to(user).filter(actor_id=person_id, op__in=SEEN_OPS)


def activity(user: Any, days: int = 30) -> list[tuple[str, int]]:
    """Events per day over the last ``days`` days (every day listed, zero included)."""
    today = timezone.localdate()
    start = today - timedelta(days=days - 1)
    since = datetime.combine(start, time.min, timezone.get_current_timezone())
    counts = dict(
        policy.audit_events_visible_to(user)
        .filter(occurred_at__gte=since)
        .annotate(day=TruncDate("occurred_at"))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    return [
        ((start + timedelta(days=n)).isoformat(), counts.get(start + timedelta(days=n), 0))
        for n in range(days)
    ]


# --- flagged patterns -----------------------------------------------------------------------
@dataclass(frozen=True)
class BurstFlag:
    actor_id: int
    actor_username: str
    started_at: datetime
    distinct_cases: int


def many_cases_flags(user: Any) -> list[BurstFlag]:
    """People who consulted at least N distinct cases within W minutes (settings; defaults 20 in 60)."""
    threshold = _setting("CONVENE_AUDIT_FLAG_DISTINCT_CASES", 20)
    window = timedelta(minutes=_setting("CONVENE_AUDIT_FLAG_WINDOW_MINUTES", 60))
    since = timezone.now() - timedelta(days=_setting("CONVENE_AUDIT_FLAG_LOOKBACK_DAYS", 7))
    rows = (
        policy.audit_events_visible_to(user)
        .filter(op=Op.CONSULT, occurred_at__gte=since, actor_id__isnull=False, case_id__isnull=False)
        .order_by("actor_id", "occurred_at")
        .values_list("actor_id", "actor_username", "occurred_at", "case_id")
    )
    flags: dict[int, BurstFlag] = {}
    recent: dict[int, deque[tuple[datetime, Any]]] = defaultdict(deque)
    for actor_id, username, at, case_id in rows.iterator(chunk_size=5000):
        queue = recent[actor_id]
        queue.append((at, case_id))
        while queue and at - queue[0][0] > window:
            queue.popleft()
        distinct = len({c for _, c in queue})
        if distinct >= threshold and distinct > getattr(flags.get(actor_id), "distinct_cases", 0):
            flags[actor_id] = BurstFlag(actor_id, username, queue[0][0], distinct)
    return sorted(flags.values(), key=lambda f: -f.distinct_cases)


def break_glass_awaiting_review(user: Any) -> QuerySet[BreakGlass]:
    scope = policy.audit_scope_agency_ids(user)
    qs = BreakGlass.objects.filter(reviewed_at__isnull=True).select_related("case", "user", "agency")
    if scope is not None:
        qs = qs.filter(Q(agency_id__in=scope) | Q(case__lead_agency_id__in=scope))
    return qs.order_by("opened_at")


def denied_after_revocation(user: Any) -> QuerySet[AuditEvent]:
    """Refused attempts on a case after a share of it was revoked."""
    revoked = AuditEvent.objects.filter(
        op=Op.SHARE_REVOKED, case_id=OuterRef("case_id"), occurred_at__lte=OuterRef("occurred_at")
    )
    return (
        policy.audit_events_visible_to(user)
        .filter(Q(op=Op.PERMISSION_DENIED) | Q(outcome="denied"), case_id__isnull=False)
        .filter(Q(Exists(revoked)) | Q(detail__after_revocation=True))
        .order_by("-id")
    )


# --- chain status ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ChainStatus:
    last_verification: AuditVerification | None
    last_checkpoint: AuditCheckpoint | None
    pending: int


def chain_status() -> ChainStatus:
    return ChainStatus(
        AuditVerification.objects.order_by("-ran_at").first(),
        AuditCheckpoint.objects.order_by("-tree_size").first(),
        pending_count(),
    )


def people_choices(user: Any) -> QuerySet[User]:
    scope = policy.audit_scope_agency_ids(user)
    qs = User.objects.all()
    if scope is not None:
        qs = qs.filter(memberships__agency_id__in=scope).distinct()
    return qs.order_by("username")
