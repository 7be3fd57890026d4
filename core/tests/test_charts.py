"""The server-rendered charts: well-formed, labelled, and readable without the picture."""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405 - parsing our own output
from datetime import date, timedelta

import pytest

from core import charts

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))  # noqa: S314 - our own output; raises on anything that is not well-formed


def _svg(figure: ET.Element) -> ET.Element:
    svg = figure.find(f"{SVG}svg")
    assert svg is not None
    return svg


def _found(element: ET.Element, path: str) -> ET.Element:
    found = element.find(path)
    assert found is not None, path
    return found


def _text_of(element: ET.Element, path: str) -> str:
    """The text of the first element at ``path``, which must be there."""
    return _found(element, path).text or ""


def _texts(element: ET.Element) -> list[str]:
    return [t.text or "" for t in element.iter(f"{SVG}text")]


def _table_cells(figure: ET.Element) -> list[str]:
    return ["".join(cell.itertext()) for cell in figure.iter() if cell.tag in {"td", "th"}]


def test_horizontal_bar_chart_is_labelled_svg_with_values_as_text_and_a_data_table():
    # given overdue actions per agency
    items = [("Northshire Police", 3), ("Northshire Forensic Mental Health Trust", 1), ("CPS Northshire", 0)]

    # when it is drawn
    figure = _parse(charts.bar_chart(title="Overdue actions by agency", items=items))

    # then it is a figure with an SVG image labelled by its own title and description
    svg = _svg(figure)
    assert svg.get("role") == "img"
    title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
    assert title is not None and title.text == "Overdue actions by agency"
    assert desc is not None and "Northshire Police with 3" in (desc.text or "")
    assert svg.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    # and each value is written as text in the picture and in the table
    assert {"3", "1", "0"} <= set(_texts(svg))
    cells = _table_cells(figure)
    assert "Northshire Forensic Mental Health Trust" in cells and "3" in cells and "1" in cells


def test_vertical_bar_chart_escapes_labels():
    # given a label with markup in it
    figure_markup = charts.bar_chart(
        title='Tricky <labels> & "quotes"', items=[("<script>x</script>", 2)], orientation="vertical"
    )

    # then it is escaped everywhere and the document is still well-formed
    assert "<script>" not in figure_markup
    figure = _parse(figure_markup)
    assert _text_of(_svg(figure), f"{SVG}title") == 'Tricky <labels> & "quotes"'
    assert "<script>x</script>" in _table_cells(figure)


def test_stacked_bar_chart_shows_each_segment_total_and_legend_with_patterns():
    # given cases by MAPPA level split by risk
    figure_markup = charts.stacked_bar_chart(
        title="Cases by MAPPA level and risk",
        categories=["Level 1", "Level 2", "Level 3"],
        series=[("Very high", [0, 2, 1]), ("High", [4, 3, 0]), ("Medium", [6, 1, 0]), ("Low", [5, 0, 0])],
        category_label="MAPPA level",
    )

    # then
    figure = _parse(figure_markup)
    svg = _svg(figure)
    texts = _texts(svg)
    assert [t for t in texts if t.startswith("Level")] == ["Level 1", "Level 2", "Level 3"]
    assert {"15", "6", "1"} <= set(texts)  # totals per level
    desc = _text_of(svg, f"{SVG}desc")
    assert "22 in total" in desc and "Level 2: 6 (Very high 2, High 3, Medium 1)" in desc
    # patterns differ, not only colours: all but the first series fill with a <pattern>
    assert len(list(svg.iter(f"{SVG}pattern"))) == 3
    # the legend names every series, and the table has a row per level with a total column
    legend = "".join(_found(figure, "ul").itertext())
    for name in ("Very high", "High", "Medium", "Low"):
        assert name in legend
    cells = _table_cells(figure)
    assert cells[:6] == ["MAPPA level", "Very high", "High", "Medium", "Low", "Total"]
    assert cells[6:12] == ["Level 1", "0", "4", "6", "5", "15"]


def test_stacked_bar_chart_refuses_mismatched_series():
    with pytest.raises(ValueError, match="2 values for 3 categories"):
        charts.stacked_bar_chart(title="x", categories=["a", "b", "c"], series=[("s", [1, 2])])


def test_empty_charts_say_so_in_words():
    # given nothing to draw
    for markup in (
        charts.bar_chart(title="Nothing", items=[]),
        charts.stacked_bar_chart(title="Nothing", categories=["Level 1"], series=[("High", [0])]),
        charts.timeline(title="Nothing", events=[]),
        charts.time_series(title="Nothing", points=[]),
    ):
        # then a sentence says there is nothing, with no empty picture
        figure = _parse(markup)
        assert figure.find(f"{SVG}svg") is None
        assert "Nothing to show yet." in "".join(figure.itertext())


def test_timeline_has_a_lane_per_kind_and_lists_every_event_in_order():
    # given a case's history
    events = [
        charts.TimelineEvent(date(2026, 3, 1), "referral", "Referred by Northshire Police"),
        charts.TimelineEvent(date(2026, 3, 10), "assessment", "SASH: high"),
        charts.TimelineEvent(date(2026, 5, 2), "order", "Stalking protection order"),
        charts.TimelineEvent(date(2026, 6, 20), "breach", "Contact by text message"),
        charts.TimelineEvent(date(2026, 7, 1), "review", "MAPPA level 2 review"),
        charts.TimelineEvent(date(2026, 7, 1), "decision", "Raised to level 3"),
    ]

    # when drawn (given out of order)
    figure = _parse(charts.timeline(title="Case timeline", events=list(reversed(events))))

    # then each lane is named in words
    svg = _svg(figure)
    texts = _texts(svg)
    for lane in ("Referral", "Risk assessments", "Orders", "Breaches", "Reviews", "Decisions"):
        assert lane in texts
    # and each marker carries its date and label
    tooltips = [t.text for t in svg.iter(f"{SVG}title")][1:]
    assert "20 Jun 2026: Contact by text message" in tooltips
    # and the table lists events by date
    rows = [["".join(c.itertext()) for c in tr] for tr in figure.iter("tr")][1:]
    assert rows[0] == ["1 Mar 2026", "Referral", "Referred by Northshire Police"]
    assert rows[-1][0] == "1 Jul 2026"
    assert "6 events from 1 Mar 2026 to 1 Jul 2026" in _text_of(svg, f"{SVG}desc")


@pytest.mark.parametrize("kind", ["bar", "line"])
def test_time_series_draws_every_day_and_names_the_busiest(kind):
    # given audit events per day over a fortnight, with quiet days
    start = date(2026, 11, 9)
    counts: dict[date, int | float] = {start + timedelta(days=2): 14, start + timedelta(days=5): 3}
    points = charts.daily_points(counts, start, start + timedelta(days=13))
    assert len(points) == 14 and points[0] == (start, 0)

    # when drawn
    figure = _parse(charts.time_series(title="Audit events per day", points=points, kind=kind))

    # then
    svg = _svg(figure)
    desc = _text_of(svg, f"{SVG}desc")
    assert "17 events over 14 days" in desc and "busiest day was Wed 11 Nov with 14" in desc
    assert "14" in _texts(svg)
    marks = list(svg.iter(f"{SVG}rect" if kind == "bar" else f"{SVG}circle"))
    assert len(marks) == 14
    cells = _table_cells(figure)
    assert "Wed 11 Nov 2026" in cells and "14" in cells


def test_charts_on_one_page_get_distinct_ids():
    a = charts.bar_chart(title="A", items=[("x", 1)])
    b = charts.bar_chart(title="B", items=[("x", 1)])
    assert _parse(a).get("id") != _parse(b).get("id")
