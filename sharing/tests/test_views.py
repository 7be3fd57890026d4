"""Sharing pages: agreements, share a case, break-glass, review queue, disclosures."""

from __future__ import annotations

from datetime import timedelta

from django.template.loader import render_to_string
from django.utils import timezone

from core.categories import DEFAULT_MATRIX
from sharing import policy
from sharing.models import BreakGlass, CaseShare, Disclosure, SharingAgreement
from sharing.services import do_break_glass
from tests.world import make_case


def test_agreement_pages_list_detail_and_draft_form_prefilled(world, signed_in):
    client = signed_in(world.police_admin)
    response = client.get("/sharing/agreements/")
    assert response.status_code == 200 and b"ISA-NS-2026-01" in response.content
    response = client.get(f"/sharing/agreements/{world.agreement.pk}/")
    assert response.status_code == 200 and b"CJA 2003 s325" in response.content
    # the draft form prefills each party's levels from the default matrix; health's C7 is locked at none
    response = client.get("/sharing/agreements/new/")
    form = response.context["form"]
    health = world.agencies["health"]
    isac = world.agencies["isac"]
    assert form.fields[f"party_{isac.pk}_C8"].initial == DEFAULT_MATRIX["victim_support"]["C8"] == 2
    assert form.fields[f"party_{health.pk}_C7"].choices == [(0, "None")]
    # outsiders see no agreement of Northshire, and practitioners cannot draft
    assert (
        signed_in(world.outsider_admin).get(f"/sharing/agreements/{world.agreement.pk}/").status_code == 404
    )
    assert signed_in(world.police_practitioner).get("/sharing/agreements/new/").status_code == 404


def test_draft_sign_activate_suspend_through_pages(world, signed_in):
    client = signed_in(world.police_admin)
    police, probation = world.agencies["police"], world.agencies["probation"]
    today = timezone.localdate()
    data = {
        "reference": "ISA-PAGE-1",
        "title": "Page agreement",
        "purpose": "Testing",
        "dpia_reference": "D1",
        "retention_rule": "Six years",
        "retention_years": 6,
        "security_terms": "OS",
        "starts_on": str(today),
        "review_on": str(today + timedelta(days=100)),
        "ends_on": "",
    }
    for agency in world.agencies.values():
        for c, level in DEFAULT_MATRIX[agency.agency_type].items():
            data[f"party_{agency.pk}_{c}"] = 0 if (agency.agency_type == "health" and c == "C7") else level
    data.update(
        {
            f"party_{police.pk}_include": "on",
            f"party_{police.pk}_gateway": "s325",
            f"party_{probation.pk}_include": "on",
            f"party_{probation.pk}_gateway": "s325",
        }
    )
    response = client.post("/sharing/agreements/new/", data)
    assert response.status_code == 302, response.context["form"].errors
    agreement = SharingAgreement.objects.get(reference="ISA-PAGE-1")
    assert agreement.parties.get(agency=probation).categories["C1"] == 2
    url = f"/sharing/agreements/{agreement.pk}/"
    police_party = agreement.parties.get(agency=police)
    client.post(url + "sign/", {"party": police_party.pk, "signatory_name": "A", "signatory_role": "Chief"})
    prob_party = agreement.parties.get(agency=probation)
    signed_in(world.probation_admin).post(
        url + "sign/", {"party": prob_party.pk, "signatory_name": "B", "signatory_role": "Head"}
    )
    client.post(url + "activate/", {"version": 1})
    agreement.refresh_from_db()
    assert agreement.status == "active"
    client.post(url + "suspend/", {"version": agreement.version, "reason": "Concern"})
    agreement.refresh_from_db()
    assert agreement.status == "suspended"


def test_share_page_shares_and_revokes(world, signed_in):
    case = make_case(world, family="Page")
    owner = signed_in(world.police_practitioner)
    url = f"/sharing/cases/{case.pk}/shares/"
    assert owner.get(url).status_code == 200
    response = owner.post(
        url,
        {
            "agency": world.agencies["health"].pk,
            "agreement": world.agreement.pk,
            "categories": ["C1", "C8"],
            "purpose": "Clinic",
        },
    )
    # a refused category is a 400 naming the field and nothing written
    assert response.status_code == 400
    assert "C8" in str(response.context["form"].errors["categories"])
    assert not CaseShare.objects.filter(case=case).exists()
    response = owner.post(
        url,
        {
            "agency": world.agencies["health"].pk,
            "agreement": world.agreement.pk,
            "categories": ["C1"],
            "purpose": "Clinic",
        },
    )
    assert response.status_code == 302
    share = CaseShare.objects.get(case=case)
    # partners see the page without the form and cannot revoke
    partner = signed_in(world.health_practitioner)
    page = partner.get(url)
    assert page.status_code == 200 and page.context["form"] is None
    assert partner.post(f"/sharing/shares/{share.pk}/revoke/", {"reason": "x"}).status_code == 404
    owner.post(f"/sharing/shares/{share.pk}/revoke/", {"reason": "Done"})
    assert partner.get(url).status_code == 404


def test_break_glass_page_requires_a_reason_and_marks_access(world, signed_in):
    case = make_case(world, family="PageGlass")
    client = signed_in(world.probation_practitioner)
    url = f"/sharing/cases/{case.pk}/break-glass/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"agreement": world.agreement.pk, "reason": ""})
    assert response.status_code == 400 and "reason" in response.context["form"].errors
    assert BreakGlass.objects.count() == 0
    response = client.post(url, {"agreement": world.agreement.pk, "reason": "Victim called 999 tonight"})
    assert response.status_code == 302
    assert signed_in(world.outsider_practitioner).get(url).status_code == 404
    # the banner include renders the expiry time for break-glass access
    policy.forget(world.probation_practitioner)
    access = policy.case_access(world.probation_practitioner, case)
    assert access is not None
    html = render_to_string("sharing/includes/break_glass_banner.html", {"access": access})
    expires = timezone.localtime(access.break_glass_expires_at)
    assert f"Break-glass access — expires at {expires:%H:%M}" in html
    assert "ISA-NS-2026-01" in html
    lead = policy.case_access(world.police_practitioner, case)
    assert render_to_string("sharing/includes/break_glass_banner.html", {"access": lead}).strip() == ""


def test_review_queue_page(world, signed_in):
    case = make_case(world, family="Queue")
    glass = do_break_glass(
        case=case,
        user=world.cps_practitioner,
        agency=world.agencies["cps"],
        agreement=world.agreement,
        reason="Charging decision this morning",
    )
    chair = signed_in(world.police_chair)
    response = chair.get("/sharing/break-glass/")
    assert response.status_code == 200 and b"Charging decision this morning" in response.content
    assert signed_in(world.police_practitioner).get("/sharing/break-glass/").status_code == 404
    chair.post(f"/sharing/break-glass/{glass.pk}/review/", {"outcome": "justified", "note": ""})
    glass.refresh_from_db()
    assert glass.review_outcome == "justified"


def test_disclosure_page(world, signed_in):
    owner = signed_in(world.police_practitioner)
    url = f"/sharing/cases/{world.case.pk}/disclosures/"
    response = owner.post(
        url,
        {
            "recipient": "Victim",
            "recipient_kind": "victim",
            "categories": ["C4"],
            "summary": "Release date",
            "justification": "Victim safety planning needs the release date.",
            "approved_by": world.police_chair.pk,
            "disclosed_on": str(timezone.localdate()),
        },
    )
    assert response.status_code == 302
    assert Disclosure.objects.count() == 1
    assert b"Release date" in owner.get(url).content
    assert signed_in(world.isac_practitioner).get(url).status_code == 404
