"""One back-off per connection, shared by every worker process (providers/gate.py)."""

import contextvars
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings

from helpers import wait_for
from requests_app.providers import base, gate
from requests_app.providers.simulator import Response, Simulator

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


class Echo(Simulator):
    name = "echo"

    def setup_routes(self) -> None:
        self.route("POST", "/grant", lambda request: Response(201, {"ok": True}))


@pytest.fixture
def echo():
    simulator = Echo()
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture(autouse=True)
def clean_gate():
    client = gate.coordination_redis()
    client.flushdb()
    yield
    client.flushdb()


CALLER = """
import sys, threading, time, django
django.setup()
from requests_app.providers import base, gate
url, seconds = sys.argv[1], float(sys.argv[2])
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
deadline = time.monotonic() + seconds

def call_until_deadline():
    from django.db import connection

    client = base.http_client(url, {"x-api-key": "k1"})
    while time.monotonic() < deadline:
        try:
            with gate.step(max(1.5, deadline - time.monotonic())):
                base.send(client, "POST", "/grant", "grant")
        except base.ProviderError as exc:
            time.sleep(min(exc.retry_after or 0.05, 0.05))
    connection.close()

workers = [threading.Thread(target=call_until_deadline) for _ in range(threads)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
"""


def _caller_env():
    from django.db import connection

    db = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "REDIS_URL": settings.REDIS_URL,
        "DATABASE_URL": "postgres://{}@{}:{}/{}".format(
            db["USER"] or "postgres", db["HOST"] or "127.0.0.1", db["PORT"] or 5432, db["NAME"]
        ),
    }


def test_one_429_pauses_every_process_on_that_connection_until_retry_after(echo, transactional_db):
    echo.add_fault(method="POST", path="/grant", status=429, retry_after="2", times=1)
    env = _caller_env()
    command = [sys.executable, "-c", CALLER, echo.base_url, "4"]
    callers = [subprocess.Popen(command, cwd=ROOT, env=env)]
    # The second process starts once the first has had its 429: it never saw that answer.
    wait_for(lambda: echo.retry_windows, 30, interval=0.01, message="the first 429")
    time.sleep(0.2)
    callers.append(subprocess.Popen(command, cwd=ROOT, env=env))
    for caller in callers:
        assert caller.wait(30) == 0
    assert len(echo.retry_windows) == 1
    start, end = echo.retry_windows[0]
    assert echo.calls_inside_retry_after() == 0, [round(at - start, 3) for at, _m, _p in echo.arrivals]
    assert any(at >= end for at, _m, _p in echo.arrivals), "calls resumed after the pause"


def test_bursts_from_many_threads_in_two_processes_never_land_inside_a_retry_after(echo, transactional_db):
    """A vendor that is slow and has begun to rate-limit, three calls in ten: the 429 answered to
    one call of a burst is written down before any thread of either process sends again."""
    echo.add_fault(method="POST", path="/grant", status=429, retry_after="0.5", times=1)
    with pytest.raises(base.ProviderError):
        base.send(base.http_client(echo.base_url, {"x-api-key": "k1"}), "POST", "/grant", "grant")
    echo.chaos.latency = 0.3
    echo.chaos.rate_429 = 0.3
    echo.chaos.retry_after = 0.5
    echo.chaos.rate_500 = 0.1
    command = [sys.executable, "-c", CALLER, echo.base_url, "6", "24"]
    callers = [subprocess.Popen(command, cwd=ROOT, env=_caller_env()) for _ in range(2)]
    for caller in callers:
        assert caller.wait(60) == 0
    assert len(echo.retry_windows) >= 3, "the vendor rate-limited the bursts"
    answered = sum(1 for _m, _p, status in echo.log if status == 201)
    assert answered >= 20, "calls went on between the pauses"
    inside = [f"{at:.3f}" for at, _m, _p in echo.arrivals if any(start < at < end for start, end in echo.retry_windows)]
    assert echo.calls_inside_retry_after() == 0, inside


def test_a_paused_connection_refuses_at_once_without_sending(echo):
    client = base.http_client(echo.base_url, {"x-api-key": "k1"})
    echo.add_fault(method="POST", path="/grant", status=429, retry_after="30", times=1)
    with pytest.raises(base.ProviderError) as first:
        base.send(client, "POST", "/grant", "grant")
    assert first.value.status_code == 429 and not first.value.gated
    with pytest.raises(base.ProviderError) as second:
        base.send(client, "POST", "/grant", "grant")
    assert second.value.gated and second.value.retry_after >= 29
    assert len(echo.arrivals) == 1
    # Another connection (another API key) on the same host is not paused.
    other = base.http_client(echo.base_url, {"x-api-key": "k2"})
    assert base.send(other, "POST", "/grant", "grant").status_code == 201


def test_a_run_of_server_errors_pauses_the_connection(echo):
    client = base.http_client(echo.base_url, {"x-api-key": "k1"})
    echo.add_fault(method="POST", path="/grant", status=500, times=gate.SERVER_ERROR_RUN)
    for _ in range(gate.SERVER_ERROR_RUN):
        with pytest.raises(base.ProviderError) as error:
            base.send(client, "POST", "/grant", "grant")
        assert error.value.may_have_applied
    with gate.budget(5), pytest.raises(base.ProviderError) as paused:  # a web request does not wait
        base.send(client, "POST", "/grant", "grant")
    assert paused.value.gated
    assert len(echo.arrivals) == gate.SERVER_ERROR_RUN


def test_a_revoke_waits_in_place_for_a_short_pause_and_then_goes(echo):
    client = base.http_client(echo.base_url, {"x-api-key": "k1"})
    echo.add_fault(method="POST", path="/grant", status=429, retry_after="1", times=1)
    with pytest.raises(base.ProviderError):
        base.send(client, "POST", "/grant", "grant")
    started = time.monotonic()
    with gate.urgency(gate.REVOKE):
        assert base.send(client, "POST", "/grant", "revoke").status_code == 201
    assert time.monotonic() - started >= 0.9
    assert echo.calls_inside_retry_after() == 0


def test_a_web_request_gives_a_slow_provider_only_its_budget(echo):
    client = base.http_client(echo.base_url, {"x-api-key": "k1"})
    echo.add_fault(method="POST", path="/grant", delay=3, times=1)
    started = time.monotonic()
    with gate.budget(0.5), pytest.raises(base.ProviderError) as error:
        base.send(client, "POST", "/grant", "grant")
    assert time.monotonic() - started < 2
    assert error.value.may_have_applied and not error.value.permanent


def test_revokes_keep_a_reserve_of_the_request_budget(echo, settings):
    settings.ELEVATE_PROVIDER_MAX_RPS = 5
    client = base.http_client(echo.base_url, {"x-api-key": "k1"})
    for _ in range(4):  # grants may spend four of the five tokens a second
        base.send(client, "POST", "/grant", "grant")
    started = time.monotonic()
    with gate.urgency(gate.REVOKE):
        base.send(client, "POST", "/grant", "revoke")
    assert time.monotonic() - started < 0.15, "the revoke spent the reserve at once"
    started = time.monotonic()
    base.send(client, "POST", "/grant", "grant")
    assert time.monotonic() - started >= 0.2, "the next grant waited for the budget to refill"


def test_without_redis_pauses_still_hold_and_calls_go_through(echo, monkeypatch):
    unreachable = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    monkeypatch.setattr(gate, "coordination_redis", lambda: unreachable)
    client = base.http_client(echo.base_url, {"x-api-key": "k1"})
    assert base.send(client, "POST", "/grant", "grant").status_code == 201
    echo.add_fault(method="POST", path="/grant", status=429, retry_after="30", times=1)
    with pytest.raises(base.ProviderError):
        base.send(client, "POST", "/grant", "grant")
    gate._local_pauses.clear()  # another process, which did not see the 429: the database says so
    with pytest.raises(base.ProviderError) as paused:
        base.send(client, "POST", "/grant", "grant")
    assert paused.value.gated and len(echo.arrivals) == 2


def test_connection_keys_never_carry_the_credentials():
    connection = gate.connection_for("https://console.jumpcloud.com", {"x-api-key": "secret-key-123"})
    assert "secret" not in connection.key and connection.label == "console.jumpcloud.com"


def _second_call_beside_a_slow_429(echo, meanwhile=lambda: None) -> tuple[float, float]:
    """On a connection rate-limited a moment ago, one thread's call is answered 429 (Retry-After
    1 s) only after 0.5 s; while it is out, `meanwhile()` runs and this thread sends another.
    Returns (when the second call arrived, when the 429's window ended)."""
    import threading

    from django.db import connection

    client = base.http_client(echo.base_url, {"x-api-key": "k1"})
    echo.add_fault(method="POST", path="/grant", status=429, retry_after="0.2", times=1)
    with pytest.raises(base.ProviderError):
        base.send(client, "POST", "/grant", "grant")
    time.sleep(0.3)  # the pause has passed; the connection still sends in waves
    echo.add_fault(method="POST", path="/grant", status=429, retry_after="1", delay=0.5, times=1)

    def slow_call():
        with pytest.raises(base.ProviderError):
            base.send(client, "POST", "/grant", "grant")
        connection.close()

    slow = threading.Thread(target=contextvars.copy_context().run, args=(slow_call,))  # the caller's urgency
    slow.start()
    wait_for(lambda: len(echo.arrivals) == 2)
    # Past the moment in which a call still joins the slow call's wave (it would go beside it by design).
    time.sleep(settings.ELEVATE_GATE_WAVE_JOIN_MS / 1000 + 0.05)
    meanwhile()
    with gate.step(10):  # a worker step: it may wait for the wave and the pause
        assert base.send(client, "POST", "/grant", "grant").status_code == 201
    slow.join()
    (_start, window_end), *_ = [w for w in echo.retry_windows if w[1] - w[0] > 0.5]
    return echo.arrivals[2][0], window_end


def test_after_redis_loses_the_gate_a_call_still_waits_for_the_wave_that_was_out(echo, transactional_db):
    """Redis flushed (or restarted empty) while a call of a rate-limited connection is out: the
    next call does not go beside it, so the 429 that call brings back is heard first."""
    arrived, window_end = _second_call_beside_a_slow_429(echo, gate.coordination_redis().flushdb)
    assert arrived >= window_end, "the call after the flush waited out the wave and its 429"


def test_without_redis_a_process_still_sends_revokes_in_waves_on_a_rate_limited_connection(
    echo, monkeypatch, transactional_db
):
    """Redis down: the threads of one process keep their own waves, so a call does not go beside
    one whose 429 is still on the way."""
    unreachable = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    monkeypatch.setattr(gate, "coordination_redis", lambda: unreachable)
    with gate.urgency(gate.REVOKE):
        arrived, window_end = _second_call_beside_a_slow_429(echo)
    assert arrived >= window_end, "the second call waited for the wave and its 429"


def test_without_redis_only_revokes_go_on_a_connection_rate_limited_lately(echo, monkeypatch, transactional_db):
    """Processes cannot share waves without Redis: another process's grant could go beside this
    one's revoke as its 429 comes back. So grants and checks wait for Redis, and the form does not
    wait at all, on a connection rate-limited in the last minute (the database says which)."""
    client = base.http_client(echo.base_url, {"x-api-key": "k1"})
    echo.add_fault(method="POST", path="/grant", status=429, retry_after="0.2", times=1)
    with pytest.raises(base.ProviderError):
        base.send(client, "POST", "/grant", "grant")
    time.sleep(0.3)  # the pause has passed
    unreachable = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    monkeypatch.setattr(gate, "coordination_redis", lambda: unreachable)
    gate.forget_pauses()  # another process: it knows what the database keeps, and nothing else

    with gate.budget(2.0), pytest.raises(base.ProviderError) as form:
        base.send(client, "POST", "/grant", "look the user up")
    with gate.step(3.0), pytest.raises(base.ProviderError) as grant:
        base.send(client, "POST", "/grant", "grant")
    assert form.value.gated and grant.value.gated and len(echo.arrivals) == 1
    with gate.urgency(gate.REVOKE), gate.step(3.0):
        assert base.send(client, "POST", "/grant", "revoke").status_code == 201

    other = base.http_client(echo.base_url, {"x-api-key": "k2"})  # never rate-limited
    assert base.send(other, "POST", "/grant", "grant").status_code == 201
