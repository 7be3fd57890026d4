"""Meeting pages: access (404 for forbidden), confidentiality, per-attendee minutes, summary, errors."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent, Op
from cases import choices as cc
from meetings import services
from meetings.models import AttendeeRole

from .helpers import MINUTES_BODY, SUMMARY, VICTIM_LOCATION, schedule, start

pytestmark = pytest.mark.django_db


def _minuted(world):
    meeting = start(schedule(world))
    item = meeting.items.get()
    services.do_record_minutes(
        item=item,
        body=MINUTES_BODY,
        victim_safety_minutes=VICTIM_LOCATION,
        executive_summary=SUMMARY,
        version=0,
        acting_user=world.police_chair,
    )
    meeting.refresh_from_db()
    return meeting, item


def test_meeting_is_not_found_for_a_non_attendee(world, signed_in):
    meeting = schedule(world)
    for user in (world.outsider_practitioner, world.isac_practitioner, world.police_auditor):
        assert signed_in(user).get(f"/meetings/{meeting.pk}/").status_code == 404
    assert signed_in(world.police_practitioner).get("/meetings/not-a-uuid/").status_code == 404


def test_chair_controls_are_not_found_for_anyone_but_the_chair(world, signed_in):
    meeting = schedule(world)
    response = signed_in(world.police_practitioner).post(
        f"/meetings/{meeting.pk}/start/", {"version": meeting.version}
    )
    assert response.status_code == 404
    meeting.refresh_from_db()
    assert meeting.status == "scheduled"


def test_attendee_must_acknowledge_before_seeing_items(world, signed_in):
    # given an invited attendee who has not acknowledged
    meeting = schedule(world, attendees=("probation_practitioner",), acknowledge=False)
    client = signed_in(world.probation_practitioner)
    # then the room redirects to the statement
    response = client.get(f"/meetings/{meeting.pk}/")
    assert response.status_code == 302 and response["Location"].endswith("/confidentiality/")
    # and the fragment shows no item content
    room = client.get(f"/meetings/{meeting.pk}/room/").content.decode()
    assert "Acknowledge the confidentiality statement" in room
    assert world.case.reference not in room
    # when they post without confirming, the error names the checkbox
    response = client.post(f"/meetings/{meeting.pk}/confidentiality/", {})
    assert response.status_code == 400 and 'href="#confirm"' in response.content.decode()
    # when they confirm, the room opens
    client.post(f"/meetings/{meeting.pk}/confidentiality/", {"confirm": "yes"})
    assert client.get(f"/meetings/{meeting.pk}/").status_code == 200


def test_health_copy_of_minutes_omits_victim_location_and_police_copy_has_it(world, signed_in):
    meeting, _item = _minuted(world)
    health = signed_in(world.health_practitioner).get(f"/meetings/{meeting.pk}/minutes/").content.decode()
    police = signed_in(world.police_practitioner).get(f"/meetings/{meeting.pk}/minutes/").content.decode()
    assert MINUTES_BODY in health and VICTIM_LOCATION not in health
    assert MINUTES_BODY in police and VICTIM_LOCATION in police
    export = signed_in(world.health_practitioner).get(f"/meetings/{meeting.pk}/minutes/?format=txt")
    assert export["Content-Disposition"].startswith("attachment")
    assert VICTIM_LOCATION not in export.content.decode()
    assert AuditEvent.objects.filter(op=Op.EXPORT, object_id=str(meeting.pk)).exists()


def test_third_party_gets_the_executive_summary_only(world, signed_in):
    # given a third party from an agency the case is not shared with
    meeting, _item = _minuted(world)
    attendee = services.do_invite(
        meeting=meeting,
        agency=world.agencies["outsider"],
        user=world.outsider_practitioner,
        role=AttendeeRole.THIRD_PARTY,
        acting_user=world.police_chair,
    )
    services.do_acknowledge_confidentiality(attendee=attendee, acting_user=world.outsider_practitioner)
    client = signed_in(world.outsider_practitioner)
    # then the minutes page sends them to the summary, which has the summary and nothing else
    assert client.get(f"/meetings/{meeting.pk}/minutes/")["Location"].endswith("/summary/")
    summary = client.get(f"/meetings/{meeting.pk}/summary/").content.decode()
    assert SUMMARY in summary
    assert MINUTES_BODY not in summary and VICTIM_LOCATION not in summary
    room = client.get(f"/meetings/{meeting.pk}/room/").content.decode()
    assert MINUTES_BODY not in room and VICTIM_LOCATION not in room


def test_reading_an_item_is_audited_with_the_justification(world, signed_in):
    meeting, item = _minuted(world)
    signed_in(world.health_practitioner).get(f"/meetings/{meeting.pk}/items/{item.pk}/")
    event = AuditEvent.objects.filter(
        op=Op.CONSULT, actor_id=world.health_practitioner.pk, object_id=str(item.pk)
    ).get()
    assert event.justification.startswith("share ")
    assert event.categories == ["C10"]
    assert MINUTES_BODY not in str(event.detail)


def test_stale_minutes_edit_is_shown_as_a_conflict(world, signed_in):
    meeting, item = _minuted(world)
    client = signed_in(world.police_chair)
    response = client.post(
        f"/meetings/{meeting.pk}/items/{item.pk}/minutes/", {"version": 0, "body": "Overwrite"}
    )
    assert response.status_code == 409
    assert "changed" in response.content.decode() and "version 1" in response.content.decode()
    assert item.minutes.body == MINUTES_BODY


def test_decision_without_text_names_the_field(world, signed_in):
    meeting, item = _minuted(world)
    response = signed_in(world.police_chair).post(
        f"/meetings/{meeting.pk}/items/{item.pk}/decision/", {"kind": "general", "text": "", "rationale": "r"}
    )
    assert response.status_code == 400
    assert 'href="#id_text"' in response.content.decode()
    assert not item.decisions.exists()


def test_signed_off_minutes_cannot_be_edited_through_the_page(world, signed_in):
    meeting, item = _minuted(world)
    services.do_sign_off(meeting=meeting, version=meeting.version, acting_user=world.police_chair)
    client = signed_in(world.police_chair)
    response = client.post(
        f"/meetings/{meeting.pk}/items/{item.pk}/minutes/", {"version": 1, "body": "Changed"}
    )
    assert response.status_code == 400 and "addendum" in response.content.decode()
    response = client.post(
        f"/meetings/{meeting.pk}/items/{item.pk}/addendum/", {"text": "Fixed date", "category": "C10"}
    )
    assert response.status_code == 302
    assert (
        "Fixed date"
        in signed_in(world.probation_practitioner).get(f"/meetings/{meeting.pk}/minutes/").content.decode()
    )


def test_chair_runs_the_meeting_through_the_pages(world, signed_in):
    meeting = schedule(world)
    client = signed_in(world.police_chair)
    assert client.post(f"/meetings/{meeting.pk}/start/", {"version": meeting.version}).status_code == 302
    meeting.refresh_from_db()
    item = meeting.items.get()
    due = (timezone.localdate() + timedelta(days=14)).isoformat()
    response = client.post(
        f"/meetings/{meeting.pk}/items/{item.pk}/action/",
        {
            "pillar": cc.Pillar.SUPERVISION,
            "text": "Weekly reporting",
            "owner": world.probation_practitioner.pk,
            "due_on": due,
        },
    )
    assert response.status_code == 302
    room = signed_in(world.probation_practitioner).get(f"/meetings/{meeting.pk}/room/").content.decode()
    assert "Weekly reporting" in room and "Now discussing" in room


def test_meeting_list_uses_a_constant_number_of_queries(world, signed_in, django_assert_max_num_queries):
    client = signed_in(world.probation_practitioner)
    schedule(world, attendees=("probation_practitioner",))
    client.get("/meetings/")
    with django_assert_max_num_queries(12) as few:
        client.get("/meetings/")
    for days in (2, 3, 4, 5):
        schedule(world, days=days, attendees=("probation_practitioner",))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/meetings/")
    assert response.content.decode().count("MAPPA level 2 review") == 5


def test_chair_schedules_through_the_page_and_sees_the_controls(world, signed_in):
    client = signed_in(world.police_chair)
    assert client.get("/meetings/new/").status_code == 200
    # a missing title is named
    response = client.post(
        "/meetings/new/", {"forum": "mappa", "title": "", "scheduled_for": "2030-01-01T10:00"}
    )
    assert response.status_code == 400 and 'href="#id_title"' in response.content.decode()
    response = client.post(
        "/meetings/new/", {"forum": "mappa", "title": "Level 2 review", "scheduled_for": "2030-01-01T10:00"}
    )
    assert response.status_code == 302
    # the chair, too, acknowledges the statement before the room opens
    statement = client.get(response["Location"], follow=True)
    assert "Confidentiality statement" in statement.content.decode()
    room = client.post(statement.redirect_chain[-1][0], {"confirm": "yes"}, follow=True)
    assert room.status_code == 200
    body = room.content.decode()
    assert "Chair controls" in body and "Start the meeting" in body and world.case.reference in body
    # practitioners cannot schedule
    assert signed_in(world.police_practitioner).get("/meetings/new/").status_code == 404


def test_the_room_offers_an_action_only_to_agencies_working_on_the_items_case(world, signed_in):
    # given a review attended by probation, whose share of the case has since been revoked
    from sharing.models import CaseShare
    from sharing.services import do_revoke_share

    meeting = start(schedule(world))
    item = meeting.items.get()
    share = CaseShare.objects.live().get(case=item.case, agency=world.agencies["probation"])
    do_revoke_share(share=share, reason="Probation no longer supervises", acting_user=world.police_chair)
    client = signed_in(world.police_chair)
    # then the item's owner list leaves probation out (before: every attending agency's people)
    room = client.get(f"/meetings/{meeting.pk}/room/").content.decode()
    owner_select = room.split(f'id="ao-{item.pk}"', 1)[1].split("</select>", 1)[0]
    assert str(world.agencies["probation"]) not in owner_select
    assert f'value="{world.police_practitioner.pk}"' in owner_select
    # and every person it does offer can be given the action
    due = (timezone.localdate() + timedelta(days=14)).isoformat()
    for value in re.findall(r'value="(\d+)"', owner_select):
        response = client.post(
            f"/meetings/{meeting.pk}/items/{item.pk}/action/",
            {"pillar": cc.Pillar.SUPERVISION, "text": f"Action for {value}", "owner": value, "due_on": due},
        )
        assert response.status_code == 302, value
    # and probation's practitioner is refused, naming the field, with nothing written
    before = item.case.actions.count()
    response = client.post(
        f"/meetings/{meeting.pk}/items/{item.pk}/action/",
        {
            "pillar": cc.Pillar.SUPERVISION,
            "text": "Weekly reporting",
            "owner": world.probation_practitioner.pk,
            "due_on": due,
        },
    )
    assert response.status_code == 400
    assert item.case.actions.count() == before
