"""Journey: an operator's invitation link makes a new agency's first admin, in a real browser.

The link's token follows "#", so the browser keeps it: the page's script posts it (static/js/invitation.js).
"""

from __future__ import annotations

import pytest
from django_otp.oath import TOTP

pytestmark = pytest.mark.e2e


def enrolment_code(server, username: str) -> str:
    """The code the authenticator being enrolled shows now (its device is not confirmed yet)."""
    with server.db() as conn:
        key, step, t0, digits, drift = conn.execute(
            "SELECT d.key, d.step, d.t0, d.digits, d.drift FROM otp_totp_totpdevice d "
            "JOIN agencies_user u ON u.id = d.user_id WHERE u.username = ? AND d.confirmed = 0 "
            "ORDER BY d.id DESC LIMIT 1",
            (username,),
        ).fetchone()
    return f"{TOTP(bytes.fromhex(key), step, t0, digits, drift).token():0{digits}d}"


def test_an_invitation_link_makes_the_new_agencys_admin(page, e2e_server, visit):
    # given an operator who created an agency and its invitation link
    printed = e2e_server.manage(
        "create_agency", "--name", "Eastshire Police", "--type", "police", "--area", "Eastshire",
        "--admin-first-name", "Noor", "--admin-last-name", "Hadid",
    ).strip()  # fmt: skip
    path = printed.split("://", 1)[1].split("/", 1)[1]
    assert "#" in path
    # when the invitee opens it in a browser
    page.goto("/" + path)
    # then the page posted the token and asks them to choose a username and password
    page.get_by_role("heading", name="Set up your Convene account").wait_for()
    assert "#" not in page.url
    visit(page, "90-invitation-account")
    page.get_by_label("Choose a username").fill("noor.hadid")
    page.get_by_label("Choose a password").fill("Eastshire-admin-2026!")
    page.get_by_label("Type the password again").fill("Eastshire-admin-2026!")
    page.get_by_role("button", name="Continue").click()
    # and then to set up an authenticator app
    page.wait_for_url("**/signin/enrol/**")
    visit(page, "91-invitation-enrol")
    page.get_by_label("Security code").fill(enrolment_code(e2e_server, "noor.hadid"))
    page.get_by_role("button", name="Confirm and sign in").click()
    # then they are the admin of Eastshire Police, on its people page
    page.wait_for_url("**/people/eastshire-police/**")
    assert "Eastshire Police" in page.content()
    # and the same link, opened again, cannot be used
    page.context.clear_cookies()
    page.goto("/" + path)
    page.get_by_role("heading", name="This invitation link cannot be used").wait_for()
    visit(page, "92-invitation-unusable")
