"""One bench run: data in two stages (query counts at 1 % and at full size), then the five figures
against a real worker and gunicorn. `run_figures()` is shared by `python -m bench` and the smoke test.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

from django.utils import timezone

from bench import data, expiry, export, grant, pages, throughput
from bench.scale import Scale
from bench.stack import Stack
from bench.stats import show

FIGURES = ("grant", "pages", "export", "throughput", "expiry")


def seed_in_stages(scale: Scale, count_pages: bool) -> tuple[dict, dict]:
    """Seed 1 % and count each page's queries, then the rest and count again."""
    first_elevations, first_events = scale.first_stage
    started = time.monotonic()
    # The first stage's events lie before the second's, so the chain's times stay in order.
    early = timezone.now() - timedelta(seconds=scale.events + 3600)
    sizes = data.seed(elevations=first_elevations, events=first_events, events_end=early)
    personas = data.base()
    queries = {}
    if count_pages:
        queries[f"{sizes['elevations']:,} elevations"] = pages.count_queries(personas)
    sizes = data.seed(elevations=scale.elevations - first_elevations, events=scale.events - first_events)
    if count_pages:
        queries[f"{sizes['elevations']:,} elevations"] = pages.count_queries(personas)
    data.mark_chain_verified()
    data.settle()
    took = round(time.monotonic() - started, 1)
    show(
        "Data",
        [
            f"{sizes['elevations']:,} elevations, {sizes['audit_events']:,} audit events, "
            f"{sizes['users']:,} users; seeded (and vacuumed) in {took} s"
        ],
    )
    return {**sizes, "seed_seconds": took}, queries


def run_figures(stack: Stack, scale: Scale, only: tuple[str, ...] = FIGURES) -> dict:
    sizes, queries = seed_in_stages(scale, "pages" in only)
    personas = data.base()
    stack.start()
    results: dict = {"scale": scale.name, "data": sizes, "seconds": {}}
    started = time.monotonic()
    # Expiry last: its burst queues ~10,000 notifications, which would still be draining (and
    # slowing everything) during any figure after it.
    figures = {
        "grant": lambda: grant.run(scale),
        "pages": lambda: pages.run(scale, stack.web_url, personas, queries, sizes),
        "export": lambda: export.run(scale, stack.web_url, personas, stack.web_pids(), sizes),
        "throughput": lambda: throughput.run(scale, stack.web_url),
        "expiry": lambda: expiry.run(scale),
    }
    for name, figure in figures.items():
        if name in only:
            begun = time.monotonic()
            results[name] = figure()
            results["seconds"][name] = round(time.monotonic() - begun, 1)
    results["figures_seconds"] = round(time.monotonic() - started, 1)
    return results


def write_json(results: dict, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    path = out_dir / f"{results['scale']}-{stamp}.json"
    text = json.dumps({"finished_at": timezone.now().isoformat(), **results}, indent=2, default=str)
    path.write_text(text)
    (out_dir / f"latest-{results['scale']}.json").write_text(text)
    return path
