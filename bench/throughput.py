"""Figure 5: request form posts per second with several concurrent clients (threads with httpx),
against the bare signed-in view at the same concurrency, and the queue drain time afterwards
(last post answered -> last of those elevations active at the provider).
"""

from __future__ import annotations

import re
import threading
import time

import httpx

from bench import data
from bench.pages import session_cookie
from bench.stats import latency, ratio, show

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _client(web_url: str, user) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=web_url, timeout=60, cookies=session_cookie(user))
    page = client.get("/")  # "My elevations" carries the request form inline
    match = CSRF_INPUT.search(page.text)
    if page.status_code != 200 or not match:
        raise RuntimeError(f"/ answered {page.status_code} without a form")
    return client, match.group(1)


def _load(jobs) -> tuple[float, list[float]]:
    """Run each job's calls in its own thread, all at once; (wall seconds, per-call seconds)."""
    times: list[float] = []
    failures: list[Exception] = []
    lock = threading.Lock()

    def worker(calls):
        for call in calls:
            started = time.perf_counter()
            try:
                call()
            except Exception as exc:
                failures.append(exc)
                return
            with lock:
                times.append(time.perf_counter() - started)

    threads = [threading.Thread(target=worker, args=(calls,)) for calls in jobs]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return time.perf_counter() - started, times


def _post(client, token, device):
    def call():
        response = client.post(
            "/request/",
            data={
                "device": str(device.public_id),
                "minutes": "60",
                "reason": "bench load",
                "csrfmiddlewaretoken": token,
            },
        )
        if response.status_code != 302:
            raise RuntimeError(f"request post answered {response.status_code}: {response.text[:300]}")

    return call


def _get(client):
    def call():
        if client.get("/bench/bare").status_code != 200:
            raise RuntimeError("bare view failed")

    return call


def run(scale, web_url: str) -> dict:
    result = _run(scale, web_url, "load")
    result["slow_provider"] = _slow_provider(scale, web_url)
    return result


def _celery_round_trip() -> float:
    """Median seconds of a bare task round trip (portal.ping), the engine's own floor."""
    from portal.celery import ping

    times = []
    for _ in range(15):
        started = time.monotonic()
        ping.delay().get(timeout=10)
        times.append(time.monotonic() - started)
    return sorted(times)[len(times) // 2]


def _slow_provider(scale, web_url: str, latency_ms: int = 300) -> dict:
    """The same load against a provider that takes 300 ms a call: request -> active should cost
    little more than the provider's own latency plus a bare round trip."""
    connection = data.base().connection
    connection.options = {**(connection.options or {}), "latency_ms": latency_ms}
    connection.save(update_fields=["options"])
    try:
        result = _run(scale, web_url, f"slow{latency_ms}", quiet=True)
    finally:
        connection.options = {k: v for k, v in connection.options.items() if k != "latency_ms"}
        connection.save(update_fields=["options"])
    round_trip = _celery_round_trip()
    floor = latency_ms / 1000 + round_trip
    p50 = result["request_to_active"]["p50_ms"] / 1000
    figure = {
        "provider_latency_ms": latency_ms,
        "request_to_active": result["request_to_active"],
        "celery_round_trip_s": round(round_trip, 4),
        "ratio": round(p50 / floor, 2),
        "posts_per_s": result["posts_per_s"],
    }
    show(
        f"Request -> active with the provider at {latency_ms} ms ({scale.load_clients} clients)",
        [
            f"p50 {p50:.2f} s = {figure['ratio']}x (provider {latency_ms / 1000:.2f} s + bare round trip"
            f" {round_trip * 1000:.1f} ms); max {result['request_to_active']['max_ms'] / 1000:.2f} s;"
            f" {result['posts_per_s']} posts/s",
            "target: <= 1.5x",
        ],
    )
    return figure


def _run(scale, web_url: str, name: str, quiet: bool = False) -> dict:
    from requests_app.lifecycle import State
    from requests_app.models import Elevation

    people = [data.user_with_devices(f"{name}-{n}", scale.load_requests) for n in range(scale.load_clients)]
    sessions = [(_client(web_url, user), devices) for user, devices in people]
    bare_wall, bare_times = _load([[_get(client)] * scale.load_requests for (client, _), _d in sessions])
    wall, times = _load([[_post(client, token, d) for d in devices] for (client, token), devices in sessions])
    load_end = time.time()
    users = [user for user, _ in people]
    mine = Elevation.objects.filter(beneficiary__in=users)
    deadline = time.monotonic() + 300
    while mine.exclude(state=State.ACTIVE).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    last_active = max(mine.values_list("activated_at", flat=True))
    posts = scale.load_clients * scale.load_requests
    stamps = mine.exclude(activated_at=None).values_list("created_at", "activated_at")
    waits = [(active - created).total_seconds() for created, active in stamps]
    result = {
        "clients": scale.load_clients,
        "posts": posts,
        "posts_per_s": round(posts / wall, 1),
        "post_latency": latency(times),
        "bare_per_s": round(posts / bare_wall, 1),
        "bare_latency": latency(bare_times),
        "drain_s": round(max(0.0, last_active.timestamp() - load_end), 2),
        "not_active": mine.exclude(state=State.ACTIVE).count(),
        "request_to_active": latency(waits),
    }
    result["ratio"] = ratio(result["posts_per_s"], result["bare_per_s"])
    if quiet:
        for (client, _token), _devices in sessions:
            client.close()
        return result
    show(
        f"Throughput ({scale.load_clients} concurrent clients, {posts} request form posts)",
        [
            f"request form post  {result['posts_per_s']:7.1f} /s  p50 {result['post_latency']['p50_ms']:.0f} ms"
            f"  p95 {result['post_latency']['p95_ms']:.0f} ms",
            f"bare signed-in GET {result['bare_per_s']:7.1f} /s  ({result['ratio']}x of it)",
            f"request -> active p50 {result['request_to_active']['p50_ms'] / 1000:.2f} s"
            f"  max {result['request_to_active']['max_ms'] / 1000:.2f} s;"
            f" queue drained {result['drain_s']} s after the last post"
            + (f"; {result['not_active']} NOT ACTIVE" if result["not_active"] else ""),
        ],
    )
    for (client, _token), _devices in sessions:
        client.close()
    return result
