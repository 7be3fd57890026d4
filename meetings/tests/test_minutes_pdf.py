"""The minutes as PDF: each agency's own copy (what its .txt copy holds), marked on every page with
the recipient, their agency and the time; issuing it is a disclosure; a non-attendee gets a 404."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from audit.models import AuditEvent, Op
from meetings import services
from meetings.models import AttendeeRole

from .helpers import MINUTES_BODY, SUMMARY, VICTIM_LOCATION
from .test_views import _minuted

pytestmark = pytest.mark.django_db


def _pages(response) -> list[str]:
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment")
    # a line the layout wrapped reads as one: compare with single spaces
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(response.content)).pages]


def test_each_agency_gets_its_own_marked_copy_and_health_never_the_victim_location(world, signed_in):
    # given minutes with a victim-safety entry, and a health attendee whose name needs Unicode
    meeting, _item = _minuted(world)
    health = world.health_practitioner
    health.first_name, health.last_name = "Zoë", "Łukasiewicz"
    health.save(update_fields=["first_name", "last_name"])
    # when health and police download their PDF copies
    health_pages = _pages(signed_in(health).get(f"/meetings/{meeting.pk}/minutes/pdf/"))
    police_pages = _pages(signed_in(world.police_practitioner).get(f"/meetings/{meeting.pk}/minutes/pdf/"))
    # then each page of health's copy is marked with Zoë Łukasiewicz, her agency and the time
    agency = world.agencies["health"].name
    for text in health_pages:
        assert (
            "OFFICIAL-SENSITIVE — copy for Zoë Łukasiewicz" in text and agency in text and "issued " in text
        )
    # and health's copy has the minutes but never the victim's location; police's has both
    health_text, police_text = "\n".join(health_pages), "\n".join(police_pages)
    assert MINUTES_BODY in health_text and SUMMARY in health_text
    assert VICTIM_LOCATION not in health_text and "Willow Court" not in health_text
    assert MINUTES_BODY in police_text and VICTIM_LOCATION in police_text
    for text in police_pages:
        assert world.agencies["police"].name in text


def test_the_download_is_recorded_as_a_disclosure_to_the_recipient(world, signed_in):
    meeting, _item = _minuted(world)
    user = world.probation_practitioner
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    signed_in(user).get(f"/meetings/{meeting.pk}/minutes/pdf/")
    event = AuditEvent.objects.get(id__gt=before, op=Op.DISCLOSE, object_id=str(meeting.pk))
    assert event.actor_id == user.pk
    assert event.justification == "meeting attendee"
    assert set(event.recipients) == {f"user:{user.pk}", f"agency:{world.agencies['probation'].pk}"}
    assert MINUTES_BODY not in str(event.detail)


def test_a_non_attendee_gets_not_found_and_nothing_is_disclosed(world, signed_in):
    meeting, _item = _minuted(world)
    for user in (world.outsider_practitioner, world.isac_practitioner):
        response = signed_in(user).get(f"/meetings/{meeting.pk}/minutes/pdf/")
        assert response.status_code == 404
    assert not AuditEvent.objects.filter(op=Op.DISCLOSE, object_id=str(meeting.pk)).exists()


def test_the_meeting_page_and_minutes_page_link_to_the_pdf(world, signed_in):
    meeting, _item = _minuted(world)
    client = signed_in(world.police_practitioner)
    link = f"/meetings/{meeting.pk}/minutes/pdf/"
    assert link in client.get(f"/meetings/{meeting.pk}/").content.decode()
    assert link in client.get(f"/meetings/{meeting.pk}/minutes/").content.decode()


def test_a_third_party_or_unacknowledged_attendee_gets_no_pdf_of_the_minutes(world, signed_in):
    # given a third party (executive summary only) and an attendee yet to acknowledge confidentiality
    meeting, _item = _minuted(world)
    third = services.do_invite(
        meeting=meeting,
        agency=world.agencies["outsider"],
        user=world.outsider_practitioner,
        role=AttendeeRole.THIRD_PARTY,
        acting_user=world.police_chair,
    )
    services.do_acknowledge_confidentiality(attendee=third, acting_user=world.outsider_practitioner)
    services.do_invite(
        meeting=meeting,
        agency=world.agencies["isac"],
        user=world.isac_practitioner,
        acting_user=world.police_chair,
    )
    # when each asks for the PDF / then each is sent where the minutes page sends them, and no copy issued
    third_party = signed_in(world.outsider_practitioner).get(f"/meetings/{meeting.pk}/minutes/pdf/")
    assert third_party.status_code == 302 and third_party["Location"].endswith("/summary/")
    unacknowledged = signed_in(world.isac_practitioner).get(f"/meetings/{meeting.pk}/minutes/pdf/")
    assert unacknowledged.status_code == 302 and unacknowledged["Location"].endswith("/confidentiality/")
    assert not AuditEvent.objects.filter(op=Op.DISCLOSE, object_id=str(meeting.pk)).exists()
