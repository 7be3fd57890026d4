"""A case's timeline shows each agency only the dates it may see."""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405 - parsing our own output
from datetime import timedelta

import pytest
from django.utils import timezone

from cases import timeline

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))  # noqa: S314 - our own output; raises on anything that is not well-formed


def _svg(figure: ET.Element) -> ET.Element:
    svg = figure.find(f"{SVG}svg")
    assert svg is not None
    return svg


def _table_cells(figure: ET.Element) -> list[str]:
    return ["".join(cell.itertext()) for cell in figure.iter() if cell.tag in {"td", "th"}]


@pytest.mark.django_db
def test_case_timeline_shows_only_the_dates_each_agency_may_see(world, django_assert_max_num_queries):
    from cases.services import do_add_order
    from cases.templatetags.cases_extras import case_timeline
    from sharing import policy

    # given a restraining order made 10 days ago and starting 3 days later, on the world's case
    today = timezone.localdate()
    do_add_order(
        case=world.case,
        agency=world.agencies["police"],
        acting_user=world.police_practitioner,
        values={
            "order_type": "restraining",
            "legal_basis": "PHA 1997 s5",
            "made_on": today - timedelta(days=10),
            "starts_on": today - timedelta(days=7),
        },
    )

    # when the lead practitioner's timeline is drawn
    lead = policy.case_access(world.police_practitioner, world.case)
    assert lead is not None
    with django_assert_max_num_queries(8):
        events = timeline.case_timeline_events(lead, world.case)
    # then it has the referral and the order on the day it was made
    kinds = {(e.kind, e.when) for e in events}
    assert ("order", today - timedelta(days=10)) in kinds
    assert any(e.kind == "referral" for e in events)

    # and health (orders at summary level) sees the order at its start date, not the date it was made
    health = policy.case_access(world.health_practitioner, world.case)
    assert health is not None
    health_kinds = {(e.kind, e.when) for e in timeline.case_timeline_events(health, world.case)}
    assert ("order", today - timedelta(days=7)) in health_kinds
    assert ("order", today - timedelta(days=10)) not in health_kinds

    # and the template tag draws it as a labelled picture with its table
    figure = _parse(case_timeline(world.case, lead))
    title = _svg(figure).find(f"{SVG}title")
    assert title is not None and title.text == f"Case {world.case.reference}: timeline"
    assert "Restraining order made" in _table_cells(figure)
