"""The demo seed: tomorrow's review with a proposed agenda, and a signed-off past review. Idempotent."""

from __future__ import annotations

import pytest

from cases import choices as cc
from cases.models import Action
from meetings.models import AgendaReason, Meeting, MeetingStatus

pytestmark = pytest.mark.django_db


def test_demo_seed_builds_the_reviews_once(settings):
    from agencies.demo import seed

    # given the demo world seeded twice
    seed(log=lambda line: None)
    seed(log=lambda line: None)
    # then there is one past signed-off review and one review tomorrow
    past = Meeting.objects.get(status=MeetingStatus.SIGNED_OFF)
    upcoming = Meeting.objects.get(status=MeetingStatus.SCHEDULED)
    assert upcoming.chair.username == "police.chair"
    assert upcoming.attendees.filter(user__isnull=True).count() == 5
    assert upcoming.items.exists()
    # the past review has minutes, decisions, dissent and an addendum
    assert past.items.filter(minutes__isnull=False).exists()
    assert past.items.filter(decisions__dissents__isnull=False).exists()
    assert past.items.filter(addenda__isnull=False).exists()
    # and its open actions are carried forward onto tomorrow's agenda
    open_cases = set(
        Action.objects.filter(meeting=past.pk, status__in=cc.OPEN_ACTION_STATUSES).values_list(
            "case_id", flat=True
        )
    )
    assert open_cases
    carried = set(
        upcoming.items.filter(reason=AgendaReason.CARRIED_FORWARD).values_list("case_id", flat=True)
    )
    assert open_cases <= carried
