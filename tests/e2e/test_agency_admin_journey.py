"""Journey: an agency admin adds a member, changes their role and ends the membership."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_agency_admin_adds_a_member_changes_their_role_and_ends_it(page, sign_in, visit):
    # given the police agency admin, signed in
    sign_in(page, "police.admin")
    visit(page, "40-dashboard-agency-admin")

    # when they open People from the navigation and choose their agency
    page.get_by_role("navigation", name="Main").get_by_role("link", name="People", exact=True).click()
    # (an admin of one agency goes straight to its people)
    if (
        page.get_by_role("heading", name="People").count()
        and page.get_by_role("link", name="Add a person").count() == 0
    ):
        page.get_by_role("link", name="Northshire Police").click()
    visit(page, "41-people-in-agency")

    # and add a new practitioner
    page.get_by_role("link", name="Add a person").click()
    visit(page, "42-add-person")
    page.get_by_label("First name").fill("Imran")
    page.get_by_label("Last name").fill("Baig")
    page.get_by_label("New username").fill("police.e2e.baig")
    page.get_by_label("Email").fill("imran.baig@police.northshire.example")
    page.get_by_label("Role", exact=True).select_option(label="Practitioner")
    page.get_by_role("button", name="Add").click()

    # then the confirmation names them and their role, with a one-time password
    panel = page.locator(".app-panel")
    assert "Imran Baig is now practitioner in Northshire Police" in panel.inner_text()
    assert page.get_by_text("One-time password").count() >= 1
    visit(page, "43-person-added")

    # when they change the new member's role to chair
    page.get_by_role("link", name="Back to people in Northshire Police").click()
    row = page.locator("tr", has_text="police.e2e.baig")
    assert "Practitioner" in row.inner_text()
    row.get_by_role("link", name="Change role").click()
    visit(page, "44-change-role")
    page.get_by_label("New role").select_option(label="Chair")
    page.get_by_role("button", name="Change role").click()

    # then the list shows them as chair
    page.wait_for_url("**/people/**")
    row = page.locator("tbody tr", has_text="police.e2e.baig").first
    assert "Chair" in row.inner_text()

    # when they end that membership
    row.get_by_role("link", name="End").click()
    visit(page, "45-end-role")
    page.get_by_role("button", name="End this role").click()

    # then it is listed among ended roles, not current ones
    page.wait_for_url("**/people/**")
    current = page.locator("table", has_text="Current roles")
    ended = page.locator("table", has_text="Ended roles")
    assert current.locator("tr", has_text="police.e2e.baig").count() == 0
    assert ended.locator("tr", has_text="police.e2e.baig").count() == 1
    visit(page, "46-people-after-end")
