"""One back-off per provider connection, shared by every worker process (state in Redis).

A 429 with Retry-After, or a run of 5xx answers, pauses every call on that connection until the
pause passes: one elevation's back-off is the connection's back-off, so a rate-limited vendor is
not hit again by the other 30 threads that did not see the 429. An optional requests-per-second
budget (`ELEVATE_PROVIDER_MAX_RPS`) keeps us under the vendor's limit in the first place, and
keeps a reserve that only revokes may spend: when the budget is short, revokes go first.

Callers say how urgent their calls are (`urgency("revoke")` around a revoke or expiry step) and,
in a web request, how long they may take at most (`budget(2.0)`): a person never waits on a
paused or slow provider. Redis being down opens the gate (the database keeps correctness; only
politeness towards the vendor is lost), and is logged.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import logging
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import redis
from django.conf import settings

log = logging.getLogger(__name__)

REVOKE = "revoke"
GRANT = "grant"

_urgency: contextvars.ContextVar[str] = contextvars.ContextVar("provider_call_urgency", default=GRANT)
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("provider_call_deadline", default=None)

# A run of this many 5xx answers in a row pauses the connection (doubling up to the maximum).
SERVER_ERROR_RUN = 3
SERVER_ERROR_PAUSE_MAX = 30.0
# A 429 without Retry-After still pauses the connection this long.
DEFAULT_RETRY_AFTER = 1.0


class Paused(Exception):
    """The connection is paused (or out of budget) for `seconds` more; nothing was sent."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"paused for {seconds:.1f} s")
        self.seconds = seconds


@dataclass(frozen=True)
class Connection:
    """What the gate knows of one connection: a stable key and a label for metrics."""

    key: str
    label: str


def connection_for(base_url: str, headers: dict[str, str]) -> Connection:
    """A connection is what the vendor rate-limits: the base URL and the credentials sent with
    every call (an API key, an org id). The key is a digest: credentials never reach Redis."""
    material = base_url + "|" + "|".join(f"{k.lower()}={v}" for k, v in sorted(headers.items()))
    host = base_url.split("://", 1)[-1].split("/", 1)[0]
    return Connection(hashlib.sha256(material.encode()).hexdigest()[:20], host)


@contextlib.contextmanager
def urgency(level: str) -> Iterator[None]:
    """Calls made inside are `revoke` (may spend the reserve, wait briefly for a pause) or `grant`."""
    token = _urgency.set(level)
    try:
        yield
    finally:
        _urgency.reset(token)


@contextlib.contextmanager
def budget(seconds: float) -> Iterator[None]:
    """Calls made inside give up after `seconds` in all, and never wait for a pause (web requests)."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining_budget() -> float | None:
    deadline = _deadline.get()
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def current_urgency() -> str:
    return _urgency.get()


# -- Redis --------------------------------------------------------------------------------------

_client_lock = threading.Lock()
_client: redis.Redis | None = None


def coordination_redis() -> redis.Redis:
    global _client
    with _client_lock:
        if _client is None:
            _client = redis.Redis.from_url(
                settings.ELEVATE_COORDINATION_REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5
            )
        return _client


def _pause_key(connection: Connection) -> str:
    return f"elevate:gate:{connection.key}:pause"


# Raise a pause to `until` (ms since the epoch) unless a later one is already set: concurrent 429s
# must never shorten each other's windows.
_EXTEND_PAUSE = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local untilms = tonumber(ARGV[1])
if untilms > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', math.max(1, untilms - tonumber(ARGV[2])) + 1000)
  return untilms
end
return current
"""

# A token bucket of `rate` per second holding at most one second's worth; grants leave `reserve`
# tokens for revokes. Returns {granted, milliseconds until a token would be available}.
_TAKE_TOKEN = """
local rate = tonumber(ARGV[2])
local capacity = math.max(1, rate)
local reserve = tonumber(ARGV[3])
local nowms = tonumber(ARGV[1])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or nowms
tokens = math.min(capacity, tokens + (nowms - at) / 1000 * rate)
local granted = 0
local wait = 0
if tokens - 1 >= reserve then
  tokens = tokens - 1
  granted = 1
else
  wait = math.ceil((1 + reserve - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(nowms))
redis.call('PEXPIRE', KEYS[1], 60000)
return {granted, wait}
"""


def _now_ms() -> int:
    return int(time.time() * 1000)


# This process's own memory of the pauses it saw: still honoured while Redis is away or was flushed.
_local_pauses: dict[str, int] = {}


def _paused_for(connection: Connection) -> float:
    local = _local_pauses.get(connection.key, 0)
    try:
        value = coordination_redis().get(_pause_key(connection))
    except redis.RedisError:
        value = None
        if local <= _now_ms():
            raise
    until = max(local, int(value) if value else 0)
    return max(0.0, (until - _now_ms()) / 1000)


def _take_token(connection: Connection) -> float:
    """0 when a token was taken, else seconds until one would be available."""
    rate = float(settings.ELEVATE_PROVIDER_MAX_RPS)
    if rate <= 0:
        return 0.0
    reserve = 0 if current_urgency() == REVOKE else max(1, int(rate * settings.ELEVATE_PROVIDER_REVOKE_RESERVE))
    granted, wait_ms = coordination_redis().eval(
        _TAKE_TOKEN, 1, f"elevate:gate:{connection.key}:bucket", _now_ms(), rate, reserve
    )
    return 0.0 if granted else max(0.001, int(wait_ms) / 1000)


def _must_wait(connection: Connection) -> float:
    try:
        return _paused_for(connection) or _take_token(connection)
    except redis.RedisError as exc:
        log.warning("provider gate: Redis unavailable, calling without the shared back-off (%s)", exc)
        return 0.0


def before_call(connection: Connection) -> None:
    """Wait for the connection's pause to pass (a thread is cheap; a re-queue costs a broker round
    trip and loses the step's place), or raise Paused when it is longer than the step may wait.
    Web requests never wait. Grants come back a little after the pause ends, so the revokes
    waiting for the same pause go first."""
    max_wait = 0.0 if remaining_budget() is not None else float(settings.ELEVATE_GATE_MAX_WAIT_SECONDS)
    waited = 0.0
    while (wait := _must_wait(connection)) > 0:
        if current_urgency() != REVOKE:
            wait += random.uniform(0.2, 1.0)  # jitter: revokes first, and no thundering herd
        if waited + wait > max_wait:
            raise Paused(wait)
        time.sleep(wait)
        waited += wait


def after_answer(connection: Connection, status: int | None, retry_after: float | None) -> None:
    """Open or extend the connection's pause after a 429 or a run of 5xx; a success ends the run."""
    try:
        client = coordination_redis()
        run_key = f"elevate:gate:{connection.key}:errors"
        if status == 429:
            _pause(client, connection, retry_after if retry_after is not None else DEFAULT_RETRY_AFTER)
        elif status is not None and status >= 500:
            run = client.incr(run_key)
            client.expire(run_key, 60)
            if run >= SERVER_ERROR_RUN:
                seconds = min(SERVER_ERROR_PAUSE_MAX, 2.0 ** (run - SERVER_ERROR_RUN))
                _pause(client, connection, max(seconds, retry_after or 0.0))
        elif status is not None and status < 400:
            client.delete(run_key)
    except redis.RedisError as exc:
        log.warning("provider gate: could not record the answer in Redis (%s)", exc)


def _pause(client: redis.Redis, connection: Connection, seconds: float) -> None:
    now_ms = _now_ms()
    until = now_ms + int(seconds * 1000)
    _local_pauses[connection.key] = max(_local_pauses.get(connection.key, 0), until)
    client.eval(_EXTEND_PAUSE, 1, _pause_key(connection), until, now_ms)


def forget_pauses() -> None:
    """Drop every pause, budget and error run (tests; an operator after fixing a connection)."""
    _local_pauses.clear()
    try:
        client = coordination_redis()
        keys = list(client.scan_iter(match="elevate:gate:*", count=500))
        if keys:
            client.delete(*keys)
    except redis.RedisError as exc:
        log.warning("provider gate: could not clear the pauses in Redis (%s)", exc)


def paused_connections() -> dict[str, float]:
    """Seconds of pause left per connection key (for /metrics)."""
    client = coordination_redis()
    result = {}
    for key in client.scan_iter(match="elevate:gate:*:pause", count=500):
        name = key.decode().split(":")[2]
        value = client.get(key)
        if value:
            result[name] = max(0.0, (int(value) - _now_ms()) / 1000)
    return result
