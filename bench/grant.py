"""Figure 1: submit (service call, committed) -> provider grant call started, vs a bare Celery round trip.

The demo provider runs at zero latency; the moment its grant call starts is the DemoGrant row's
created_at. Samples alternate between the two so both see the same machine noise, and each
starts on an idle worker (notification tasks of the previous grant done).
"""

from __future__ import annotations

import time

from bench import data
from bench.stats import latency, ratio, show

IDLE_SECONDS = 0.3


def _bare_round_trip() -> float:
    from portal.celery import ping

    started = time.perf_counter()
    ping.apply_async().get(timeout=30)
    return time.perf_counter() - started


def _grant_sample(user, device) -> tuple[float, float]:
    """(submit -> grant started, commit -> grant started) in seconds, then waits for active."""
    from requests_app import services
    from requests_app.lifecycle import State
    from requests_app.models import DemoGrant, Elevation

    submitted = time.time()
    elevation = services.elevation_request(requester=user, device=device, minutes=60, reason="bench grant")
    committed = time.time()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        started = DemoGrant.objects.filter(idempotency_key=str(elevation.public_id)).values_list(
            "created_at", flat=True
        )
        if started:
            break
        time.sleep(0.002)
    else:
        raise RuntimeError("the grant never reached the provider; see the worker log")
    while Elevation.objects.filter(pk=elevation.pk).exclude(state=State.ACTIVE).exists():
        time.sleep(0.005)
    # Let the worker finish what activation queued (the "granted" notification and its delivery),
    # so every sample, grant or bare, starts on an idle worker.
    time.sleep(IDLE_SECONDS)
    at = started[0].timestamp()
    return at - submitted, at - committed


def run(scale) -> dict:
    user, devices = data.user_with_devices("grant", scale.grant_samples + 2)
    _grant_sample(user, devices[-1])  # warm-up: connections, imports, the worker's first task
    _bare_round_trip()
    bare, submit, commit = [], [], []
    for device in devices[: scale.grant_samples]:
        bare.append(_bare_round_trip())
        from_submit, from_commit = _grant_sample(user, device)
        submit.append(from_submit)
        commit.append(from_commit)
        bare.append(_bare_round_trip())
    result = {
        "samples": scale.grant_samples,
        "bare_round_trip": latency(bare),
        "submit_to_grant": latency(submit),
        "commit_to_grant": latency(commit),
    }
    for key in ("submit_to_grant", "commit_to_grant"):
        result[key]["ratio_p50"] = ratio(result[key]["p50_ms"], result["bare_round_trip"]["p50_ms"])
        result[key]["ratio_p95"] = ratio(result[key]["p95_ms"], result["bare_round_trip"]["p95_ms"])
    b, s, c = result["bare_round_trip"], result["submit_to_grant"], result["commit_to_grant"]
    show(
        f"Grant overhead ({scale.grant_samples} grants, demo provider at 0 ms, real worker on Redis)",
        [
            f"bare Celery round trip   p50 {b['p50_ms']:7.1f} ms  p95 {b['p95_ms']:7.1f} ms",
            f"submit -> grant started  p50 {s['p50_ms']:7.1f} ms  p95 {s['p95_ms']:7.1f} ms"
            f"  ratio p50 {s['ratio_p50']}x  p95 {s['ratio_p95']}x",
            f"commit -> grant started  p50 {c['p50_ms']:7.1f} ms  p95 {c['p95_ms']:7.1f} ms"
            f"  ratio p50 {c['ratio_p50']}x  p95 {c['ratio_p95']}x  (target <= 1.5x)",
        ],
    )
    return result
