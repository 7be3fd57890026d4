"""Case pages with named personas: list labels, withheld panels, 404/403, forms with field errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent, Op
from cases.models import Case


def test_case_list_labels_mine_and_shared(world, signed_in):
    html = signed_in(world.probation_practitioner).get("/cases/").content.decode()
    assert world.case.reference in html and "Shared with your agency" in html
    html = signed_in(world.police_practitioner).get("/cases/?scope=mine").content.decode()
    assert "Led by your agency" in html


def test_detail_page_shows_withheld_panels_not_empty_fields(world, signed_in):
    # given health, which never receives victim location
    response = signed_in(world.health_practitioner).get(f"/cases/{world.case.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    # then the address is not there and the withheld reason is
    assert "3 Willow Court" not in html
    assert "Withheld" in html and "app-withheld" in html
    # and exactly one CONSULT event is recorded for the page
    assert (
        AuditEvent.objects.filter(
            op=Op.CONSULT, case_id=world.case.pk, actor_id=world.health_practitioner.pk
        ).count()
        == 1
    )


def test_lead_sees_everything_outsider_gets_404_partner_403_on_edit(world, signed_in):
    html = signed_in(world.police_practitioner).get(f"/cases/{world.case.pk}/").content.decode()
    assert "3 Willow Court" in html and "Priya Shah" in html
    assert signed_in(world.outsider_practitioner).get(f"/cases/{world.case.pk}/").status_code == 404
    assert signed_in(world.probation_practitioner).get(f"/cases/{world.case.pk}/edit/").status_code == 403


def test_edit_form_names_the_field_and_reports_conflicts(world, signed_in):
    client = signed_in(world.police_practitioner)
    url = f"/cases/{world.case.pk}/edit/"
    version = world.case.version
    bad = client.post(url, {"version": version, "forum": "mappa", "mappa_category": 2, "mappa_level": ""})
    assert bad.status_code == 400 and "A MAPPA case needs its category and level." in bad.content.decode()
    ok = client.post(url, {"version": version, "forum": "mappa", "mappa_category": 2, "mappa_level": 3})
    assert ok.status_code == 302
    stale = client.post(url, {"version": version, "forum": "mappa", "mappa_category": 2, "mappa_level": 1})
    assert stale.status_code == 400 and "police_practitioner" in stale.content.decode()
    assert Case.objects.get(pk=world.case.pk).mappa_level == 3


def test_create_case_shows_duplicate_and_links(world, signed_in):
    client = signed_in(world.police_practitioner)
    form = {
        "given_name": "Daniel",
        "family_name": "Marsh",
        "date_of_birth": "1986-04-12",
        "forum": "clinic",
        "reason": "Unwanted contact",
        "lawful_basis": "DPA 2018",
        "index_offence": "Stalking",
        "received_on": str(timezone.localdate() - timedelta(days=1)),
        "urgency": "routine",
    }
    response = client.post("/cases/new/", form)
    assert response.status_code == 400 and "may already be known" in response.content.decode()
    assert world.case.reference in response.content.decode()
    linked = client.post("/cases/new/", {**form, "link_nominal": str(world.case.nominal_id)})
    assert linked.status_code == 302
    assert Case.objects.filter(nominal=world.case.nominal).count() == 2
    bad = client.post("/cases/new/", {**form, "family_name": "Other", "pnc_id": "12/3456789A"})
    assert bad.status_code == 400 and "check letter" in bad.content.decode()


def test_partner_adds_note_and_plan_conflict_on_page(world, signed_in):
    isac = signed_in(world.isac_practitioner)
    r = isac.post(
        f"/cases/{world.case.pk}/notes/new/", {"body": "New phone number", "category": "C8", "basis": "fact"}
    )
    assert r.status_code == 302 and world.case.notes.get().owner_agency == world.agencies["isac"]
    lead = signed_in(world.police_practitioner)
    url = f"/cases/{world.case.pk}/plan/edit/"
    assert lead.post(url, {"base_number": 0, "supervision": "Weekly reporting"}).status_code == 302
    assert (
        signed_in(world.police_chair).post(url, {"base_number": 1, "victim_safety": "Alarm"}).status_code
        == 302
    )
    stale = lead.post(url, {"base_number": 1, "supervision": "Fortnightly"})
    assert stale.status_code == 400 and "police_chair" in stale.content.decode()


def test_order_forms_name_the_field_and_record(world, signed_in):
    client = signed_in(world.police_practitioner)
    today = timezone.localdate()
    url = f"/cases/{world.case.pk}/orders/new/"
    base = {"order_type": "spo", "legal_basis": "SPA 2019 s1", "status": "in_force", "starts_on": str(today)}
    # an order ending before it starts is refused, naming the end date
    bad = client.post(url, {**base, "ends_on": str(today - timedelta(days=1))})
    assert bad.status_code == 400 and "cannot end before it starts" in bad.content.decode()
    assert client.post(url, {**base, "until_further_order": "on", "served_on": str(today)}).status_code == 302
    order = world.case.orders.get()
    assert order.notification_due_on == today + timedelta(days=3)
    r = client.post(
        f"/cases/{world.case.pk}/orders/{order.pk}/conditions/new/",
        {"kind": "prohibition", "text": "No contact"},
    )
    assert r.status_code == 302
    r = client.post(
        f"/cases/{world.case.pk}/orders/{order.pk}/breaches/new/",
        {"occurred_on": str(today), "reported_by": "Victim", "description": "Texts"},
    )
    assert r.status_code == 302
    html = client.get(f"/cases/{world.case.pk}/").content.decode()
    assert "No contact" in html and "Texts" in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("persona", "path"),
    [
        ("police_practitioner", "/cases/new/"),
        ("police_chair", "/meetings/new/"),
        ("police_admin", "/sharing/agreements/new/"),
    ],
)
def test_an_empty_submission_is_answered_with_the_forms_errors_not_a_blank_form(
    world, signed_in, persona, path
):
    # given a person on a form for something new / when they press its button with nothing filled in
    response = signed_in(getattr(world, persona)).post(path, {})
    body = response.content.decode()
    # then the form comes back with its error summary, as any other invalid submission does
    assert "There is a problem" in body, path
