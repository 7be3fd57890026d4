"""A refused case id: the policy only decides (it writes nothing), and each surface records the
attempt exactly once (sharing/denials.py), with the same 404 as before."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from audit.models import AuditEvent, Op
from meetings.tests.helpers import schedule
from sharing import policy
from sharing.denials import record


def denials_of(user, case_id) -> int:
    return AuditEvent.objects.filter(op=Op.PERMISSION_DENIED, actor_id=user.pk, case_id=case_id).count()


@pytest.mark.django_db
def test_the_policy_refuses_a_forbidden_or_missing_case_without_writing_any_row(world) -> None:
    # given an outsider practitioner, the real case and an id that does not exist
    missing = uuid.uuid4()
    before = AuditEvent.objects.count()

    # when the policy is asked directly for each
    with pytest.raises(policy.Denied) as forbidden:
        policy.access_case(world.outsider_practitioner, world.case.pk)
    with pytest.raises(policy.Denied) as made_up:
        policy.access_case(world.outsider_practitioner, missing)

    # then both refusals carry what to record, alike, and nothing was written
    assert (forbidden.value.reason, forbidden.value.case_id) == ("access_case", world.case.pk)
    assert (made_up.value.reason, made_up.value.case_id) == ("access_case", missing)
    assert forbidden.value.user == made_up.value.user == world.outsider_practitioner
    assert str(forbidden.value) == str(made_up.value) == "No such case."
    assert AuditEvent.objects.count() == before


@pytest.mark.django_db
def test_a_refused_case_page_records_exactly_one_denial(world, signed_in) -> None:
    # given an outsider practitioner
    client = signed_in(world.outsider_practitioner)

    # when they open the real case's page and a made-up one
    missing = uuid.uuid4()
    real = client.get(reverse("cases:detail", args=[world.case.pk]))
    made_up = client.get(reverse("cases:detail", args=[missing]))

    # then both are the same 404, each recorded once
    assert real.status_code == made_up.status_code == 404
    assert real.content == made_up.content
    assert denials_of(world.outsider_practitioner, world.case.pk) == 1
    assert denials_of(world.outsider_practitioner, missing) == 1


@pytest.mark.django_db
def test_a_refused_case_in_the_api_records_exactly_one_denial(world, api) -> None:
    # given an outsider practitioner on the API
    client = api(world.outsider_practitioner)

    # when they ask for the real case and a made-up one
    missing = uuid.uuid4()
    real = client.get(reverse("api:case-detail", args=[world.case.pk]))
    made_up = client.get(reverse("api:case-detail", args=[missing]))

    # then both are the same 404 body, each recorded once
    assert real.status_code == made_up.status_code == 404
    assert real.json() == made_up.json()
    assert denials_of(world.outsider_practitioner, world.case.pk) == 1
    assert denials_of(world.outsider_practitioner, missing) == 1


@pytest.mark.django_db
def test_a_case_refused_to_the_agenda_form_is_recorded_once(world, signed_in) -> None:
    # given the police chair's meeting
    meeting = schedule(world)
    missing = uuid.uuid4()

    # when they try to add a case id that does not exist to its agenda
    response = signed_in(world.police_chair).post(
        reverse("meetings:add_case", args=[meeting.pk]), {"case": str(missing)}
    )

    # then the form answers with its message (a redirect back), and the attempt is recorded once
    assert response.status_code == 302
    assert denials_of(world.police_chair, missing) == 1


@pytest.mark.django_db
def test_an_anonymous_refusal_is_not_recorded(world) -> None:
    # given nobody signed in, refused a case by the policy
    before = AuditEvent.objects.count()
    with pytest.raises(policy.Denied) as refused:
        policy.access_case(AnonymousUser(), world.case.pk)
    # when the surface's recorder is handed the refusal
    record(refused.value)
    # then there is no actor to record, so nothing is written (as before the policy became pure)
    assert AuditEvent.objects.count() == before
