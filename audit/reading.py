"""What the auditor pages and API show: filtered events, per-case and per-person trails, activity per
day, flagged patterns and chain status. Every query starts from policy.audit_events_visible_to, and
nothing here reads case content (events hold ids, category names, ops and justifications only)."""

from __future__ import annotations

import uuid
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.dateparse import parse_date

from agencies.models import Agency, Role, User
from core.errors import DomainError
from core.parsing import is_whole_number
from sharing import policy
from sharing.models import BreakGlass, SharingAgreement

from .models import AuditCheckpoint, AuditEvent, AuditVerification, Op
from .services import pending_count

PAGE_SIZE = 50
SEEN_OPS = (Op.CONSULT, Op.DISCLOSE, Op.EXPORT, Op.BREAK_GLASS, Op.COMBINE)

# How an event reads in words: the verb of its operation and the thing it was done to.
VERBS: dict[str, str] = {
    Op.COLLECT: "Recorded",
    Op.ALTER: "Changed",
    Op.CONSULT: "Consulted",
    Op.DISCLOSE: "Disclosed",
    Op.COMBINE: "Combined",
    Op.ERASE: "Erased",
    Op.SIGN_IN: "Signed in",
    Op.SIGN_IN_FAILED: "Failed to sign in",
    Op.SIGN_OUT: "Signed out",
    Op.OTP_FAILED: "Failed the second factor",
    Op.OTP_ENROLLED: "Enrolled a second factor",
    Op.LOCKOUT: "Was locked out",
    Op.PERMISSION_DENIED: "Permission denied: asked for",
    Op.BREAK_GLASS: "Opened by break-glass",
    Op.EXPORT: "Exported",
    Op.TOKEN_ISSUED: "Was issued",
    Op.TOKEN_REVOKED: "Revoked",
    Op.KEY_ROTATION: "Rotated",
    Op.AGREEMENT: "Changed",
    Op.SHARE_GRANTED: "Granted",
    Op.SHARE_REVOKED: "Revoked",
    Op.MEMBERSHIP: "Changed",
    Op.RETENTION: "Decided the retention of",
    Op.LEGAL_HOLD: "Changed",
    Op.AUDIT: "Operated on",
}
# Operations that need no object to read as a sentence.
INTRANSITIVE = frozenset(
    {Op.SIGN_IN, Op.SIGN_IN_FAILED, Op.SIGN_OUT, Op.OTP_FAILED, Op.OTP_ENROLLED, Op.LOCKOUT}
)
THINGS: dict[str, str] = {
    "cases.Case": "the case summary",
    "cases.Action": "an action",
    "meetings.Meeting": "the meeting",
    "meetings.AgendaItem": "the meeting minutes",
    "meetings.MinuteEntry": "the minutes",
    "meetings.Decision": "a decision",
    "meetings.Dissent": "a dissent",
    "meetings.Addendum": "an addendum",
    "meetings.Attendee": "a meeting attendance",
    "sharing.CaseShare": "a share",
    "sharing.SharingAgreement": "an agreement",
    "sharing.AgreementParty": "an agreement",
    "sharing.BreakGlass": "break-glass access",
    "sharing.Disclosure": "a disclosure",
    "sharing.MatchNotice": "a match notice",
    "audit.AuditEvent": "the audit log",
    "audit.AuditSigningKey": "the audit signing key",
    "agencies.User": "a person's account",
    "agencies.Membership": "a membership",
    "agencies.ApiToken": "an API token",
    "keystore.DataKey": "a data key",
    "email": "an email",
}
OUTCOMES = {"ok": "Done", "denied": "Refused"}
ROLES: dict[str, str] = {str(value): str(label) for value, label in Role.choices}


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


NO_ID = -1  # names nothing: an empty page still asks its one query per kind, so counts stay constant
NO_UUID = uuid.UUID(int=0)


def people_in_scope(user: User, ids: set[int]) -> dict[int, str]:
    """Names of the people among ``ids`` within the auditor's scope (one query); anyone else is
    left out, exactly as an id that names no one."""
    return {
        u.pk: person_name(u)
        for u in people_choices(user)
        .filter(pk__in=ids or {NO_ID})
        .only("pk", "first_name", "last_name", "username")
    }


def _agreements(user: User, ids: set[Any]) -> dict[Any, str]:
    """Titles of the agreements among ``ids`` that one of the auditor's agencies is party to."""
    qs = policy.audit_agreements_visible_to(user).filter(pk__in=ids or {NO_UUID})
    return {
        pk: f"{title} ({reference})" for pk, title, reference in qs.values_list("pk", "title", "reference")
    }


def _agencies_in_scope(user: User, ids: set[int]) -> dict[int, str]:
    scope = policy.audit_scope_agency_ids(user)
    qs = Agency.objects.filter(pk__in=(ids if scope is None else ids & set(scope)) or {NO_ID})
    return dict(qs.values_list("pk", "name"))


def labels(user: User, events: list[AuditEvent]) -> dict[str, dict[Any, str]]:
    """Names for a page of events, a constant number of queries whatever the page size: agencies and
    people within the auditor's scope (policy.audit_scope_agency_ids), case references of the cases
    they may name (policy.audit_cases_visible_to) and titles of agreements their agencies are party
    to. Anything else keeps what the event itself recorded, as a name that does not exist would."""
    agency_ids = {e.actor_agency_id for e in events if e.actor_agency_id}
    case_ids = {e.case_id for e in events if e.case_id}
    cases = policy.audit_cases_visible_to(user).filter(pk__in=case_ids or {NO_UUID})
    return {
        "agencies": _agencies_in_scope(user, agency_ids),
        "cases": dict(cases.values_list("pk", "reference")),
        "people": people_in_scope(user, {e.actor_id for e in events if e.actor_id}),
        "agreements": _agreements(user, {e.agreement_id for e in events if e.agreement_id}),
    }


def case_reference(user: User, case_id: uuid.UUID) -> str:
    """The reference of a case the auditor may name, else its id (the same for a missing case)."""
    reference = policy.audit_cases_visible_to(user).filter(pk=case_id).values_list("reference", flat=True)
    return reference.first() or str(case_id)


def _thing(object_type: str) -> str:
    if object_type in THINGS:
        return THINGS[object_type]
    try:
        return f"a {apps.get_model(object_type)._meta.verbose_name}"
    except (LookupError, ValueError):
        return "a record"


def describe_parts(event: AuditEvent) -> tuple[str, str]:
    """The event in words around its case: ("Consulted the case summary", "") reads, with the case,
    as "Consulted the case summary of CNV-…". Ids, names and counts only."""
    verb = VERBS.get(event.op, event.get_op_display())
    if event.op in INTRANSITIVE:
        return verb, ""
    detail = event.detail if isinstance(event.detail, dict) else {}
    if event.object_type == "cases.Case" and not event.case_id and "list" in detail:
        count = detail.get("list")
        return f"{verb} the case list (headers of {count} case{'' if count == 1 else 's'})", ""
    thing = _thing(event.object_type)
    if event.object_type == "meetings.AgendaItem" and detail.get("mode") == "summary":
        thing = "the meeting's executive summary"
    return (f"{verb} {thing}" if event.object_type else verb), ""


def describe(event: AuditEvent, case_reference: str) -> str:
    """The event in words: "Consulted the case summary of CNV-…"."""
    before, after = describe_parts(event)
    return f"{before} of {case_reference}{after}" if case_reference else f"{before}{after}"


def justification(event: AuditEvent, agreements: dict[Any, str]) -> str:
    """Why, in words: the agreement by its name where the auditor's agencies are party to it."""
    if event.justification == "lead agency":
        return "Their agency leads the case"
    agreement = agreements.get(event.agreement_id) if event.agreement_id else None
    if agreement is None:
        return event.justification
    if event.justification.startswith("break-glass"):
        return f"Break-glass access under {agreement}"
    if event.justification.startswith("share"):
        return f"Shared with their agency under {agreement}"
    return f"{event.justification} (under {agreement})"


def annotate(user: User, events: list[AuditEvent]) -> list[dict[str, Any]]:
    names = labels(user, events)
    rows = []
    for e in events:
        reference = names["cases"].get(e.case_id, str(e.case_id) if e.case_id else "")
        person = names["people"].get(e.actor_id) if e.actor_id else None
        rows.append(
            {
                "event": e,
                "person": person or e.actor_username or "system",
                "in_scope": person is not None,
                "role": ROLES.get(e.actor_role, e.actor_role.replace("_", " ").capitalize()),
                "agency": names["agencies"].get(
                    e.actor_agency_id, "another agency" if e.actor_agency_id else ""
                ),
                "case_reference": reference,
                "what": describe(e, reference),
                "what_parts": describe_parts(e),
                "why": justification(e, names["agreements"]),
                "outcome": OUTCOMES.get(e.outcome, e.outcome.capitalize()),
            }
        )
    return rows


def person_name(person: User) -> str:
    """A person as people know them: their name, with the username they sign in with."""
    full = person.get_full_name()
    return f"{full} ({person.username})" if full else person.username


def person_label(user: User, person_id: int, events: list[AuditEvent]) -> str:
    """Whose trail this is: the person's name and agencies within the auditor's scope; otherwise the
    username their visible events recorded; otherwise "this person" (as for an id naming no one)."""
    scope = policy.audit_scope_agency_ids(user)
    person = people_choices(user).filter(pk=person_id).first()
    if person is not None:
        memberships = person.memberships.select_related("agency")
        agencies = sorted({m.agency.name for m in memberships if scope is None or m.agency_id in scope})
        return f"{person_name(person)} of {', '.join(agencies)}" if agencies else person_name(person)
    if events:
        return events[0].actor_username or "this person"
    return "this person"


def case_trail(user: Any, case_id: uuid.UUID) -> QuerySet[AuditEvent]:
    """Who has seen this case, when and why: consultations, disclosures, exports and break-glass."""
    return policy.audit_events_visible_to(user).filter(case_id=case_id, op__in=SEEN_OPS)


def person_trail(user: Any, person_id: int) -> QuerySet[AuditEvent]:
    """What this person has seen, and what they were refused."""
    refused = Q(op=Op.PERMISSION_DENIED) | Q(outcome="denied")
    return policy.audit_events_visible_to(user).filter(Q(op__in=SEEN_OPS) | refused, actor_id=person_id)


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
        if actor_id is None:  # excluded by the filter above
            continue
        queue = recent[actor_id]
        queue.append((at, case_id))
        while queue and at - queue[0][0] > window:
            queue.popleft()
        distinct = len({c for _, c in queue})
        if distinct >= threshold and distinct > getattr(flags.get(actor_id), "distinct_cases", 0):
            flags[actor_id] = BurstFlag(actor_id, username, queue[0][0], distinct)
    return sorted(flags.values(), key=lambda f: -f.distinct_cases)


def break_glass_awaiting_review(user: Any) -> QuerySet[BreakGlass]:
    return (
        policy.break_glass_awaiting_audit(user).select_related("case", "user", "agency").order_by("opened_at")
    )


def denied_after_revocation(user: Any) -> QuerySet[AuditEvent]:
    """Refused attempts on a case after a share of it was revoked."""
    revoked = Exists(
        AuditEvent.objects.filter(
            op=Op.SHARE_REVOKED, case_id=OuterRef("case_id"), occurred_at__lte=OuterRef("occurred_at")
        )
    )
    return (
        policy.audit_events_visible_to(user)
        .filter(Q(op=Op.PERMISSION_DENIED) | Q(outcome="denied"), case_id__isnull=False)
        .filter(Q(revoked) | Q(detail__after_revocation=True))
        .order_by("-id")
    )


# --- chain status ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ChainStatus:
    last_verification: AuditVerification | None
    last_checkpoint: AuditCheckpoint | None
    pending: int


def chain_summary(status: ChainStatus) -> str:
    """The chain's state in words, with the last verification's time and outcome."""
    last = status.last_verification
    if last is None:
        verified = "The chain has never been verified."
    else:
        when = f"{timezone.localtime(last.ran_at):%d %b %Y at %H:%M}"
        if last.ok:
            verified = f"Last verified on {when}: intact through event {last.verified_through_seq}."
        else:
            verified = f"Last verified on {when}: verification FAILED ({last.message or 'no reason given'})."
    return f"{verified} Newest events: {status.pending} awaiting sealing into the chain."


def chain_status() -> ChainStatus:
    return ChainStatus(
        AuditVerification.objects.order_by("-ran_at").first(),
        AuditCheckpoint.objects.order_by("-tree_size").first(),
        pending_count(),
    )


def people_choices(user: Any) -> QuerySet[User]:
    """The people an auditor may pick and name: members (past or present) of their agencies."""
    scope = policy.audit_scope_agency_ids(user)
    qs = User.objects.all()
    if scope is not None:
        qs = qs.filter(memberships__agency_id__in=scope).distinct()
    return qs.order_by("username")


def agency_choices(user: Any) -> QuerySet[Agency]:
    """The agencies an auditor may pick: their own (every agency for an operator)."""
    scope = policy.audit_scope_agency_ids(user)
    qs = Agency.objects.all() if scope is None else Agency.objects.filter(pk__in=scope)
    return qs.order_by("name")


def agreement_choices(user: Any) -> QuerySet[SharingAgreement]:
    """The agreements an auditor may pick: those one of their agencies is party to."""
    return policy.audit_agreements_visible_to(user).order_by("title")
