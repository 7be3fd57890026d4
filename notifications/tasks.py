"""Background tasks (django-tasks, database backend). Thin: each calls a service function.

``run_job`` runs one scheduled period of one job (see schedule.py) with its own retry: a failure is
recorded on the JobRun (the exception's class name only: messages might carry a value) and the
task is enqueued again after a delay, up to CONVENE_JOB_MAX_ATTEMPTS.
"""

from __future__ import annotations

from django_tasks import task

from .models import EmailMode


class JobFailed(Exception):
    """Raised in place of a job's own exception, so no message reaches the task result table."""


@task()
def send_immediate_email(user_id: int) -> int:
    from .services import do_send_email

    try:
        return do_send_email(user_id=user_id, mode=EmailMode.IMMEDIATE)
    except Exception as exc:  # the outbox sweep (schedule.py) sends it later
        raise JobFailed(type(exc).__name__) from None


@task()
def run_job(run_id: int) -> str:
    from .scheduler import execute

    return execute(run_id)
