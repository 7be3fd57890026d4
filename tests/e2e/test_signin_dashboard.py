"""Journey: sign in with both factors and land on the dashboard for your role."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e


def test_chair_signs_in_with_totp_and_sees_the_dashboard(page, sign_in, visit):
    # given the sign-in page
    page.goto("/")
    assert "/signin/" in page.url  # every page needs both factors
    visit(page, "01-signin")

    # when the police chair signs in with password and security code
    sign_in(page, "police.chair")

    # then the dashboard names their agency and role, and shows the caseload picture
    visit(page, "02-dashboard-chair")
    identity = page.locator("#acting-as")
    assert "Northshire Police" in identity.inner_text() and "Chair" in identity.inner_text()
    assert (
        page.locator("#chart-caseload svg[role=img]").count() == 1
        or page.locator("#chart-caseload").count() == 1
    )
    nav = page.get_by_role("navigation", name="Main")
    for link in ("Dashboard", "Cases", "Meetings", "Agreements"):
        assert nav.get_by_role("link", name=link, exact=True).count() == 1
    assert nav.get_by_role("link", name="Audit", exact=True).count() == 0


def test_wrong_code_is_refused_with_an_error_summary_that_links_to_the_field(page, visit):
    # given a password accepted
    page.goto("/signin/")
    page.get_by_label("Username").fill("health.practitioner")
    page.get_by_label("Password").fill("Convene-demo-2026!")
    page.get_by_role("button", name="Continue").click()

    # when a wrong code is entered
    page.get_by_label("Security code").fill("000000")
    page.get_by_role("button", name="Sign in").click()

    # then the title says Error, and the summary links to the code field
    assert page.title().startswith("Error:")
    summary_link = page.locator(".app-error-summary a").first
    assert summary_link.get_attribute("href") == "#" + page.get_by_label("Security code").get_attribute("id")
    visit(page, "03-signin-wrong-code")


def test_auditor_sees_chain_status_and_signs_out(page, sign_in, visit):
    sign_in(page, "police.auditor")
    visit(page, "04-dashboard-auditor")
    assert page.locator("#chain-status").is_visible()
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="Audit", exact=True).count() == 1
    assert nav.get_by_role("link", name="Cases", exact=True).count() == 0

    # when they sign out (a POST button in the header)
    page.get_by_role("button", name="Sign out", exact=True).click()

    # then they are back at sign-in, and the dashboard needs signing in again
    page.wait_for_url(re.compile(r".*/signin/.*"))
    page.goto("/")
    assert "/signin/" in page.url
