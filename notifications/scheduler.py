"""The scheduler: turns the schedule (schedule.py) into tasks, once per job and period.

``tick`` may run on any number of nodes at once. For each job it inserts the JobRun row for the
current period and enqueues the task in the same transaction; the unique ``(job, slot)`` constraint
lets exactly one insert win, and the others roll back their savepoint and move on. The task itself
(``execute``) is run by django-tasks' database worker and retries a failed job with a delay.

A period missed while nothing ticked (an outage over 02:00) is still run at the next tick: the
current slot is the latest period start, whenever the tick comes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from .models import JobRun, RunStatus
from .schedule import JOBS, SCHEDULE, Job

log = logging.getLogger(__name__)
LOCKED_RETRIES = 20


def tick(now: datetime | None = None) -> list[JobRun]:
    """Claim and enqueue every job whose current period has no run yet. Returns the runs claimed."""
    from .tasks import run_job

    now = now or timezone.now()
    claimed = []
    for job in SCHEDULE:
        slot = job.slot(now)
        for attempt in range(1, LOCKED_RETRIES + 1):
            try:
                if JobRun.objects.filter(job=job.name, slot=slot).exists():
                    break
                with transaction.atomic():
                    run = JobRun.objects.create(job=job.name, slot=slot, enqueued_at=now)
                    run_job.enqueue(run.pk)
            except IntegrityError:
                break  # another scheduler claimed this period first
            except OperationalError as exc:
                # SQLite answers a concurrent writer "database is locked" rather than waiting
                if "locked" not in str(exc).lower() or attempt == LOCKED_RETRIES:
                    raise
                time.sleep(0.05 * attempt)
                continue
            claimed.append(run)
            break
    return claimed


def execute(run_id: int) -> str:
    """Run one claimed period of a job. Idempotent: a run already finished is not run again."""
    from .tasks import JobFailed, run_job

    with transaction.atomic():
        run = JobRun.objects.select_for_update().get(pk=run_id)
        if run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.RUNNING):
            return f"{run.job}: already {run.status}"
        run.status = RunStatus.RUNNING
        run.attempts += 1
        run.started_at = timezone.now()
        run.save(update_fields=["status", "attempts", "started_at"])
    job = JOBS[run.job]
    try:
        summary = job.run()
    except Exception as exc:  # noqa: BLE001 - recorded by class name; retried or marked failed
        error = type(exc).__name__
        retry = run.attempts < settings.CONVENE_JOB_MAX_ATTEMPTS
        log.warning("job %s attempt %s failed: %s", run.job, run.attempts, error)
        with transaction.atomic():
            JobRun.objects.filter(pk=run.pk).update(
                status=RunStatus.RETRYING if retry else RunStatus.FAILED,
                finished_at=timezone.now(),
                error=error[:120],
            )
            if retry:
                delay = timedelta(seconds=settings.CONVENE_JOB_RETRY_SECONDS * run.attempts)
                run_job.using(run_after=timezone.now() + delay).enqueue(run.pk)
        raise JobFailed(f"{run.job} failed ({error})") from None
    JobRun.objects.filter(pk=run.pk).update(
        status=RunStatus.SUCCEEDED, finished_at=timezone.now(), error="", summary=str(summary)[:200]
    )
    return str(summary)


# --- status, for the operations page and /readyz ------------------------------------------------
@dataclass(frozen=True)
class JobStatus:
    job: Job
    last: JobRun | None
    last_success: JobRun | None
    late: bool
    failed: bool

    @property
    def state(self) -> str:
        if self.failed:
            return "failed"
        if self.late:
            return "late"
        return "ok" if self.last_success is not None else "waiting"


def grace(job: Job) -> timedelta:
    """How long after its period starts a job may take before it counts as late."""
    return min(job.every / 2, timedelta(hours=1)) + timedelta(minutes=5)


def job_statuses(now: datetime | None = None) -> list[JobStatus]:
    now = now or timezone.now()
    statuses = []
    for job in SCHEDULE:
        runs = JobRun.objects.filter(job=job.name)
        last = runs.order_by("-slot").first()
        last_success = runs.filter(status=RunStatus.SUCCEEDED).order_by("-slot").first()
        expected = job.slot(now)
        # late: the current period started more than its grace ago and has not succeeded, and the
        # previous one did not either (a first deployment is "waiting", not late)
        due = expected if now - expected > grace(job) else job.slot(expected - timedelta(seconds=1))
        has_history = last is not None
        late = has_history and (last_success is None or last_success.slot < due)
        failed = last is not None and last.status == RunStatus.FAILED
        statuses.append(JobStatus(job, last, last_success, late, failed))
    return statuses


def problems(now: datetime | None = None) -> dict[str, str]:
    """Jobs that failed or are late: ``{job name: "failed" | "late"}`` (names and states only)."""
    return {s.job.name: s.state for s in job_statuses(now) if s.state in ("failed", "late")}
