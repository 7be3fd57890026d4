"""The case summary as PDF: what the case page shows the viewer (read_case), withheld categories named
as withheld, marked on every page with whose copy it is; issuing it is a disclosure; outsiders get 404."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from audit.models import AuditEvent, Op
from sharing import policy

pytestmark = pytest.mark.django_db


def _pages(response) -> list[str]:
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "application/pdf"
    # a line the layout wrapped reads as one: compare with single spaces
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(response.content)).pages]


def test_health_copy_has_no_victim_identity_or_location_and_names_them_withheld(world, signed_in):
    # given health, a partner that never receives the victim's identity or location
    health = world.health_practitioner
    health.first_name, health.last_name = "Zoë", "Łukasiewicz"
    health.save(update_fields=["first_name", "last_name"])
    # when it downloads the case summary
    pages = _pages(signed_in(health).get(f"/cases/{world.case.pk}/summary/pdf/"))
    text = "\n".join(pages)
    # then every page is marked with the recipient, the agency and the time
    for page in pages:
        assert "OFFICIAL-SENSITIVE — copy for Zoë Łukasiewicz" in page
        assert world.agencies["health"].name in page and "issued " in page
    # and the victim's name and address are absent, and what is withheld is said so
    assert world.case.reference in text
    assert "Priya Shah" not in text and "Willow Court" not in text and "07700 900123" not in text
    assert "Withheld" in text


def test_lead_copy_has_what_the_lead_sees(world, signed_in):
    text = "\n".join(_pages(signed_in(world.police_practitioner).get(f"/cases/{world.case.pk}/summary/pdf/")))
    assert "Priya Shah" in text and "3 Willow Court" in text and "Daniel" in text


def test_the_download_is_a_disclosure_with_the_viewers_justification(world, signed_in):
    user = world.probation_practitioner
    access = policy.case_access(user, world.case)
    assert access is not None
    policy.forget(user)
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    signed_in(user).get(f"/cases/{world.case.pk}/summary/pdf/")
    events = AuditEvent.objects.filter(id__gt=before, case_id=world.case.pk, actor_id=user.pk)
    disclosure = events.get(op=Op.DISCLOSE)
    assert disclosure.justification == access.justification
    assert set(disclosure.recipients) == {f"user:{user.pk}", f"agency:{world.agencies['probation'].pk}"}
    assert disclosure.detail == {"export": "case-summary", "format": "pdf"}
    assert events.filter(op=Op.CONSULT).exists()


def test_an_outsider_gets_not_found_like_a_missing_case(world, signed_in):
    import uuid

    client = signed_in(world.outsider_practitioner)
    forbidden = client.get(f"/cases/{world.case.pk}/summary/pdf/")
    missing = client.get(f"/cases/{uuid.uuid4()}/summary/pdf/")
    assert forbidden.status_code == missing.status_code == 404
    assert forbidden.content == missing.content
    assert not AuditEvent.objects.filter(op=Op.DISCLOSE, case_id=world.case.pk).exists()


def test_the_case_page_links_to_the_pdf(world, signed_in):
    html = signed_in(world.health_practitioner).get(f"/cases/{world.case.pk}/").content.decode()
    assert f"/cases/{world.case.pk}/summary/pdf/" in html
