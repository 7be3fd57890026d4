"""Journey: an auditor asks who has seen a case, what a person has seen, looks at flagged patterns,
exports the events as CSV and checks the chain's status."""

from __future__ import annotations

import csv
import io

import pytest

pytestmark = pytest.mark.e2e


def test_auditor_follows_a_case_and_a_person_then_exports_and_checks_the_chain(
    page, new_context, sign_in, visit
):
    # given a police practitioner has just opened one of their agency's cases (a consultation)
    practitioner = new_context().new_page()
    sign_in(practitioner, "police.practitioner")
    practitioner.get_by_role("navigation", name="Main").get_by_role("link", name="Cases", exact=True).click()
    practitioner.locator("tbody tr", has_text="Led by your agency").first.locator("a").first.click()
    practitioner.wait_for_load_state("load")
    consulted = practitioner.locator(".app-caption-l").first.inner_text().replace("Case ", "").strip()

    # and the police auditor, signed in
    sign_in(page, "police.auditor")
    visit(page, "50-dashboard-auditor")

    # when they open the audit log from the navigation
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit", exact=True).click()
    page.wait_for_load_state("load")
    visit(page, "51-audit-events")

    # and look for that case, then ask who has seen it, when and why
    page.get_by_label("Case reference").fill(consulted)
    page.get_by_role("button", name="Filter").click()
    page.wait_for_load_state("load")
    case_link = page.locator("main table tbody a[href*='/audit/case/']", has_text=consulted).first
    reference = case_link.inner_text()
    case_link.click()
    page.wait_for_load_state("load")
    heading = page.get_by_role("heading", level=1).inner_text()
    case_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    assert heading.startswith("Who has seen case") and (reference in heading or case_id in heading)
    assert page.locator("main table tbody tr").count() >= 1
    visit(page, "52-audit-who-has-seen-case")

    # then the practitioner in that trail: what have they seen
    person_link = page.locator(
        "main table tbody a[href*='/audit/people/']", has_text="police.practitioner"
    ).first
    username = person_link.inner_text()
    person_link.click()
    page.wait_for_load_state("load")
    assert username in page.locator("main").inner_text()
    visit(page, "53-audit-what-has-person-seen")

    # flagged patterns
    page.get_by_role("navigation", name="Audit").get_by_role("link", name="Flagged patterns").click()
    page.wait_for_load_state("load")
    assert page.get_by_role("heading", name="Flagged patterns", level=1).count() == 1
    visit(page, "54-audit-flagged-patterns")

    # export CSV (the export itself is recorded)
    page.get_by_role("navigation", name="Audit").get_by_role("link", name="Events").click()
    page.wait_for_load_state("load")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV (recorded)").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    text = open(download.path(), encoding="utf-8").read()  # noqa: SIM115 - read once
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) >= 2, "the export has a header and at least one event"
    assert any("consult" in ",".join(r).lower() for r in rows[1:])

    # chain status
    page.get_by_role("navigation", name="Audit").get_by_role("link", name="Chain status").click()
    page.wait_for_load_state("load")
    assert page.get_by_role("heading", name="Audit chain status", level=1).count() == 1
    assert "Awaiting sealing" in page.locator("main").inner_text()
    visit(page, "55-audit-chain-status")
