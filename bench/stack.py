"""The processes a bench run owns: its database, a private Redis, a Celery worker (with beat) and gunicorn.

Everything listens on loopback on a free port and is stopped (the database dropped) by `close()`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BENCH_SECRET = "bench-only-secret-key-not-for-production-0123456789abcdefghijklmnop"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def admin_url(database_url: str) -> str:
    """The same server's maintenance database, for CREATE/DROP DATABASE."""
    return database_url.rsplit("/", 1)[0] + "/postgres"


def create_database(database_url: str) -> None:
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url(database_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(database_url: str) -> None:
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url(database_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Stack:
    """Child processes sharing one environment: DATABASE_URL, REDIS_URL and bench-friendly settings."""

    def __init__(self, workdir: Path, *, database_url: str, redis_url: str | None = None, sweep_seconds: int = 5):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.processes: list[tuple[str, subprocess.Popen]] = []
        self.redis_url = redis_url or self._start_redis()
        self.sweep_seconds = sweep_seconds
        smtp_port = self._start_smtp_sink()
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": self.redis_url,
            "SECRET_KEY": os.environ.get("SECRET_KEY") or BENCH_SECRET,
            "DEBUG": "false",
            "ELEVATE_HTTPS": "false",
            "ELEVATE_VAR_DIR": str(workdir),
            "ELEVATE_SWEEP_SECONDS": str(sweep_seconds),
            # Notifications go out by SMTP as in production, to a sink that accepts everything:
            # with nothing listening every e-mail would fail and retry, flooding the worker.
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp_port),
        }
        self.web_url = ""

    def _start_redis(self) -> str:
        port = free_port()
        cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self._spawn("redis", cmd, env=os.environ)
        self._wait_port(port, "redis")
        return f"redis://127.0.0.1:{port}/0"

    def _start_smtp_sink(self) -> int:
        port = free_port()
        # Python 3.11 still ships smtpd (deprecated): it accepts every message (printed to smtp.log).
        cmd = [sys.executable, "-W", "ignore", "-m", "smtpd", "-n", "-c", "DebuggingServer", f"127.0.0.1:{port}"]
        self._spawn("smtp", cmd, env=os.environ)
        self._wait_port(port, "smtp")
        return port

    def _wait_port(self, port: int, name: str) -> None:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{name} did not start: {self.log(name)[-2000:]}")

    def _spawn(self, name: str, cmd: list[str], env) -> subprocess.Popen:
        log = (self.workdir / f"{name}.log").open("w")
        # A session of its own, so stopping takes the whole group (pool children too).
        process = subprocess.Popen(  # noqa: S603 (our own argv: redis-server, celery, gunicorn)
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes.append((name, process))
        return process

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(
        self, *, revoke_threads: int | None = None, grant_threads: int | None = None, web_workers: int = 2
    ) -> None:
        """The workers by queue as in production (control with embedded beat, revoker, granter,
        notifier) and gunicorn, started side by side, with the Procfile's thread counts (and its
        environment variables): 10,000 expiries a minute against a provider answering in 200 ms
        need ~35 calls in flight, which the revoker's batches make (ELEVATE_REVOKE_CALLS_AT_ONCE)."""
        revoke_threads = revoke_threads or int(os.environ.get("ELEVATE_REVOKE_THREADS") or 16)
        grant_threads = grant_threads or int(os.environ.get("ELEVATE_GRANT_THREADS") or 16)
        worker = self.start_worker("control", "control,celery", threads=4, beat=True)
        self.start_worker("revoker", "revoke", threads=revoke_threads)
        self.start_worker("granter", "grant", threads=grant_threads)
        # Notifications have their own queue and worker, as in production (Procfile, compose).
        self.start_worker("notifier", "notifications", threads=0)
        port = free_port()
        self.web_url = f"http://127.0.0.1:{port}"
        # The production WSGI app; bench.settings only adds the bare signed-in view (bench/urls.py).
        web = self._spawn(
            "web",
            [
                str(BIN / "gunicorn"),
                "portal.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(web_workers),
            ],
            # gunicorn.conf.py (read from ROOT, the working directory) as in production; no access log.
            {**self.env, "DJANGO_SETTINGS_MODULE": "bench.settings", "GUNICORN_ACCESS_LOG": ""},
        )
        self._wait(self._web_answers, web, "web")
        self._wait(self._worker_answers, worker, "worker")

    def start_worker(self, name: str, queues: str, *, threads: int, beat: bool = False) -> subprocess.Popen:
        """One `celery worker` on `queues`: a thread pool of `threads` (0: one prefork process)."""
        cmd = [str(BIN / "celery"), "-A", "portal", "worker", "-Q", queues, "-n", f"{name}@%h"]
        cmd += ["--pool", "threads", "--concurrency", str(threads)] if threads else ["--concurrency", "1"]
        cmd += ["--loglevel", os.environ.get("BENCH_WORKER_LOGLEVEL", "WARNING")]
        cmd += ["--without-gossip", "--without-mingle"]
        if beat:
            cmd += ["--beat", "--schedule", str(self.workdir / "beat-schedule")]
        return self._spawn(name, cmd, self.env)

    def _worker_answers(self) -> bool:
        from portal.celery import app

        try:
            return bool(app.control.ping(timeout=0.5))
        except Exception:
            return False

    def _web_answers(self) -> bool:
        try:
            return httpx.get(f"{self.web_url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def _wait(self, ready, process: subprocess.Popen, name: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            if process.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"{name} did not start:\n{self.log(name)[-3000:]}")

    def web_pids(self) -> list[int]:
        """gunicorn's worker processes (children of the master)."""
        master = next(p.pid for name, p in self.processes if name == "web")
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        return [int(pid) for pid in children]

    def close(self) -> None:
        """Web first, then the worker, then Redis: each waited for, so none loses the next."""
        for _name, process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        self.processes.clear()
