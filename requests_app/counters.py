"""Counters and latency histograms shared by every process (web, workers), kept in Redis.

`/metrics` (metrics.py) reads them back. Each process writing its own registry would need
prometheus-client's multiprocess mode and a shared directory on every machine; one Redis hash
per family works across machines as the queues already do. Counting never fails a call: when
Redis is away, the figure is lost, not the grant.
"""

from __future__ import annotations

import logging

import redis

from requests_app.providers import gate

log = logging.getLogger(__name__)

PREFIX = "elevate:metrics"
# Upper bounds (seconds) of the latency histograms: grant, revoke, expiry lateness, provider calls.
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300)


def provider_call(connection: str, status: str, seconds: float | None = None) -> None:
    """One call to a provider connection, by its answer (HTTP status, timeout, paused...)."""
    try:
        pipe = gate.coordination_redis().pipeline(transaction=False)
        pipe.hincrby(f"{PREFIX}:provider_calls", f"{connection}|{status}", 1)
        if seconds is not None:
            _observe(pipe, "provider_call_seconds", seconds)
        pipe.execute()
    except redis.RedisError as exc:
        log.debug("metrics: provider call not counted (%s)", exc)


def observe(histogram: str, seconds: float) -> None:
    """One observation of a latency (`grant_seconds`, `revoke_seconds`, `expiry_lateness_seconds`)."""
    try:
        pipe = gate.coordination_redis().pipeline(transaction=False)
        _observe(pipe, histogram, seconds)
        pipe.execute()
    except redis.RedisError as exc:
        log.debug("metrics: %s not observed (%s)", histogram, exc)


def _observe(pipe, histogram: str, seconds: float) -> None:
    key = f"{PREFIX}:hist:{histogram}"
    for bound in BUCKETS:
        if seconds <= bound:
            pipe.hincrby(key, str(bound), 1)
            break
    else:
        pipe.hincrby(key, "+Inf", 1)
    pipe.hincrbyfloat(key, "sum", max(0.0, seconds))


def read_histogram(histogram: str) -> tuple[list[tuple[str, int]], float]:
    """Cumulative buckets [(upper bound, count)...] ending with +Inf, and the sum."""
    raw = {_text(k): _text(v) for k, v in gate.coordination_redis().hgetall(f"{PREFIX}:hist:{histogram}").items()}
    total, buckets = 0, []
    for bound in [*BUCKETS, "+Inf"]:
        total += int(raw.get(str(bound), 0))
        buckets.append((str(bound), total))
    return buckets, float(raw.get("sum", 0.0))


def read_provider_calls() -> dict[tuple[str, str], int]:
    raw = gate.coordination_redis().hgetall(f"{PREFIX}:provider_calls")
    result = {}
    for field, value in raw.items():
        connection, _, status = _text(field).rpartition("|")
        result[(connection, status)] = int(value)
    return result


def _text(value: bytes | str) -> str:
    """A Redis reply as text (the client returns bytes unless told to decode)."""
    return value.decode() if isinstance(value, bytes) else value
