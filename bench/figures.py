"""The benchmark's figures (a value with its target, spread and baseline) and how samples are taken."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Figure:
    """One line of the table: a measured value, its baseline, the ratio and the target."""

    key: str
    label: str
    value: float | None
    unit: str
    spread: tuple[float, float] | None = None
    baseline: float | None = None
    baseline_label: str = ""
    baseline_spread: tuple[float, float] | None = None
    ratio: float | None = None
    ratio_label: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def summarise(samples: list[float]) -> tuple[float, tuple[float, float]]:
    """Median and interquartile range (p25–p75)."""
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0], (ordered[0], ordered[0])
    q = statistics.quantiles(ordered, n=4, method="inclusive")
    return statistics.median(ordered), (q[0], q[2])


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def timed(fn: Callable[[], Any], repeat: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def interleaved(fns: dict[str, Callable[[], Any]], repeat: int, warmup: int = 1) -> dict[str, list[float]]:
    """Time several variants alternately, so that machine noise hits each of them alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return samples
