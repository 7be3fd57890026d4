"""The schedule on the real engine: once per period however many schedulers tick; retried; a failed
or late job shows on the operations page and in /readyz's detail."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import close_old_connections
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from notifications import schedule
from notifications.models import JobRun, RunStatus
from notifications.scheduler import execute, problems, tick

from .conftest import run_worker

MORNING = timezone.make_aware(datetime(2026, 3, 10, 9, 0))


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_ticking_at_once_claim_each_period_once() -> None:
    # given two schedulers on two nodes (threads with their own connections) ticking at once
    barrier = threading.Barrier(2)
    claimed: list[int] = []
    errors: list[BaseException] = []

    def node() -> None:
        try:
            barrier.wait(timeout=10)
            claimed.extend(run.pk for run in tick(MORNING))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=node) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # then every job of the schedule was claimed and enqueued exactly once for its period
    assert errors == []
    assert len(claimed) == len(schedule.SCHEDULE) == JobRun.objects.count()
    assert DBTaskResult.objects.count() == len(schedule.SCHEDULE)
    # and a later tick in the same periods claims nothing more
    assert tick(MORNING + timedelta(minutes=1)) == []


@pytest.mark.django_db
def test_the_worker_runs_each_claimed_job_and_records_it(world: Any, monkeypatch: Any) -> None:
    calls: list[str] = []

    def digests() -> str:
        calls.append("ran")
        return "0 digest(s) sent"

    job = schedule.Job("digests", digests, timedelta(days=1))
    monkeypatch.setitem(schedule.JOBS, "digests", job)
    monkeypatch.setattr(schedule, "SCHEDULE", (job,))
    monkeypatch.setattr("notifications.scheduler.SCHEDULE", (job,))
    # when a scheduler ticks twice in one period and the real worker runs the queue twice
    tick(MORNING)
    tick(MORNING + timedelta(hours=2))
    run_worker()
    run_worker()
    # then the job ran once and its run is recorded as succeeded with its counts
    assert calls == ["ran"]
    run = JobRun.objects.get(job="digests")
    assert run.status == RunStatus.SUCCEEDED and run.summary == "0 digest(s) sent" and run.attempts == 1


@pytest.mark.django_db
def test_a_failing_job_is_retried_then_shows_failed_on_the_operations_page_and_readyz(
    world: Any, monkeypatch: Any, settings: Any, client: Any, signed_in: Any
) -> None:
    settings.CONVENE_JOB_MAX_ATTEMPTS = 2

    def broken() -> str:
        raise ValueError("Priya Shah")  # a message must never be stored: only the class name

    job = schedule.Job("retention_sweep", broken, timedelta(days=1))
    monkeypatch.setitem(schedule.JOBS, "retention_sweep", job)
    run = JobRun.objects.create(
        job="retention_sweep", slot=timezone.now() - timedelta(days=1), enqueued_at=timezone.now()
    )
    # when it fails the first time it is queued again, later
    with pytest.raises(Exception, match="retention_sweep failed"):
        execute(run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.RETRYING and run.error == "ValueError"
    retry = DBTaskResult.objects.get(task_path="notifications.tasks.run_job")
    assert retry.run_after > timezone.now()
    # and when the last attempt fails it is failed, named by its class only
    with pytest.raises(Exception, match="retention_sweep failed"):
        execute(run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.attempts == 2
    assert "Priya" not in str(list(JobRun.objects.values()))
    # then /readyz stays ready but names the failed job in its detail
    assert problems()["retention_sweep"] == "failed"
    body = client.get("/readyz").json()
    assert body["status"] == "ready" and body["detail"]["jobs"]["retention_sweep"] == "failed"
    # and the operations page shows it to a superuser, and is not found for anyone else
    assert signed_in(world.police_admin).get("/operations/jobs/").status_code == 404
    world.police_admin.is_superuser = True
    world.police_admin.save(update_fields=["is_superuser"])
    page = signed_in(world.police_admin).get("/operations/jobs/").content.decode()
    assert "retention_sweep" in page and "failed" in page and "Priya" not in page


@pytest.mark.django_db
def test_a_job_that_has_not_run_for_its_period_is_late() -> None:
    # given the nightly verification last succeeded three days ago
    job = schedule.JOBS["audit_verify"]
    old = job.slot(timezone.now() - timedelta(days=3))
    JobRun.objects.create(
        job="audit_verify", slot=old, enqueued_at=old, status=RunStatus.SUCCEEDED, finished_at=old
    )
    # then it is late
    assert problems()["audit_verify"] == "late"


def test_daily_slots_start_at_the_declared_local_time() -> None:
    job = schedule.JOBS["digests"]  # 07:00 local
    before = timezone.make_aware(datetime(2026, 3, 10, 6, 59))
    after = timezone.make_aware(datetime(2026, 3, 10, 7, 1))
    assert timezone.localtime(job.slot(after)).strftime("%d %H:%M") == "10 07:00"
    assert timezone.localtime(job.slot(before)).strftime("%d %H:%M") == "09 07:00"


def test_weekly_slots_start_on_the_declared_day_and_time() -> None:
    job = schedule.JOBS["audit_verify_full"]  # Sundays 04:00 local
    thursday = timezone.make_aware(datetime(2026, 12, 3, 12, 0))
    sunday_early = timezone.make_aware(datetime(2026, 12, 6, 3, 59))
    sunday_late = timezone.make_aware(datetime(2026, 12, 6, 4, 1))
    assert timezone.localtime(job.slot(thursday)).strftime("%a %d %H:%M") == "Sun 29 04:00"
    assert timezone.localtime(job.slot(sunday_early)).strftime("%a %d %H:%M") == "Sun 29 04:00"
    assert timezone.localtime(job.slot(sunday_late)).strftime("%a %d %H:%M") == "Sun 06 04:00"
