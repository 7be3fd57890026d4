"""Session and token clean-up (the nightly ``clean_up`` job)."""

from __future__ import annotations

from datetime import datetime, timedelta
from importlib import import_module

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from agencies.models import ApiToken
from audit.models import Op
from audit.services import record_event

from .models import JobRun, RunStatus

TOKEN_KEEP_DAYS = 90  # an expired or revoked token's row is kept this long for the people pages


def do_clean_up() -> str:
    engine = import_module(settings.SESSION_ENGINE)
    engine.SessionStore.clear_expired()
    cutoff = timezone.now() - timedelta(days=TOKEN_KEEP_DAYS)
    old = ApiToken.objects.filter(Q(expires_at__lt=cutoff) | Q(revoked_at__lt=cutoff))
    ids = [str(pk) for pk in old.values_list("pk", flat=True)]
    if ids:
        old.delete()
        record_event(
            Op.TOKEN_REVOKED,
            object_type="agencies.ApiToken",
            detail={"change": "deleted long-expired tokens", "tokens": ids},
        )
    return f"expired sessions cleared; {len(ids)} old token(s) deleted"


def reap_stale(now: datetime | None = None) -> int:
    """Runs left 'running' by a worker that died: marked failed, so they show (and the next period runs)."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.CONVENE_JOB_STALE_MINUTES)
    return JobRun.objects.filter(status=RunStatus.RUNNING, started_at__lt=cutoff).update(
        status=RunStatus.FAILED, finished_at=now, error="WorkerLost"
    )
