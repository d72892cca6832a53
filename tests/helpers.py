"""Test helpers shared by many test files: a real Celery worker process, polling, broker purge."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class WorkerProcess:
    """A `celery worker` subprocess using the test database and the test Redis."""

    def __init__(
        self,
        tmp_path: Path,
        *,
        beat: bool = False,
        sweep_seconds: int = 1,
        env: dict | None = None,
        queues: str = "control,revoke,grant,celery,notifications",  # by default one worker serves all
        threads: int = 0,  # a thread pool of this size, as production runs the provider queues; 0: prefork 2
    ):
        from django.db import connection

        db = connection.settings_dict
        self.env = {
            **os.environ,
            "DATABASE_URL": "postgres://{}@{}:{}/{}".format(
                db["USER"] or "postgres", db["HOST"] or "127.0.0.1", db["PORT"] or 5432, db["NAME"]
            ),
            "ELEVATE_VAR_DIR": str(tmp_path),
            "ELEVATE_SWEEP_SECONDS": str(sweep_seconds),
            "ELEVATE_RETRY_BASE_SECONDS": "1",
            "ELEVATE_RETRY_MAX_SECONDS": "2",
            "ELEVATE_STEP_LEASE_SECONDS": "3",
            **(env or {}),
        }
        self.beat = beat
        self.queues = queues
        self.threads = threads
        self.log_path = tmp_path / f"worker-{time.monotonic_ns()}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "-Q",
            self.queues,
            "-n",
            f"w{time.monotonic_ns()}@%h",
            "--loglevel",
            "INFO",
            "--concurrency",
            str(self.threads or 2),
            "--pool",
            "threads" if self.threads else "prefork",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        if self.beat:
            cmd += ["--beat", "--schedule", str(Path(self.env["ELEVATE_VAR_DIR"]) / "beat-schedule")]
        self.log = self.log_path.open("w")
        # A session of its own, so SIGKILL can take the whole process group (pool children too).
        self.process = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready." in self.log_path.read_text():
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"worker not ready in {timeout}s:\n{self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the worker and its pool, as a crash would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text()


def purge_broker() -> None:
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()


def wait_for(predicate, timeout: float = 30, interval: float = 0.1, message: str = "condition"):
    """Poll `predicate` until it returns something truthy (real processes need real time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def state_of(elevation) -> str:
    """The elevation's state as stored now (the object is refreshed with it)."""
    elevation.refresh_from_db()
    return elevation.state


def reaches(elevation, state: str, timeout: float = 40) -> None:
    """Wait until a worker (or the sweep) has moved the elevation to `state`."""
    wait_for(lambda: state_of(elevation) == state, timeout, message=f"elevation {elevation.pk} to be {state}")


def make_persona(email: str, *roles: str, **fields):
    """A user in the named role groups, with password "pw-<email>" (loaded fresh: no perm cache)."""
    from django.contrib.auth.models import Group

    from requests_app.models import User
    from requests_app.roles import ensure_roles

    ensure_roles()
    user = User.objects.create_user(username=email, email=email, password="pw-" + email, **fields)
    user.groups.set(Group.objects.filter(name__in=roles))
    return User.objects.get(pk=user.pk)


def connect_sailpoint_identity(sailpoint, user, connection):
    """The whole SailPoint authorization-code flow over HTTP: Elevate's authorize URL, the
    simulated tenant's login (signed in as `user`), the redirect with code and state, and the
    code exchange. Returns the stored UserAuthorization."""
    from urllib.parse import parse_qs, urlsplit

    import httpx

    from requests_app.providers.sailpoint import services

    url, pending = services.sailpoint_connect_start(connection=connection)
    sailpoint.sign_in_as(user.email)
    answer = httpx.get(url, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    query = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}
    return services.sailpoint_connect_complete(user=user, pending=pending, state=query["state"], code=query["code"])


def watch_csp_violations(context) -> list[str]:
    """Collect, for every page of a Playwright browser context, the Content-Security-Policy
    violations chromium reports on the console; the caller asserts the list stays empty."""
    violations: list[str] = []

    def on_console(message) -> None:
        if "Content Security Policy" in message.text:
            violations.append(f"{message.page.url if message.page else '?'}: {message.text}")

    context.on("console", on_console)
    return violations
