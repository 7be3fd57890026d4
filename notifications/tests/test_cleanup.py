"""The nightly clean-up: expired sessions, and API tokens long expired or revoked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from agencies.models import ApiToken
from agencies.services import do_issue_token
from notifications.schedule import JOBS

pytestmark = pytest.mark.django_db


def test_clean_up_removes_expired_sessions_and_long_expired_tokens_only(world: Any, signed_in: Any) -> None:
    signed_in(world.police_practitioner)  # a live session
    Session.objects.create(
        session_key="x" * 32, session_data="", expire_date=timezone.now() - timedelta(days=1)
    )
    old, _ = do_issue_token(user=world.police_practitioner, days=3)
    recent, _ = do_issue_token(user=world.police_practitioner, days=3)
    ApiToken.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(days=120))
    ApiToken.objects.filter(pk=recent.pk).update(expires_at=timezone.now() - timedelta(days=2))
    summary = JOBS["clean_up"].run()
    assert "1 old token(s) deleted" in summary
    assert not Session.objects.filter(expire_date__lt=timezone.now()).exists()
    assert Session.objects.exists()
    assert list(ApiToken.objects.filter(pk__in=[old.pk, recent.pk]).values_list("pk", flat=True)) == [
        recent.pk
    ]
