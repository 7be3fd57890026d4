"""Sending the notification emails: one content-free message per person for the notices waiting in
immediate or digest mode, audited as a disclosure of its count, and the background task that sends
an immediate one after commit.

Its own module so that the task and what it runs sit below the task runner (tasks.py, which runs
scheduled jobs that call other apps' services, which call do_notify): no import goes round in a circle.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from agencies.models import User
from audit.models import Op
from audit.services import record_event

from .email import send_summary
from .models import EmailMode, Notification


class JobFailed(Exception):
    """Raised in place of a job's own exception, so no message reaches the task result table."""


@task()
def send_immediate_email(user_id: int) -> int:
    try:
        return do_send_email(user_id=user_id, mode=EmailMode.IMMEDIATE)
    except Exception as exc:  # the outbox sweep (schedule.py) sends it later
        raise JobFailed(type(exc).__name__) from None


def do_send_email(*, user_id: int, mode: str, before: datetime | None = None) -> int:
    """Send one content-free email for the person's notices waiting in ``mode`` (immediate or
    digest), mark them emailed and audit the email. Returns the number of notices it covered.

    Idempotent: notices already emailed are never counted again. The rows are locked while the
    message is handed to the mail server, so two workers cannot send the same notices twice."""
    with transaction.atomic():
        pending = Notification.objects.select_for_update().filter(
            recipient_id=user_id, email_mode=mode, emailed_at__isnull=True
        )
        if before is not None:
            pending = pending.filter(created_at__lt=before)
        rows = list(pending.order_by("created_at").values_list("pk", flat=True))
        if not rows:
            return 0
        user = User.objects.filter(pk=user_id, is_active=True).first()
        sent = (
            user is not None
            and bool(user.email)
            and send_summary(user, len(rows), digest=mode == EmailMode.DIGEST)
        )
        Notification.objects.filter(pk__in=rows).update(emailed_at=timezone.now())
        if sent:
            record_event(
                Op.DISCLOSE,
                object_type="email",
                object_id=f"user:{user_id}",
                recipients=[f"user:{user_id}"],
                justification="notification email",
                detail={"email": mode, "count": len(rows), "notifications": [str(pk) for pk in rows]},
            )
    return len(rows)


def do_send_pending_immediate(*, older_than_seconds: int = 0) -> int:
    """The outbox sweep: immediate notices whose email was not sent yet (a failed send retried)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    users = (
        Notification.objects.filter(
            email_mode=EmailMode.IMMEDIATE, emailed_at__isnull=True, created_at__lte=cutoff
        )
        .values_list("recipient_id", flat=True)
        .distinct()
    )
    return sum(do_send_email(user_id=u, mode=EmailMode.IMMEDIATE) for u in sorted(set(users)))


def do_send_digests(*, now: datetime | None = None) -> int:
    """One email per person collecting every digest notice made before ``now``."""
    now = now or timezone.now()
    users = (
        Notification.objects.filter(email_mode=EmailMode.DIGEST, emailed_at__isnull=True, created_at__lt=now)
        .values_list("recipient_id", flat=True)
        .distinct()
    )
    sent = 0
    for user_id in sorted(set(users)):
        if do_send_email(user_id=user_id, mode=EmailMode.DIGEST, before=now):
            sent += 1
    return sent
