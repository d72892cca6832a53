"""Percentiles, medians of runs, and the one place figures are printed."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency(values_seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/max in milliseconds, and the sample count."""
    ms = [v * 1000 for v in values_seconds]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2) if ms else math.nan,
    }


def median_of(runs: Sequence[dict[str, float]]) -> dict[str, float]:
    """Key by key, the median over runs (each run a dict of numbers)."""
    return {key: round(statistics.median(run[key] for run in runs), 2) for key in runs[0]}


def ratio(value: float, baseline: float) -> float:
    return round(value / baseline, 2) if baseline else math.nan


def show(title: str, lines: list[str]) -> None:
    print(f"\n== {title}", flush=True)
    for line in lines:
        print(f"   {line}", flush=True)
