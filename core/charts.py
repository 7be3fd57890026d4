"""Accessible charts rendered on the server as SVG: no client framework, no script.

Every chart is a ``<figure class="app-chart">`` holding

- an ``<svg role="img">`` labelled by its own ``<title>`` and ``<desc>`` (a one-sentence summary);
- the numbers written as text beside the marks, so nobody has to judge a length or a colour;
- fills that differ by pattern and by outline as well as by colour (WCAG 1.4.1 and 1.4.11);
- a data table (inside a ``<details>`` toggle, printed in full) as the complete text alternative.

The markup is well-formed XML and every piece of text is escaped, so callers may pass any label.
Functions return ``SafeString``: put them in a template as ``{{ chart }}``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

Number = int | float

TEXT = "#0b0c0c"
SECONDARY = "#484949"
GRID = "#b1b4b6"
FONT_SIZE = 14

# Fill colours, each at least 3:1 against white (WCAG 1.4.11), paired with a distinct pattern.
PALETTE: tuple[str, ...] = ("#1a65a6", "#c0301a", "#00703c", "#6f3c96", "#8a4b00", "#484949", "#0f7a8a")
PATTERNS: tuple[str, ...] = ("solid", "diagonal", "dots", "cross", "horizontal", "vertical", "checks")

# Conventional colours for risk levels, darkest for the highest risk; patterns still differ.
RISK_COLOURS = {
    "very high": "#8e1f0f",
    "high": "#c0301a",
    "medium": "#8a4b00",
    "low": "#00703c",
    "not assessed": "#484949",
}


def _fmt(value: Number) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def _e(text: object) -> str:
    return str(escape(str(text)))


def _chart_id(prefix: str, title: str, extra: str = "") -> str:
    digest = hashlib.sha256(f"{title}|{extra}".encode()).hexdigest()[:8]
    return f"{prefix}-{digest}"


def _scale(value: Number, integer: bool = False) -> tuple[float, list[float]]:
    """The axis maximum and gridline values for data up to ``value``: about four round steps
    (1, 2, 2.5 or 5 × 10^n; whole numbers only for counts)."""
    value = value if value > 0 else 1
    raw = value / 4
    base = 10.0 ** math.floor(math.log10(raw))
    steps = (1, 2, 5, 10) if integer else (1, 2, 2.5, 5, 10)
    step = next(s * base for s in steps if s * base >= raw)
    if integer:
        step = max(step, 1.0)
    count = max(math.ceil(value / step - 1e-9), 1)
    return step * count, [round(step * i, 6) for i in range(count + 1)]


def _all_int(values: Sequence[Number]) -> bool:
    return all(float(v).is_integer() for v in values)


def _text_width(text: str, size: int = FONT_SIZE) -> float:
    """A rough width for layout (Helvetica/Arial average glyph ≈ 0.55 em)."""
    return len(text) * size * 0.55


def _pattern_defs(chart_id: str, colours: Sequence[str], patterns: Sequence[str]) -> tuple[str, list[str]]:
    """<defs> with one fill per series; returns the markup and the fill reference for each series."""
    defs = []
    refs = []
    for index, (colour, pattern) in enumerate(zip(colours, patterns, strict=True)):
        if pattern == "solid":
            refs.append(colour)
            continue
        pid = f"{chart_id}-p{index}"
        refs.append(f"url(#{pid})")
        if pattern == "diagonal":
            body = (
                f'<rect width="8" height="8" fill="{colour}"/>'
                '<path d="M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4" stroke="#ffffff" stroke-width="2"/>'
            )
        elif pattern == "dots":
            body = (
                f'<rect width="8" height="8" fill="{colour}"/><circle cx="4" cy="4" r="1.6" fill="#ffffff"/>'
            )
        elif pattern == "cross":
            body = (
                f'<rect width="8" height="8" fill="{colour}"/>'
                '<path d="M0,0 l8,8 M8,0 l-8,8" stroke="#ffffff" stroke-width="1.2"/>'
            )
        elif pattern == "horizontal":
            body = (
                f'<rect width="8" height="8" fill="{colour}"/>'
                '<path d="M0,4 h8" stroke="#ffffff" stroke-width="2"/>'
            )
        elif pattern == "vertical":
            body = (
                f'<rect width="8" height="8" fill="{colour}"/>'
                '<path d="M4,0 v8" stroke="#ffffff" stroke-width="2"/>'
            )
        else:  # checks
            body = (
                f'<rect width="8" height="8" fill="{colour}"/>'
                '<rect width="4" height="4" fill="#ffffff" fill-opacity="0.55"/>'
                '<rect x="4" y="4" width="4" height="4" fill="#ffffff" fill-opacity="0.55"/>'
            )
        defs.append(
            f'<pattern id="{pid}" width="8" height="8" patternUnits="userSpaceOnUse">{body}</pattern>'
        )
    return (f"<defs>{''.join(defs)}</defs>" if defs else ""), refs


def _legend(entries: Sequence[tuple[str, str]], chart_id: str) -> str:
    """An HTML legend: each swatch is a tiny SVG using the chart's pattern, beside the series name."""
    items = []
    for name, fill in entries:
        swatch = (
            '<svg width="18" height="18" viewBox="0 0 18 18" aria-hidden="true" focusable="false">'
            f'<rect x="0.5" y="0.5" width="17" height="17" fill="{fill}" stroke="{TEXT}"/></svg>'
        )
        items.append(f'<li class="app-chart__legend-item">{swatch}<span>{_e(name)}</span></li>')
    return f'<ul class="app-chart__legend" aria-hidden="true">{"".join(items)}</ul>'


def _svg_open(chart_id: str, width: float, height: float, title: str, desc: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="app-chart__svg" role="img" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" focusable="false" '
        f'font-family="Helvetica, Arial, sans-serif" font-size="{FONT_SIZE}">'
        f'<title id="{chart_id}-title">{_e(title)}</title><desc id="{chart_id}-desc">{_e(desc)}</desc>'
    )


def _table(caption: str, head: Sequence[str], rows: Sequence[Sequence[object]], numeric_from: int = 1) -> str:
    numeric_header = " app-table__header--numeric"
    header = "".join(
        f'<th scope="col" class="app-table__header{numeric_header if i >= numeric_from else ""}">{_e(h)}</th>'
        for i, h in enumerate(head)
    )
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            text = _fmt(cell) if isinstance(cell, int | float) else _e(cell)
            if i == 0:
                cells.append(f'<th scope="row" class="app-table__header">{text}</th>')
            else:
                numeric = " app-table__cell--numeric" if i >= numeric_from else ""
                cells.append(f'<td class="app-table__cell{numeric}">{text}</td>')
        body.append(f'<tr class="app-table__row">{"".join(cells)}</tr>')
    return (
        '<table class="app-table app-table--small">'
        f'<caption class="app-table__caption app-visually-hidden">{_e(caption)}</caption>'
        f'<thead><tr class="app-table__row">{header}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


def _figure(
    chart_id: str, title: str, svg: str, table: str, legend: str = "", empty: bool = False
) -> SafeString:
    if empty:
        body = f'<p class="app-body-text app-secondary-text" id="{chart_id}-empty">Nothing to show yet.</p>'
        return mark_safe(  # noqa: S308 - every piece of text above is escaped
            f'<figure class="app-chart" id="{chart_id}" aria-labelledby="{chart_id}-caption">'
            f'<figcaption class="app-chart__caption" id="{chart_id}-caption">{_e(title)}</figcaption>'
            f"{body}</figure>"
        )
    return mark_safe(  # noqa: S308 - every piece of text above is escaped
        f'<figure class="app-chart" id="{chart_id}" aria-labelledby="{chart_id}-caption">'
        f'<figcaption class="app-chart__caption" id="{chart_id}-caption">{_e(title)}</figcaption>'
        f"{legend}{svg}"
        '<details class="app-details app-chart__data">'
        '<summary class="app-details__summary"><span class="app-details__summary-text">'
        f'Show the data<span class="app-visually-hidden">: {_e(title)}</span></span></summary>'
        f'<div class="app-details__text">{table}</div></details></figure>'
    )


# --------------------------------------------------------------------------------- bar chart
def bar_chart(
    *,
    title: str,
    items: Sequence[tuple[str, Number]],
    desc: str | None = None,
    orientation: Literal["horizontal", "vertical"] = "horizontal",
    value_label: str = "Count",
    category_label: str = "Category",
    chart_id: str | None = None,
    colour: str = PALETTE[0],
) -> SafeString:
    """One bar per item, its value written beside it. Horizontal suits long labels (agency names)."""
    cid = chart_id or _chart_id("chart", title, repr(items))
    total = sum(v for _, v in items)
    if desc is None:
        if items:
            top_label, top_value = max(items, key=lambda kv: kv[1])
            desc = (
                f"{title}: {len(items)} {category_label.lower()} values, {_fmt(total)} in total; "
                f"the largest is {top_label} with {_fmt(top_value)}."
            )
        else:
            desc = f"{title}: no data."
    table = _table(title, [category_label, value_label], [(label, value) for label, value in items])
    if not items:
        return _figure(cid, title, "", table, empty=True)
    integer = _all_int([v for _, v in items])
    maximum, ticks = _scale(max(v for _, v in items), integer)
    if orientation == "horizontal":
        svg = _horizontal_bars(cid, title, desc, items, maximum, colour, ticks)
    else:
        svg = _vertical_bars(cid, title, desc, items, maximum, colour, ticks)
    return _figure(cid, title, svg, table)


def _horizontal_bars(
    cid: str,
    title: str,
    desc: str,
    items: Sequence[tuple[str, Number]],
    maximum: float,
    colour: str,
    ticks: list[float],
) -> str:
    label_width = min(260.0, max(_text_width(label) for label, _ in items) + 12)
    bar_area = 640.0 - label_width - 60
    row = 34
    top = 10
    height = top + row * len(items) + 30
    parts = [_svg_open(cid, 640, height, title, desc)]
    # gridlines and axis values
    for tick in ticks:
        x = label_width + bar_area * tick / maximum
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + row * len(items)}" stroke="{GRID}" '
            f'stroke-width="1" aria-hidden="true"/>'
            f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" fill="{SECONDARY}" font-size="12" '
            f'aria-hidden="true">{_fmt(tick)}</text>'
        )
    for index, (label, value) in enumerate(items):
        y = top + index * row
        width = bar_area * value / maximum
        short = label if len(label) <= 38 else label[:36] + "…"
        parts.append(
            f'<g><text x="{label_width - 8:.1f}" y="{y + row / 2 + 5:.1f}" text-anchor="end" fill="{TEXT}">'
            f"{_e(short)}</text>"
            f'<rect x="{label_width:.1f}" y="{y + 6}" width="{max(width, 0):.1f}" height="{row - 12}" '
            f'fill="{colour}" stroke="{TEXT}" stroke-width="1">'
            f"<title>{_e(label)}: {_fmt(value)}</title></rect>"
            f'<text x="{label_width + width + 6:.1f}" y="{y + row / 2 + 5:.1f}" fill="{TEXT}" '
            f'font-weight="bold">{_fmt(value)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _vertical_bars(
    cid: str,
    title: str,
    desc: str,
    items: Sequence[tuple[str, Number]],
    maximum: float,
    colour: str,
    ticks: list[float],
) -> str:
    left, top, plot_h = 44.0, 24.0, 200.0
    slot = max(36.0, min(90.0, 580.0 / max(len(items), 1)))
    width = left + slot * len(items) + 16
    height = top + plot_h + 48
    parts = [_svg_open(cid, max(width, 240), height, title, desc)]
    for tick in ticks:
        y = top + plot_h - plot_h * tick / maximum
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - 8:.1f}" y2="{y:.1f}" stroke="{GRID}" '
            'aria-hidden="true"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{SECONDARY}" font-size="12" '
            f'aria-hidden="true">{_fmt(tick)}</text>'
        )
    for index, (label, value) in enumerate(items):
        x = left + index * slot + slot * 0.15
        bar_w = slot * 0.7
        bar_h = plot_h * value / maximum
        y = top + plot_h - bar_h
        short = label if _text_width(label, 12) <= slot else label[: max(int(slot / 7) - 1, 2)] + "…"
        parts.append(
            f'<g><rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{bar_h:.1f}" fill="{colour}" '
            f'stroke="{TEXT}" stroke-width="1"><title>{_e(label)}: {_fmt(value)}</title></rect>'
            f'<text x="{x + bar_w / 2:.1f}" y="{y - 5:.1f}" text-anchor="middle" fill="{TEXT}" '
            f'font-weight="bold">{_fmt(value)}</text>'
            f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 18:.1f}" text-anchor="middle" fill="{TEXT}" '
            f'font-size="12">{_e(short)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


# --------------------------------------------------------------------------------- stacked bar chart
def stacked_bar_chart(
    *,
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[Number]]],
    desc: str | None = None,
    category_label: str = "Category",
    colours: Sequence[str] | None = None,
    chart_id: str | None = None,
) -> SafeString:
    """Horizontal bars split into segments, e.g. cases per MAPPA level split by risk level.

    ``series`` is ``[(name, [value per category, ...]), ...]``; each segment shows its value when it
    is wide enough, each bar shows its total, and the table lists every number.
    """
    cid = chart_id or _chart_id("chart", title, repr((categories, series)))
    for name, values in series:
        if len(values) != len(categories):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(categories)} categories")
    totals = [sum(values[i] for _, values in series) for i in range(len(categories))]
    grand_total = sum(totals)
    if colours is None:
        colours = [
            RISK_COLOURS.get(name.lower(), PALETTE[i % len(PALETTE)]) for i, (name, _) in enumerate(series)
        ]
    patterns = [PATTERNS[i % len(PATTERNS)] for i in range(len(series))]
    head = [category_label, *[name for name, _ in series], "Total"]
    rows = [
        (category, *[values[i] for _, values in series], totals[i]) for i, category in enumerate(categories)
    ]
    table = _table(title, head, rows)
    if desc is None:
        desc = f"{title}: {_fmt(grand_total)} in total. " + "; ".join(
            f"{category}: {_fmt(totals[i])}"
            + (
                " (" + ", ".join(f"{name} {_fmt(values[i])}" for name, values in series if values[i]) + ")"
                if totals[i]
                else ""
            )
            for i, category in enumerate(categories)
        )
    if not categories or not series or grand_total == 0:
        return _figure(cid, title, "", table, empty=True)
    defs, fills = _pattern_defs(cid, colours, patterns)
    label_width = min(200.0, max(_text_width(c) for c in categories) + 12)
    bar_area = 640.0 - label_width - 60
    integer = _all_int(totals)
    maximum, ticks = _scale(max(totals), integer)
    row, top = 40, 10
    height = top + row * len(categories) + 30
    parts = [_svg_open(cid, 640, height, title, desc), defs]
    for tick in ticks:
        x = label_width + bar_area * tick / maximum
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + row * len(categories)}" stroke="{GRID}" '
            f'aria-hidden="true"/>'
            f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" fill="{SECONDARY}" font-size="12" '
            f'aria-hidden="true">{_fmt(tick)}</text>'
        )
    for i, category in enumerate(categories):
        y = top + i * row
        parts.append(
            f'<g><text x="{label_width - 8:.1f}" y="{y + row / 2 + 5:.1f}" text-anchor="end" fill="{TEXT}">'
            f"{_e(category)}</text>"
        )
        x = label_width
        for s, (name, values) in enumerate(series):
            value = values[i]
            if not value:
                continue
            w = bar_area * value / maximum
            parts.append(
                f'<rect x="{x:.1f}" y="{y + 6}" width="{w:.1f}" height="{row - 12}" fill="{fills[s]}" '
                f'stroke="{TEXT}" stroke-width="1">'
                f"<title>{_e(category)}, {_e(name)}: {_fmt(value)}</title></rect>"
            )
            label = _fmt(value)
            if w >= _text_width(label, 12) + 10:
                bw = _text_width(label, 12) + 6
                parts.append(
                    f'<rect x="{x + w / 2 - bw / 2:.1f}" y="{y + row / 2 - 8:.1f}" width="{bw:.1f}" '
                    'height="16" '
                    f'fill="#ffffff" aria-hidden="true"/>'
                    f'<text x="{x + w / 2:.1f}" y="{y + row / 2 + 4:.1f}" text-anchor="middle" fill="{TEXT}" '
                    f'font-size="12">{label}</text>'
                )
            x += w
        parts.append(
            f'<text x="{x + 6:.1f}" y="{y + row / 2 + 5:.1f}" fill="{TEXT}" font-weight="bold">'
            f"{_fmt(totals[i])}</text></g>"
        )
    parts.append("</svg>")
    legend = _legend([(name, fills[s]) for s, (name, _) in enumerate(series)], cid)
    # The legend's swatches use the chart's patterns, so it goes after the SVG that defines them.
    return _figure(cid, title, "".join(parts) + legend, table)


# --------------------------------------------------------------------------------- timeline
@dataclass(frozen=True)
class TimelineEvent:
    when: date | datetime
    kind: str  # referral, assessment, order, breach, review, decision (others get their own lane)
    label: str


TIMELINE_KINDS: dict[str, tuple[str, str, str]] = {
    # kind: (lane name, colour, marker shape)
    "referral": ("Referral", "#1a65a6", "circle"),
    "assessment": ("Risk assessments", "#6f3c96", "square"),
    "order": ("Orders", "#00703c", "diamond"),
    "breach": ("Breaches", "#c0301a", "triangle"),
    "review": ("Reviews", "#8a4b00", "circle-open"),
    "decision": ("Decisions", "#0b0c0c", "star"),
}


def _marker(shape: str, x: float, y: float, colour: str, tooltip: str) -> str:
    tip = f"<title>{_e(tooltip)}</title>"
    if shape == "square":
        return (
            f'<rect x="{x - 6:.1f}" y="{y - 6:.1f}" width="12" height="12" fill="{colour}" '
            f'stroke="{TEXT}">{tip}</rect>'
        )
    if shape == "diamond":
        return (
            f'<path d="M{x:.1f},{y - 8:.1f} L{x + 8:.1f},{y:.1f} '
            f'L{x:.1f},{y + 8:.1f} L{x - 8:.1f},{y:.1f} Z" '
            f'fill="{colour}" stroke="{TEXT}">{tip}</path>'
        )
    if shape == "triangle":
        return (
            f'<path d="M{x:.1f},{y - 8:.1f} L{x + 8:.1f},{y + 6:.1f} L{x - 8:.1f},{y + 6:.1f} Z" '
            f'fill="{colour}" stroke="{TEXT}">{tip}</path>'
        )
    if shape == "circle-open":
        return (
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="#ffffff" stroke="{colour}" '
            f'stroke-width="3">{tip}</circle>'
        )
    if shape == "star":
        points = []
        for k in range(10):
            radius = 8 if k % 2 == 0 else 3.5
            angle = math.pi / 2 + k * math.pi / 5
            points.append(f"{x + radius * math.cos(angle):.1f},{y - radius * math.sin(angle):.1f}")
        return f'<polygon points="{" ".join(points)}" fill="{colour}" stroke="{TEXT}">{tip}</polygon>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{colour}" stroke="{TEXT}">{tip}</circle>'


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def timeline(
    *,
    title: str,
    events: Sequence[TimelineEvent],
    desc: str | None = None,
    chart_id: str | None = None,
) -> SafeString:
    """A swim-lane timeline: one lane per kind of event, each event a marker at its date.

    Lanes are named in text; marker shapes differ per kind; the table lists every event in order.
    """
    cid = chart_id or _chart_id("timeline", title, repr(events))
    ordered = sorted(events, key=lambda e: (_as_date(e.when), e.kind))
    rows = [
        (_as_date(e.when).strftime("%-d %b %Y"), TIMELINE_KINDS.get(e.kind, (e.kind.title(),))[0], e.label)
        for e in ordered
    ]
    table = _table(title, ["Date", "Event", "Detail"], rows, numeric_from=99)
    if desc is None:
        if ordered:
            desc = (
                f"{title}: {len(ordered)} events from {rows[0][0]} to {rows[-1][0]}. "
                + "; ".join(f"{r[0]} {r[1].lower()}: {r[2]}" for r in rows[:12])
                + ("…" if len(rows) > 12 else "")
            )
        else:
            desc = f"{title}: no events."
    if not ordered:
        return _figure(cid, title, "", table, empty=True)
    kinds = [k for k in TIMELINE_KINDS if any(e.kind == k for e in ordered)]
    kinds += sorted({e.kind for e in ordered} - set(TIMELINE_KINDS))
    start = _as_date(ordered[0].when)
    end = _as_date(ordered[-1].when)
    span = max((end - start).days, 1)
    pad = max(span // 20, 1)
    start, end = start - timedelta(days=pad), end + timedelta(days=pad)
    span = (end - start).days
    left, right, top, lane = 140.0, 620.0, 10.0, 34.0
    height = top + lane * len(kinds) + 40
    parts = [_svg_open(cid, 640, height, title, desc)]
    # month (or year) ticks
    tick_dates = _date_ticks(start, end)
    tick_format = "%b %Y" if len(tick_dates) < 8 else "%b %y"
    for tick in tick_dates:
        x = left + (right - left) * (tick - start).days / span
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + lane * len(kinds)}" stroke="{GRID}" '
            f'stroke-dasharray="2,3" aria-hidden="true"/>'
            f'<text x="{x:.1f}" y="{height - 12}" text-anchor="middle" fill="{SECONDARY}" font-size="12" '
            f'aria-hidden="true">{tick.strftime(tick_format)}</text>'
        )
    for index, kind in enumerate(kinds):
        lane_name, colour, shape = TIMELINE_KINDS.get(
            kind, (kind.title(), PALETTE[index % len(PALETTE)], "circle")
        )
        y = top + index * lane + lane / 2
        parts.append(
            f'<text x="{left - 10:.1f}" y="{y + 5:.1f}" text-anchor="end" fill="{TEXT}">'
            f"{_e(lane_name)}</text>"
            f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="{GRID}" aria-hidden="true"/>'
        )
        for event in ordered:
            if event.kind != kind:
                continue
            day = _as_date(event.when)
            x = left + (right - left) * (day - start).days / span
            parts.append(_marker(shape, x, y, colour, f"{day.strftime('%-d %b %Y')}: {event.label}"))
    parts.append("</svg>")
    return _figure(cid, title, "".join(parts), table)


def _date_ticks(start: date, end: date) -> list[date]:
    months = (end.year - start.year) * 12 + end.month - start.month
    step = 1 if months <= 6 else 2 if months <= 12 else 3 if months <= 24 else 6 if months <= 48 else 12
    ticks = []
    year, month = start.year, start.month
    while True:
        month += 1
        if month > 12:
            year, month = year + 1, 1
        tick = date(year, month, 1)
        if tick > end:
            break
        if (month - 1) % step == 0:
            ticks.append(tick)
    if not ticks:
        ticks = [start + (end - start) / 2]
    return ticks


# --------------------------------------------------------------------------------- time series
def time_series(
    *,
    title: str,
    points: Sequence[tuple[date, Number]],
    desc: str | None = None,
    kind: Literal["bar", "line"] = "bar",
    value_label: str = "Events",
    chart_id: str | None = None,
    colour: str = PALETTE[0],
) -> SafeString:
    """Values per day (e.g. audit events), as bars or a line with point markers. Days are not skipped:
    give every day, with zeros, so gaps show as gaps."""
    cid = chart_id or _chart_id("series", title, repr(points))
    ordered = sorted(points)
    rows = [(d.strftime("%a %-d %b %Y"), v) for d, v in ordered]
    table = _table(title, ["Day", value_label], rows)
    total = sum(v for _, v in ordered)
    if desc is None:
        if ordered:
            peak_day, peak = max(ordered, key=lambda p: p[1])
            desc = (
                f"{title}: {_fmt(total)} {value_label.lower()} over {len(ordered)} days "
                f"from {rows[0][0]} to {rows[-1][0]}; the busiest day was {peak_day.strftime('%a %-d %b')} "
                f"with {_fmt(peak)}."
            )
        else:
            desc = f"{title}: no data."
    if not ordered:
        return _figure(cid, title, "", table, empty=True)
    integer = _all_int([v for _, v in ordered])
    maximum, ticks = _scale(max(v for _, v in ordered), integer)
    left, right, top, plot_h = 48.0, 624.0, 20.0, 180.0
    height = top + plot_h + 44
    slot = (right - left) / len(ordered)
    parts = [_svg_open(cid, 640, height, title, desc)]
    for tick in ticks:
        y = top + plot_h - plot_h * tick / maximum
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="{GRID}" aria-hidden="true"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{SECONDARY}" font-size="12" '
            f'aria-hidden="true">{_fmt(tick)}</text>'
        )
    label_every = max(1, math.ceil(len(ordered) / 10))
    coords = []
    for index, (day, value) in enumerate(ordered):
        cx = left + slot * index + slot / 2
        y = top + plot_h - plot_h * value / maximum
        coords.append((cx, y))
        tip = f"<title>{_e(day.strftime('%a %-d %b'))}: {_fmt(value)}</title>"
        if kind == "bar":
            bar_w = max(slot * 0.7, 1.0)
            parts.append(
                f'<rect x="{cx - bar_w / 2:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                f'height="{top + plot_h - y:.1f}" '
                f'fill="{colour}" stroke="{TEXT}" stroke-width="0.75">{tip}</rect>'
            )
        if len(ordered) <= 16 and value:
            parts.append(
                f'<text x="{cx:.1f}" y="{y - (6 if kind == "bar" else 10):.1f}" text-anchor="middle" '
                f'fill="{TEXT}" font-size="12" '
                f'font-weight="bold">{_fmt(value)}</text>'
            )
        if index % label_every == 0:
            parts.append(
                f'<text x="{cx:.1f}" y="{top + plot_h + 18:.1f}" text-anchor="middle" fill="{TEXT}" '
                f'font-size="12">{_e(day.strftime("%-d %b"))}</text>'
            )
    if kind == "line":
        path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(coords))
        parts.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="3"/>')
        for (x, y), (day, value) in zip(coords, ordered, strict=True):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#ffffff" stroke="{TEXT}" stroke-width="2">'
                f"<title>{_e(day.strftime('%a %-d %b'))}: {_fmt(value)}</title></circle>"
            )
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{right}" y2="{top + plot_h}" stroke="{TEXT}" '
        'aria-hidden="true"/>'
    )
    parts.append("</svg>")
    return _figure(cid, title, "".join(parts), table)


def daily_points(counts: dict[date, Number], start: date, end: date) -> list[tuple[date, Number]]:
    """Every day from start to end inclusive, with zero where ``counts`` has nothing."""
    days = (end - start).days
    return [(start + timedelta(days=i), counts.get(start + timedelta(days=i), 0)) for i in range(days + 1)]
