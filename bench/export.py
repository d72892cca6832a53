"""Figure 4: the streaming audit export (CSV, JSON Lines) over HTTP, against PostgreSQL's own
`COPY … TO STDOUT` of the same rows, and the web processes' peak memory meanwhile.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
from django.utils import timezone

from bench.pages import session_cookie
from bench.stats import ratio, show

SELECT = """SELECT e.seq, e.at, e.actor_id, e.actor_label, e.action, e.target_type, e.target_id, e.target_label,
    e.elevation_id, e.before, e.after, e.reason, e.ip, e.user_agent, e.prev_hash, e.hash, el.public_id
    FROM requests_app_auditevent e LEFT JOIN requests_app_elevation el ON el.id = e.elevation_id
    WHERE e.at >= %s ORDER BY e.seq"""
COPY_FORMATS = {
    "csv": f"COPY ({SELECT}) TO STDOUT WITH (FORMAT csv, HEADER)",
    "jsonl": f"COPY (SELECT row_to_json(t) FROM ({SELECT}) t) TO STDOUT",  # noqa: S608 (constant text)
}


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class PeakMemory:
    """Samples the resident size of the given processes every 20 ms; `peak` is the largest seen."""

    def __init__(self, pids: list[int]):
        self.pids, self.peak, self._stop = pids, 0, threading.Event()
        self.start_kib = max(rss_kib(pid) for pid in pids)
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max([self.peak, *(rss_kib(pid) for pid in self.pids)])
            time.sleep(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _via_view(client: httpx.Client, fmt: str, since: str, pids: list[int]) -> dict:
    started = time.perf_counter()
    lines = size = 0
    with PeakMemory(pids) as memory, client.stream("GET", f"/audit/export.{fmt}", params={"date_from": since}) as r:
        if r.status_code != 200:
            raise RuntimeError(f"export.{fmt} answered {r.status_code}")
        for chunk in r.iter_bytes(1 << 16):
            lines += chunk.count(b"\n")
            size += len(chunk)
    seconds = time.perf_counter() - started
    rows = lines - (2 if fmt == "csv" else 1)  # header and trailer lines
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "mib": round(size / 2**20, 1),
        "rss_start_mib": round(memory.start_kib / 1024, 1),
        "rss_peak_mib": round(memory.peak / 1024, 1),
    }


def _via_copy(fmt: str, since_at) -> dict:
    from django.db import connection

    started = time.perf_counter()
    lines = size = 0
    with connection.cursor() as cursor, cursor.cursor.copy(COPY_FORMATS[fmt], [since_at]) as copy:
        for block in copy:
            lines += bytes(block).count(b"\n")
            size += len(block)
    seconds = time.perf_counter() - started
    rows = lines - (1 if fmt == "csv" else 0)
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "mib": round(size / 2**20, 1),
    }


def run(scale, web_url: str, personas, web_pids: list[int], sizes: dict) -> dict:
    import statistics

    since_date = timezone.localdate() - timedelta(days=60)
    since_at = timezone.make_aware(timezone.datetime.combine(since_date, timezone.datetime.min.time()))
    client = httpx.Client(base_url=web_url, timeout=600, cookies=session_cookie(personas.auditor))
    result, lines = {}, [f"data: {sizes['audit_events']:,} audit events; median of {scale.export_runs} runs"]
    for fmt in ("csv", "jsonl"):
        view_runs, copy_runs = [], []
        for _ in range(scale.export_runs):
            copy_runs.append(_via_copy(fmt, since_at))
            view_runs.append(_via_view(client, fmt, since_date.isoformat(), web_pids))
        view = {k: statistics.median(r[k] for r in view_runs) for k in view_runs[0]}
        copied = {k: statistics.median(r[k] for r in copy_runs) for k in copy_runs[0]}
        view["rss_peak_mib"] = max(r["rss_peak_mib"] for r in view_runs)
        share = ratio(view["rows_per_s"], copied["rows_per_s"])
        result[fmt] = {"view": view, "copy": copied, "share_of_copy": share}
        lines.append(
            f"{fmt:<5} view {view['rows']:>9,} rows {view['rows_per_s']:>9,.0f} rows/s ({view['mib']} MiB)"
            f" | COPY {copied['rows_per_s']:>9,.0f} rows/s | {share:.0%} of COPY"
            f" | web RSS {view['rss_start_mib']} -> peak {view['rss_peak_mib']} MiB"
        )
    lines.append("target: >= 50 % of COPY's rows/s, flat memory")
    show("Export (streaming view vs COPY TO STDOUT)", lines)
    client.close()
    return result
