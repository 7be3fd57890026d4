"""Background tasks (django-tasks, database backend). Thin: each calls a service function. The email
task is outbox.py's (``send_immediate_email``), so that nothing below the job runner imports it.

``run_job`` runs one scheduled period of one job (see schedule.py) with its own retry: a failure is
recorded on the JobRun (the exception's class name only: messages might carry a value) and the
task is enqueued again after a delay, up to CONVENE_JOB_MAX_ATTEMPTS.
"""

from __future__ import annotations

from django_tasks import task

from .outbox import JobFailed


@task()
def run_job(run_id: int) -> str:
    from .scheduler import execute

    return execute(run_id)


__all__ = ["JobFailed", "run_job"]
