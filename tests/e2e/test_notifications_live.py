"""A partner's open dashboard shows a new share's notification live; following it opens the case.

Two browsers: a partner agency's practitioner sits on their dashboard; the police practitioner
shares a police case with that agency. The notice arrives over the socket (a content-free nudge;
the header re-fetches its own badge), names the case reference, and following it opens the case.
"""

from __future__ import annotations

import pytest

from tests.waiting import eventually

pytestmark = pytest.mark.e2e

DEADLINE_MS = 15_000  # bounds a hang only; how fast is not what this journey checks


def _unshared_police_case(server) -> tuple[str, str, str, str]:
    """A police-led case not shared with some partner agency in the demo world:
    (case id, reference, the partner's practitioner username, the partner agency's name)."""

    def agency_of(db, username: str) -> tuple[int, str]:
        return db.execute(
            "SELECT a.id, a.name FROM agencies_membership m JOIN agencies_user u ON u.id = m.user_id "
            "JOIN agencies_agency a ON a.id = m.agency_id WHERE u.username = ?",
            (username,),
        ).fetchone()

    with server.db() as db:
        police, _ = agency_of(db, "police.practitioner")
        for key in ("cps", "isac", "probation", "health"):
            partner, name = agency_of(db, f"{key}.practitioner")
            row = db.execute(
                "SELECT c.id, c.reference FROM cases_case c WHERE c.lead_agency_id = ? "
                "AND c.erased_at IS NULL AND NOT EXISTS (SELECT 1 FROM sharing_caseshare s "
                "WHERE s.case_id = c.id AND s.agency_id = ?) ORDER BY c.reference LIMIT 1",
                (police, partner),
            ).fetchone()
            if row is not None:
                break
    assert row is not None, "the demo world has no police case left to share with a partner"
    case_id = str(row[0])
    if "-" not in case_id:  # SQLite stores UUIDs as 32 hex characters
        case_id = f"{case_id[:8]}-{case_id[8:12]}-{case_id[12:16]}-{case_id[16:20]}-{case_id[20:]}"
    return case_id, row[1], f"{key}.practitioner", name


def test_a_partners_open_dashboard_shows_the_new_share_live_and_following_it_opens_the_case(
    new_context, sign_in, e2e_server, visit
) -> None:
    case_id, reference, username, agency = _unshared_police_case(e2e_server)
    # given a partner practitioner on their dashboard, its notification socket open
    partner = new_context().new_page()
    sign_in(partner, username)
    partner.goto("/")
    badge = partner.locator("#notice-badge")
    badge.and_(partner.locator("[data-notice-state='open']")).wait_for(timeout=DEADLINE_MS)
    assert reference not in badge.inner_text()
    # when the police practitioner shares the case with the partner agency
    lead = new_context().new_page()
    sign_in(lead, "police.practitioner")
    lead.goto(f"/sharing/cases/{case_id}/shares/")
    lead.get_by_label("Share with").select_option(label=agency)
    lead.get_by_label("Under agreement").select_option(index=1)
    lead.get_by_label("Nominal identity").check()
    lead.get_by_label("Purpose").fill("Charging advice on the stalking offence.")
    lead.get_by_role("button", name="Share").click()
    lead.wait_for_load_state("load")
    assert f"Shared with {agency}" in lead.locator("main").inner_text(), lead.locator("main").inner_text()
    # then, without a reload, the partner's header names the shared case
    notice = badge.get_by_role("link", name=f"Case {reference} was shared with {agency}")
    notice.wait_for(timeout=DEADLINE_MS)
    visit(partner, "dashboard-notification-live")
    # and following it opens the case
    notice.click()
    partner.wait_for_url(f"**/cases/{case_id}/", timeout=DEADLINE_MS)
    assert reference in partner.locator("main").inner_text()
    # and the embedded server's own worker wrote the partner's email to var/mail: a count, no case data
    address = f"{username}@demo.convene.example"

    def partner_mail() -> list[str]:
        texts = [p.read_text(errors="replace") for p in (e2e_server.var_dir / "mail").glob("*.log")]
        return [t for t in texts if address in t]

    mails = eventually(partner_mail, within=30, what=f"an email to {address} in var/mail")
    assert all("new item" in t and reference not in t for t in mails)
