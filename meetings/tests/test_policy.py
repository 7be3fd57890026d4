"""Meeting rules in sharing.policy: per object, as a queryset, and per item, for every persona."""

from __future__ import annotations

import pytest

from agencies.services import do_end_membership
from meetings.models import Meeting
from sharing import policy

from .helpers import schedule

pytestmark = pytest.mark.django_db


def test_meetings_visible_to_agrees_with_can_view_meeting_for_every_persona(world):
    # given two meetings with different attendees
    schedule(world)
    schedule(world, days=2, attendees=("isac_practitioner",))
    meetings = list(Meeting.objects.all())
    # then the queryset and the per-object rule agree for everyone
    for user in world.users.values():
        policy.forget(user)
        expected = {m.pk for m in meetings if policy.can_view_meeting(user, m)}
        assert set(policy.meetings_visible_to(user).values_list("pk", flat=True)) == expected, user.username


@pytest.mark.parametrize(
    ("persona", "mode", "victim_part"),
    [
        ("police_practitioner", "minutes", True),
        ("probation_practitioner", "minutes", True),
        ("cps_practitioner", "minutes", True),
        ("health_practitioner", "minutes", False),
    ],
)
def test_item_view_by_persona(world, persona, mode, victim_part):
    from meetings.models import MinuteEntry

    meeting = schedule(world)
    item = meeting.items.get()
    view = policy.agenda_item_view(getattr(world, persona), meeting, item)
    assert view is not None and view.mode == mode
    fields = policy.minute_fields(view, MinuteEntry(item=item, owner_agency=world.agencies["police"]))
    assert ("victim_safety_minutes" in fields) is victim_part
    assert "body" in fields


def test_ended_membership_loses_the_meeting(world):
    meeting = schedule(world)
    user = world.probation_practitioner
    assert policy.can_view_meeting(user, meeting)
    do_end_membership(
        membership=world.memberships["probation_practitioner"], acting_user=world.probation_admin
    )
    policy.forget(user)
    assert not policy.can_view_meeting(user, meeting)
    assert not policy.meetings_visible_to(user).exists()


def test_an_erased_case_shows_nothing_even_to_a_third_party(world):
    from django.utils import timezone

    from cases.models import Case
    from meetings import services
    from meetings.models import AttendeeRole

    # given a third party at a meeting whose case is then erased
    meeting = schedule(world)
    attendee = services.do_invite(
        meeting=meeting,
        agency=world.agencies["outsider"],
        user=world.outsider_practitioner,
        role=AttendeeRole.THIRD_PARTY,
        acting_user=world.police_chair,
    )
    services.do_acknowledge_confidentiality(attendee=attendee, acting_user=world.outsider_practitioner)
    Case.objects.filter(pk=world.case.pk).update(erased_at=timezone.now())
    item = meeting.items.select_related("case").get()
    # then nobody is given anything to decrypt
    for user in (world.outsider_practitioner, world.police_practitioner):
        policy.forget(user)
        view = policy.agenda_item_view(user, meeting, item)
        assert view is not None and view.mode == "not_shared"
