"""The benchmark's output: the table, docs/benchmarks.md and bench/results/latest.json."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from bench.environment import ROOT
from bench.figures import Figure

RESULTS = ROOT / "bench" / "results" / "latest.json"
DOC = ROOT / "docs" / "benchmarks.md"


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def spread_text(spread: tuple[float, float] | None) -> str:
    return "" if spread is None else f" ({fmt(spread[0])}–{fmt(spread[1])})"


def verdict(f: Figure) -> str:
    if f.value is None:
        return "skipped"
    if f.met is None:
        return "—"
    return "met" if f.met else "MISSED"


def misses_first(figures: list[Figure]) -> list[Figure]:
    """Missed targets lead the table, then figures without a verdict, then the met ones (stable)."""
    rank = {False: 0, None: 1, True: 2}
    return sorted(figures, key=lambda f: rank[f.met])


def table(figures: list[Figure]) -> str:
    rows = [("Measure", "Median (p25–p75)", "Baseline (p25–p75)", "Ratio", "Target", "Result")]
    for f in misses_first(figures):
        rows.append(
            (
                f.label,
                fmt(f.value, f.unit) + spread_text(f.spread),
                (
                    f"{fmt(f.baseline)}{spread_text(f.baseline_spread)} {f.baseline_label}".strip()
                    if f.baseline is not None
                    else "—"
                ),
                f"{f.ratio:.2f}×" if f.ratio is not None else "—",
                f.target or "—",
                verdict(f),
            )
        )
    return "\n".join(" | ".join(r) for r in rows)


def markdown(meta: dict[str, Any], figures: list[Figure]) -> str:
    lines = [
        "| Measure | Median (p25–p75) | Baseline, same run (p25–p75) | Ratio | Target | Result |",
        "|---|---|---|---|---|---|",
    ]
    for f in misses_first(figures):
        base = (
            f"{fmt(f.baseline)}{spread_text(f.baseline_spread)} — {f.baseline_label}"
            if f.baseline is not None
            else "—"
        )
        ratio = f"{f.ratio:.2f}× ({f.ratio_label})" if f.ratio is not None else "—"
        lines.append(
            f"| {f.label} | {fmt(f.value, f.unit)}{spread_text(f.spread)} | {base} | {ratio} | "
            f"{f.target or '—'} | {verdict(f)} |"
        )
    notes = [f"- **{f.label}**: {f.note}" for f in figures if f.note]
    return "\n".join(lines) + "\n\nNotes from this run:\n\n" + "\n".join(notes) + "\n"


def merge_previous(meta: dict[str, Any], figures: list[Figure]) -> list[Figure]:
    """With --only, keep the other sections' figures from the previous run of the same size."""
    if not meta["skipped_sections"] or not RESULTS.exists():
        return figures
    previous = json.loads(RESULTS.read_text())
    if previous.get("meta", {}).get("size") != meta["size"]:
        return figures
    fresh = {f.key for f in figures}
    kept = []
    for item in previous.get("figures", []):
        if item["key"] in fresh:
            continue
        for name in ("spread", "baseline_spread"):
            if item.get(name) is not None:
                item[name] = tuple(item[name])
        kept.append(Figure(**item))
    order = [item["key"] for item in previous.get("figures", [])]
    merged = kept + figures
    merged.sort(key=lambda f: order.index(f.key) if f.key in order else len(order))
    meta["merged_from_previous_run"] = sorted({f.key for f in kept})
    return merged


def write_outputs(meta: dict[str, Any], figures: list[Figure]) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps({"meta": meta, "figures": [asdict(f) for f in figures]}, indent=2, default=str)
    )
    text = DOC.read_text() if DOC.exists() else ""
    start, end = "<!-- bench:results:start -->", "<!-- bench:results:end -->"
    m = meta["machine"]
    block = (
        f"{start}\n"
        f"Run {meta['finished']} · size **{meta['size']}** ({meta['world']}) · {meta['repeat']} repeats · "
        f"{m.get('nproc')} CPUs ({m.get('cpu', 'unknown CPU')}), {m.get('memory_gib')} GiB RAM, "
        f"load average at start {', '.join(f'{x:.1f}' for x in m.get('load_average_at_start', ()))} · "
        f"PostgreSQL {meta['versions'].get('postgresql')} · Redis {meta['versions'].get('redis')} · "
        f"Python {m.get('python')} · run took {meta['seconds']:.0f} s\n\n"
        + (
            "Figures of sections not re-run this time come from the previous run of this size: "
            + ", ".join(meta["merged_from_previous_run"])
            + ".\n\n"
            if meta.get("merged_from_previous_run")
            else ""
        )
        + markdown(meta, figures)
        + f"{end}"
    )
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text + "\n" + block + "\n"
    DOC.write_text(text)
