"""The schedule, declared once. Each entry is a plain, idempotent job function and its period.

Production (docker-compose): ``manage.py run_scheduler`` ticks this table and ``manage.py db_worker``
runs what it enqueues. Embedded (``make run``): run_embedded runs the same tick and the same worker
in threads of its own process. Several schedulers may tick at once: a period is claimed by inserting
its JobRun row (unique per job and slot), so each job runs once per period (scheduler.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from django.utils import timezone


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[], str]
    every: timedelta  # the period
    at: time | None = None  # for daily and weekly jobs: the local time the period starts
    description: str = ""
    weekday: int | None = None  # for weekly jobs: the day the period starts (0 is Monday)

    def slot(self, now: datetime) -> datetime:
        """The start of the period ``now`` falls in (an aware datetime)."""
        local = timezone.localtime(now)
        if self.at is not None:
            start = local.replace(hour=self.at.hour, minute=self.at.minute, second=0, microsecond=0)
            if start > local:
                start -= timedelta(days=1)
            if self.weekday is not None:
                start -= timedelta(days=(start.weekday() - self.weekday) % 7)
            return start
        seconds = int(self.every.total_seconds())
        stamp = int(now.timestamp())
        return datetime.fromtimestamp(stamp - stamp % seconds, tz=UTC)


# --- the job bodies: each calls the same service the management command calls -----------------
def retention_sweep() -> str:
    from cases.models import Case
    from lifecycle.services import do_recompute_retention

    checked = changed = 0
    rows = Case.objects.filter(erased_at__isnull=True).order_by("pk").values_list("pk", "retention_review_on")
    for pk, before in rows.iterator(chunk_size=2000):
        checked += 1
        if do_recompute_retention(Case(pk=pk)) != before:
            changed += 1
    return f"{checked} cases checked, {changed} review dates changed"


def expire_agreements() -> str:
    from sharing.services import do_expire_agreements

    return f"{len(do_expire_agreements())} agreement(s) expired"


def action_notices() -> str:
    from meetings.services import do_notify_overdue_actions

    from .services import do_notify_actions_due_soon

    overdue = do_notify_overdue_actions()
    soon = do_notify_actions_due_soon()
    return f"{overdue} overdue action(s) checked, {soon} due-soon notice(s)"


def agreement_notices() -> str:
    from .services import do_notify_agreements_expiring

    return f"{do_notify_agreements_expiring()} expiry notice(s)"


def lifecycle_notices() -> str:
    from .services import do_notify_lifecycle

    return f"{do_notify_lifecycle()} retention and subject-access notice(s)"


def email_outbox() -> str:
    from .outbox import do_send_pending_immediate

    return f"{do_send_pending_immediate(older_than_seconds=60)} notice(s) emailed"


def digests() -> str:
    from .outbox import do_send_digests

    return f"{do_send_digests()} digest(s) sent"


def _verify(*, since_checkpoint: bool) -> str:
    from audit.services import verify_chain

    result = verify_chain(since_checkpoint=since_checkpoint)
    if not result.ok:
        raise RuntimeError("audit chain verification failed")  # the run shows failed; audit_verify names it
    checked = result.verified - result.verified_from + 1 if result.verified else 0
    return f"{checked} event(s) verified, sequence {result.verified_from} to {result.verified}"


def audit_verify() -> str:
    """Nightly: events since the newest checkpoint an intact run covered, and every signature."""
    return _verify(since_checkpoint=True)


def audit_verify_full() -> str:
    """Weekly: the whole chain."""
    return _verify(since_checkpoint=False)


def audit_checkpoint() -> str:
    from audit.services import make_checkpoint

    checkpoint = make_checkpoint()
    return "chain empty" if checkpoint is None else f"checkpoint at tree size {checkpoint.tree_size}"


def clean_up() -> str:
    from .cleanup import do_clean_up

    return do_clean_up()


def reap_stale_runs() -> str:
    from .cleanup import reap_stale

    return f"{reap_stale()} stale run(s) failed"


DAY = timedelta(days=1)
SCHEDULE: tuple[Job, ...] = (
    Job("expire_agreements", expire_agreements, DAY, time(0, 15), "Expire agreements past their end date."),
    Job("retention_sweep", retention_sweep, DAY, time(1, 0), "Recompute every case's retention review date."),
    Job("audit_verify", audit_verify, DAY, time(2, 0), "Verify new audit events and every checkpoint."),
    Job(
        "audit_verify_full",
        audit_verify_full,
        7 * DAY,
        time(4, 0),
        "Verify the whole audit chain.",
        weekday=6,
    ),
    Job("clean_up", clean_up, DAY, time(3, 0), "Delete expired sessions and long-expired API tokens."),
    Job("action_notices", action_notices, DAY, time(6, 30), "Overdue and due-in-3-days action notices."),
    Job("agreement_notices", agreement_notices, DAY, time(6, 40), "Agreements ending within 30 days."),
    Job("lifecycle_notices", lifecycle_notices, DAY, time(6, 50), "Retention reviews due; SAR deadlines."),
    Job("digests", digests, DAY, time(7, 0), "One email per person for the day's digest notices."),
    Job("audit_checkpoint", audit_checkpoint, timedelta(hours=1), None, "Seal and sign a checkpoint."),
    Job("email_outbox", email_outbox, timedelta(minutes=5), None, "Send immediate emails not yet sent."),
    Job("reap_stale_runs", reap_stale_runs, timedelta(minutes=15), None, "Fail runs stuck as running."),
)
JOBS: dict[str, Job] = {job.name: job for job in SCHEDULE}
