"""Figure 3: pages over HTTP from gunicorn, against a bare signed-in view on the same server, and
the SQL queries each page runs (counted in-process; they must not grow with the data).
"""

from __future__ import annotations

import time

import httpx

from bench.stats import latency, median_of, ratio, show

# name -> (path, persona). The audit dashboard is filtered by action, as an auditor would.
PAGES = {
    "my_elevations": ("/", "employee"),
    "helpdesk_console": ("/helpdesk/", "helpdesk"),
    "audit_dashboard": ("/audit/?action=elevation.granted", "auditor"),
}
BASELINES = {"bare_signed_in": ("/bench/bare", "employee"), "healthz": ("/healthz", None)}


def session_cookie(user) -> dict[str, str]:
    """A signed-in session (the real login() path, so step-up sees a fresh sign-in)."""
    from django.conf import settings
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}


def count_queries(personas) -> dict[str, int]:
    """Queries per page, warm (a second request, as every request after the first)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    counts = {}
    for name, (path, persona) in PAGES.items():
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(getattr(personas, persona))
        client.get(path)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{name}: {path} answered {response.status_code}")
        counts[name] = len(queries)
    return counts


def _clients(base_url: str, personas) -> dict[str | None, httpx.Client]:
    clients = {None: httpx.Client(base_url=base_url, timeout=60)}
    for persona in {p for _path, p in (*PAGES.values(), *BASELINES.values()) if p}:
        clients[persona] = httpx.Client(
            base_url=base_url, timeout=60, cookies=session_cookie(getattr(personas, persona))
        )
    return clients


def _one_run(clients, rounds: int) -> dict[str, list[float]]:
    """Every page once per round, interleaved, so each sees the same noise."""
    targets = {**BASELINES, **PAGES}
    times: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(rounds):
        for name, (path, persona) in targets.items():
            started = time.perf_counter()
            response = clients[persona].get(path)
            times[name].append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"{name}: {path} answered {response.status_code}")
    return times


def run(scale, web_url: str, personas, queries: dict[str, dict[str, int]], sizes: dict) -> dict:
    clients = _clients(web_url, personas)
    _one_run(clients, 2)  # warm-up: imports, template caches, the dashboard's cached summary
    runs = [_one_run(clients, scale.page_rounds) for _ in range(scale.runs)]
    result = {}
    for name in (*BASELINES, *PAGES):
        result[name] = median_of([{k: v for k, v in latency(run[name]).items() if k != "n"} for run in runs])
    base = result["bare_signed_in"]
    lines = [
        f"data: {sizes['elevations']:,} elevations, {sizes['audit_events']:,} audit events; "
        f"median of {scale.runs} runs x {scale.page_rounds} requests per page",
        f"{'healthz':<18} p50 {result['healthz']['p50_ms']:7.1f} ms  p95 {result['healthz']['p95_ms']:7.1f} ms",
        f"{'bare signed-in':<18} p50 {base['p50_ms']:7.1f} ms  p95 {base['p95_ms']:7.1f} ms  (baseline)",
    ]
    for name in PAGES:
        page = result[name]
        page["ratio_p50"], page["ratio_p95"] = (
            ratio(page["p50_ms"], base["p50_ms"]),
            ratio(page["p95_ms"], base["p95_ms"]),
        )
        counts = " -> ".join(f"{q[name]} at {label}" for label, q in queries.items())
        page["queries"] = {label: q[name] for label, q in queries.items()}
        lines.append(
            f"{name:<18} p50 {page['p50_ms']:7.1f} ms  p95 {page['p95_ms']:7.1f} ms  ratio p50 {page['ratio_p50']}x"
            f"  p95 {page['ratio_p95']}x  queries {counts}"
        )
    lines.append("target: <= 3x the bare view, query count constant")
    show("Pages (gunicorn, PostgreSQL)", lines)
    for client in clients.values():
        client.close()
    return result
