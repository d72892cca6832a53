"""One back-off per provider connection, shared by every worker process (state in Redis).

A 429 with Retry-After, or a run of 5xx answers, pauses every call on that connection until the
pause passes: one elevation's back-off is the connection's back-off, so a rate-limited vendor is
not hit again by the other 30 threads that did not see the 429. An optional requests-per-second
budget (`ELEVATE_PROVIDER_MAX_RPS`) keeps us under the vendor's limit in the first place, and
keeps a reserve that only revokes may spend: when the budget is short, revokes go first.

Callers say how urgent their calls are (`urgency("revoke")` around a revoke or expiry step) and,
in a web request, how long they may take at most (`budget(2.0)`): a person never waits on a
paused or slow provider. Redis being down keeps the pauses (this process's memory,
then the database) and is logged; processes can no longer share waves, so on a connection
rate-limited lately only revokes go (each process in waves of its own), the rest wait for Redis.

Once a connection has been rate-limited (for a minute after its last 429) its calls go out in
waves: a wave opens with the first call and takes those that come within a moment
(`ELEVATE_GATE_WAVE_JOIN_MS`); the next waits until the wave's answers are in, or have taken
longer than `ELEVATE_GATE_WAVE_HOLD_MS` (a vendor's 429 comes back fast, from its gateway; a slow
answer is work being done). A 429 answered to one call of a wave is therefore written down before
anyone sends again, so no call arrives inside the window it opened, however many threads and
processes share the connection.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import logging
import random
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import redis
from django.conf import settings
from django.db import IntegrityError, transaction

from requests_app.models import ProviderPause

log = logging.getLogger(__name__)

REVOKE = "revoke"
GRANT = "grant"

_urgency: contextvars.ContextVar[str] = contextvars.ContextVar("provider_call_urgency", default=GRANT)
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("provider_call_deadline", default=None)
# A worker step's deadline (its lease): calls inside may wait for pauses and be retried in place,
# but never past it.
_step_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("provider_step_deadline", default=None)
# Inside a hedged copy: set once another copy of the call got through.
_hedge_done: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar("provider_hedge", default=None)

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


@contextlib.contextmanager
def step(seconds: float) -> Iterator[None]:
    """Calls made inside belong to one worker step that must be done within `seconds` (its lease):
    they wait for pauses and are retried in place after a 429, but never past that."""
    token = _step_deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _step_deadline.reset(token)


@contextlib.contextmanager
def hedged_copy(done: threading.Event) -> Iterator[None]:
    """Calls made inside are one copy of a hedged call: tried once (the hedge sends fresh copies,
    which wait for pauses like any call), and not sent at all once `done` is set (another copy got
    through); one already on the wire is answered as usual."""
    token = _hedge_done.set(done)
    try:
        yield
    finally:
        _hedge_done.reset(token)


def _called_off() -> bool:
    done = _hedge_done.get()
    return done is not None and done.is_set()


def remaining_budget() -> float | None:
    """Seconds left of a web request's budget (None outside one)."""
    deadline = _deadline.get()
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def remaining_time() -> float | None:
    """Seconds left for the next call: the web budget, else the step's deadline (None: no limit)."""
    budget = remaining_budget()
    if budget is not None:
        return budget
    deadline = _step_deadline.get()
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def read_timeout(configured: float) -> float:
    """A revoke does not wait as long for an answer as a grant may: it is idempotent, so giving up
    early and asking again costs nothing, while every second of it is admin nobody asked for."""
    if current_urgency() == REVOKE:
        return min(configured, float(settings.ELEVATE_REVOKE_CALL_TIMEOUT_SECONDS))
    return configured


def may_retry_in_place() -> bool:
    """A rate-limited call may be tried again in place: only inside a worker step with time left,
    and not as a hedged copy (the hedge sends fresh copies instead)."""
    left = remaining_time()
    return remaining_budget() is None and left is not None and left > 1.0 and _hedge_done.get() is None


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


# This process's own memory of the pauses it saw (ms since the epoch): no round trip while it lasts.
_local_pauses: dict[str, int] = {}
# Set in Redis once its pauses are complete; missing after Redis restarted empty or was flushed,
# and then the pauses are loaded back from the database before anyone relies on Redis again.
EPOCH_KEY = "elevate:gate:epoch"


def _pause_key(connection: Connection) -> str:
    return f"elevate:gate:{connection.key}:pause"


def _paused_for(connection: Connection) -> float:
    """Seconds left of the connection's pause: this process's memory, else Redis (complete since
    its epoch), else the database (durable: Redis may have lost its pauses)."""
    now_ms = _now_ms()
    local = _local_pauses.get(connection.key, 0)
    if local > now_ms:
        return (local - now_ms) / 1000
    try:
        value, epoch = coordination_redis().mget(_pause_key(connection), EPOCH_KEY)
        if epoch is None:
            _reload_pauses_into_redis()
            value = coordination_redis().get(_pause_key(connection))
        until = int(value) if value else 0
    except redis.RedisError:
        until = _durable_pause(connection)
    if until > now_ms:
        _local_pauses[connection.key] = until
    return max(0.0, (until - now_ms) / 1000)


def _durable_pause(connection: Connection) -> int:
    try:
        row = ProviderPause.objects.filter(key=connection.key).values_list("until", flat=True).first()
    except Exception as exc:  # the database is the fallback: never fail a call over it
        log.warning("provider gate: could not read the stored pause (%s)", exc)
        return 0
    return int(row.timestamp() * 1000) if row else 0


def _reload_pauses_into_redis() -> None:
    """Put back what Redis lost: the pauses still running, and for each connection rate-limited
    within the last minute its careful mode, with a wave assumed out for MIN_ANSWER_WAIT (calls
    were in flight when the state went, and a 429 of theirs comes back within that)."""
    now_ms = _now_ms()
    recent = datetime.fromtimestamp(now_ms / 1000 - CAREFUL_SECONDS, tz=UTC)
    client = coordination_redis()
    try:
        current = list(ProviderPause.objects.filter(until__gt=recent).values_list("key", "until"))
    except Exception as exc:
        log.warning("provider gate: could not read the stored pauses (%s)", exc)
        return
    hold = int(settings.ELEVATE_GATE_WAVE_HOLD_MS)
    for key, until in current:
        until_ms = int(until.timestamp() * 1000)
        pause, wave, out, careful = _wave_keys(Connection(key, ""))
        if until_ms > now_ms:
            client.eval(_EXTEND_PAUSE, 1, pause, until_ms, now_ms)
        client.set(careful, "1", px=until_ms + CAREFUL_SECONDS * 1000 - now_ms)
        client.set(wave, "0", px=hold * 4, nx=True)  # opened long ago: nobody joins it
        # Scored as a wave that started a hold ago less MIN_ANSWER_WAIT: it lapses that much later.
        client.zadd(out, {"lost-with-redis": now_ms - hold + int(MIN_ANSWER_WAIT * 1000)}, nx=True)
        client.pexpire(out, hold * 4)
    client.set(EPOCH_KEY, str(now_ms))


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


def _must_wait(connection: Connection, ticket: str) -> float:
    """0 when the call may go now (it is then counted in the wave), seconds to wait, or -1 while
    a wave is out."""
    paused = _paused_for(connection)
    if paused:
        return paused
    try:
        admitted = _take_token(connection) or _join_wave(connection, ticket)
    except redis.RedisError as exc:
        _warn_redis_down(exc)
        if current_urgency() != REVOKE and _rate_limited_lately(connection):
            # Without Redis, processes cannot share waves: on a connection rate-limited lately only
            # revokes go (each revoke worker in waves of its own), the rest wait for Redis.
            return REDIS_DOWN_RECHECK
        return _join_local_wave(connection, ticket)
    if connection.key in _local_out:
        with _local_lock:  # Redis is back: the next outage starts its local waves afresh
            _local_out.pop(connection.key, None)
    return admitted


# While Redis is away, a call other than a revoke on a connection rate-limited lately looks again
# this much later (a web request gives up at once: the grant step runs its checks later).
REDIS_DOWN_RECHECK = 0.5
_redis_down_warned = 0.0


def _warn_redis_down(exc: Exception) -> None:
    global _redis_down_warned
    if time.monotonic() - _redis_down_warned > 10:  # every call would say it: once in 10 s
        _redis_down_warned = time.monotonic()
        log.warning(
            "provider gate: Redis unavailable; no request budget, only revokes on rate-limited connections (%s)", exc
        )


def _rate_limited_lately(connection: Connection) -> bool:
    """Rate-limited within CAREFUL_SECONDS, as this process saw it or as the database keeps it."""
    if _local_careful.get(connection.key, 0.0) > time.monotonic():
        return True
    return _durable_pause(connection) > _now_ms() - CAREFUL_SECONDS * 1000


# While Redis is away, this process keeps the waves of the connections it saw rate-limited itself
# (the same rule as _JOIN_WAVE, in memory): its threads do not overlap a wave whose 429 may be on
# the way. Other processes do the same for theirs.
_local_lock = threading.Lock()
_local_careful: dict[str, float] = {}  # connection key -> monotonic time its careful mode ends
_local_out: dict[str, dict[str, float]] = {}  # connection key -> {ticket: monotonic start}
_local_wave_start: dict[str, float] = {}


def _join_local_wave(connection: Connection, ticket: str) -> float:
    now = time.monotonic()
    hold = settings.ELEVATE_GATE_WAVE_HOLD_MS / 1000
    with _local_lock:
        if connection.key not in _local_out:
            # Redis has just gone: the wave it held may be out, its 429s on the way (as on a reload).
            _local_out[connection.key] = {"lost-with-redis": now - hold + MIN_ANSWER_WAIT}
            _local_wave_start[connection.key] = 0.0
        out = _local_out[connection.key]
        for old in [t for t, started in out.items() if now - started > hold]:
            del out[old]
        careful = _local_careful.get(connection.key, 0.0) > now
        joined = now - _local_wave_start.get(connection.key, 0.0) < settings.ELEVATE_GATE_WAVE_JOIN_MS / 1000
        if out and careful and not joined:
            return -1.0
        if not out:
            _local_wave_start[connection.key] = now
        out[ticket] = now
        return 0.0


def before_call(connection: Connection) -> str:
    """Wait for the connection's pause (and, once it has been rate-limited, for the wave in
    flight) to pass, then return the call's ticket for `after_answer`. A thread is cheap; a
    re-queue costs a broker round trip and loses the step's place. Raise Paused when the wait is
    longer than the step may wait. Web requests never wait. Grants come a moment after the pause
    ends, so the revokes waiting for it open the next wave."""
    max_wait = 0.0 if remaining_budget() is not None else float(settings.ELEVATE_GATE_MAX_WAIT_SECONDS)
    step_left = remaining_time()
    if step_left is not None:
        max_wait = min(max_wait, max(0.0, step_left - 1.0))
    left = remaining_time()
    hold = settings.ELEVATE_GATE_WAVE_HOLD_MS / 1000
    if left is not None and left < MIN_ANSWER_WAIT and _rate_limited(connection):
        # A 429 answered after we stopped listening would open a window nobody knows about.
        raise Paused(MIN_ANSWER_WAIT)
    ticket = uuid.uuid4().hex
    started = time.monotonic()
    while (wait := _must_wait(connection, ticket)) != 0:
        if _called_off():
            raise Paused(0.0)
        if wait < 0:  # a wave is out: wait for its answers
            waited = time.monotonic() - started
            if waited + WAVE_POLL > max_wait:
                raise Paused(max(WAVE_POLL, hold - waited))
            _wait_for_wave(connection)
            continue
        if current_urgency() != REVOKE:
            wait += random.uniform(0.005, 0.02)  # the revokes waiting for the same pause go first
        if time.monotonic() - started + wait > max_wait:
            raise Paused(wait)
        time.sleep(wait)
    with _wave_opened:  # the others waiting in this process join the wave this call opened
        _wave_opened.notify_all()
    return ticket


# While a wave is out, one thread per process and connection asks Redis whether it is over (every
# WAVE_POLL, or at once when an answer arrives in this process); the others sleep until a wave
# opens. Thirty threads polling would starve the very thread that must write a 429 down.
WAVE_POLL = 0.02
_answers = threading.Condition()
_wave_opened = threading.Condition()
_pollers: dict[str, threading.Lock] = {}
_pollers_lock = threading.Lock()


def _wait_for_wave(connection: Connection) -> None:
    with _pollers_lock:
        poller = _pollers.setdefault(connection.key, threading.Lock())
    if poller.acquire(blocking=False):
        try:
            with _answers:
                _answers.wait(WAVE_POLL)
        finally:
            poller.release()
    else:
        with _wave_opened:
            _wave_opened.wait(10 * WAVE_POLL)


# On a rate-limited connection a call is sent only with this long left to hear its answer.
MIN_ANSWER_WAIT = 1.0
# A connection rate-limited this recently sends in waves.
CAREFUL_SECONDS = 60


def _rate_limited(connection: Connection) -> bool:
    """Whether the connection has been rate-limited lately (it then sends in waves)."""
    try:
        return bool(coordination_redis().exists(_wave_keys(connection)[3]))
    except redis.RedisError:
        return True


def _wave_keys(connection: Connection) -> list[str]:
    base = f"elevate:gate:{connection.key}"
    return [_pause_key(connection), f"{base}:wave", f"{base}:out", f"{base}:careful"]


# Admit a call: 0, or ms of pause left, or -1 while a wave is out on a rate-limited connection.
# The pause is read here too, in the same step as the wave: a 429 recorded between two separate
# reads could otherwise let a call through.
_JOIN_WAVE = """
local now = tonumber(ARGV[1])
local join = tonumber(ARGV[2])
local hold = tonumber(ARGV[3])
local pause = tonumber(redis.call('GET', KEYS[1]) or '0')
if pause > now then return pause - now end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - hold)
local out = redis.call('ZCARD', KEYS[3])
local start = tonumber(redis.call('GET', KEYS[2]) or '0')
if out > 0 and now - start >= join and redis.call('EXISTS', KEYS[4]) == 1 then
  return -1
end
if out == 0 then redis.call('SET', KEYS[2], ARGV[1], 'PX', hold * 4) end
redis.call('ZADD', KEYS[3], now, ARGV[4])
redis.call('PEXPIRE', KEYS[3], hold * 4)
return 0
"""


def _join_wave(connection: Connection, ticket: str) -> float:
    """0 when the call may go (it is counted in the wave), seconds of pause left, or -1 while a
    wave is out."""
    result = int(
        coordination_redis().eval(
            _JOIN_WAVE,
            4,
            *_wave_keys(connection),
            _now_ms(),
            settings.ELEVATE_GATE_WAVE_JOIN_MS,
            settings.ELEVATE_GATE_WAVE_HOLD_MS,
            ticket,
        )
    )
    return result / 1000 if result > 0 else float(result)


def _leave_wave(connection: Connection, ticket: str) -> None:
    with _local_lock:
        _local_out.get(connection.key, {}).pop(ticket, None)
    try:
        coordination_redis().zrem(_wave_keys(connection)[2], ticket)
    except redis.RedisError as exc:
        log.warning("provider gate: could not record an answer (%s)", exc)
    with _answers:
        _answers.notify_all()


def call_abandoned(connection: Connection, ticket: str) -> None:
    """The call got no answer (timeout, broken connection): it no longer holds the wave."""
    _leave_wave(connection, ticket)


def after_answer(connection: Connection, ticket: str, status: int | None, retry_after: float | None) -> None:
    """Open or extend the connection's pause after a 429 or a run of 5xx (a success ends the run),
    then let the call's wave go: the pause is written before anyone can send again."""
    try:
        if status == 429:
            _pause(connection, retry_after if retry_after is not None else DEFAULT_RETRY_AFTER, careful=True)
            return
        try:
            client = coordination_redis()
            run_key = f"elevate:gate:{connection.key}:errors"
            if status is not None and status >= 500:
                run = client.incr(run_key)
                client.expire(run_key, 60)
                if run >= SERVER_ERROR_RUN:
                    pause = max(min(SERVER_ERROR_PAUSE_MAX, 2.0 ** (run - SERVER_ERROR_RUN)), retry_after or 0)
                    _pause(connection, pause)
            elif status is not None and status < 400:
                client.delete(run_key)
        except redis.RedisError as exc:
            log.warning("provider gate: could not count the connection's server errors (%s)", exc)
    finally:
        _leave_wave(connection, ticket)


def _pause(connection: Connection, seconds: float, careful: bool = False) -> None:
    """Extend the pause to now + `seconds` unless a later one is set (concurrent 429s never shorten
    each other's windows): in this process, in Redis for every process, and in the database, which
    survives Redis losing its data. (Provider calls run outside transactions; should a caller's
    roll back, this process's memory and Redis still hold the pause.)"""
    now_ms = _now_ms()
    until_ms = now_ms + int(seconds * 1000)
    _local_pauses[connection.key] = max(_local_pauses.get(connection.key, 0), until_ms)
    if careful:
        _local_careful[connection.key] = time.monotonic() + CAREFUL_SECONDS
    try:
        client = coordination_redis()
        client.eval(_EXTEND_PAUSE, 1, _pause_key(connection), until_ms, now_ms)
        if careful:  # rate-limited: its calls go in waves for a while (module docstring)
            client.set(_wave_keys(connection)[3], "1", px=CAREFUL_SECONDS * 1000)
    except redis.RedisError as exc:
        log.warning("provider gate: could not share the pause through Redis (%s)", exc)
    until = datetime.fromtimestamp(until_ms / 1000, tz=UTC)
    pauses = ProviderPause.objects.filter(key=connection.key)
    try:
        if pauses.filter(until__lt=until).update(until=until):
            return
        try:
            with transaction.atomic():
                ProviderPause.objects.create(key=connection.key, label=connection.label, until=until)
        except IntegrityError:  # it exists (a later pause, or created meanwhile): extend it if ours is later
            pauses.filter(until__lt=until).update(until=until)
    except Exception as exc:  # durable copy only: the pause already holds in memory and Redis
        log.warning("provider gate: could not store the pause (%s)", exc)


def forget_pauses() -> None:
    """Forget this process's memory of pauses, and the pauses, budgets and error runs in Redis,
    starting a new epoch (tests). Pauses stored in the database end when their time is up."""
    _local_pauses.clear()
    with _local_lock:
        _local_careful.clear()
        _local_out.clear()
        _local_wave_start.clear()
    try:
        client = coordination_redis()
        keys = list(client.scan_iter(match="elevate:gate:*", count=500))
        if keys:
            client.delete(*keys)
        client.set(EPOCH_KEY, str(_now_ms()))
    except redis.RedisError as exc:
        log.warning("provider gate: could not clear the budgets in Redis (%s)", exc)


def paused_connections() -> dict[str, float]:
    """Seconds of pause left per connection label (for /metrics)."""
    now = datetime.now(tz=UTC)
    return {
        label or key: max(0.0, (until - now).total_seconds())
        for key, label, until in ProviderPause.objects.filter(until__gt=now).values_list("key", "label", "until")
    }
