"""`make chaos`: the engine against a provider that behaves like the real ones, while its parts die.

Its own database, private Redis, workers by queue (control with beat, revoker, granter, notifier),
and a JumpCloud simulator in this process with 300 ms latency, 429 on 30 % of calls (Retry-After
2 s), 500 on 10 %, and 5 % of calls done but answered 15 s late (past the 10 s client timeout).
300 requests of 3 minutes are made over the first minute by 4 clients; 20 of them are revoked
by their owners; meanwhile the revoke and grant workers are killed -9 eight times, Redis is
killed and restarted empty, flushed once, and beat is killed once (each restarted as a supervisor
would). The faults stop when the last elevation should have ended; the run then waits up to a
minute for everything to settle, prints a table, and writes JSON to var/chaos/.

`python -m bench.chaos [--requests N] [--minutes M]` for a shorter drill while developing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import statistics
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from bench.stack import ROOT, Stack, create_database, drop_database

ENDED = ("revoked", "expired", "failed", "cancelled", "denied")
TRANSITIONAL = ("requested", "approved", "granting", "revoking")
CLIENTS = 4
# Threads of the provider workers: enough calls in flight to use each short open moment between a
# rate-limited connection's pauses, within PostgreSQL's 100 connections.
REVOKE_THREADS, GRANT_THREADS = 16, 32
MARKER = re.compile(r"\[elevate ([0-9a-f-]{36})\]")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--minutes", type=int, default=3, help="length of each elevation")
    parser.add_argument("--post-seconds", type=float, default=60.0, help="spread the requests over this long")
    parser.add_argument("--revokes", type=int, default=20)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/elevate_chaos")
    parser.add_argument("--out", default=str(ROOT / "var" / "chaos"))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    random.seed(args.seed)
    started = time.monotonic()
    create_database(args.database_url)
    stack = Stack(Path(args.out) / "run", database_url=args.database_url, sweep_seconds=5)
    try:
        os.environ.update(
            {k: stack.env[k] for k in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "ELEVATE_HTTPS")}
        )
        os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        drill = Drill(stack, args)
        results = drill.run()
    finally:
        stack.close()
        from django.db import connections

        connections.close_all()
        drop_database(args.database_url)
    results["total_seconds"] = round(time.monotonic() - started, 1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"chaos-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    show(results)
    print(f"\nDone in {results['total_seconds']} s; results in {path}", flush=True)
    return 0 if results["verdict"] == "pass" else 1


class Drill:
    def __init__(self, stack: Stack, args) -> None:
        self.stack = stack
        self.args = args
        self.simulator = _recording_simulator()(api_key="chaos-key")
        self.simulator.start()
        self.revoked_at: dict[int, float] = {}  # elevation pk -> monotonic time of the user's revoke
        self.orphan_seen: dict[str, list[float]] = defaultdict(list)  # access id -> sample times
        self.posted: list[tuple[int, float]] = []
        self.refused: list[str] = []
        self.submit_seconds: list[float] = []
        self.faults_log: list[str] = []
        self._stop = threading.Event()
        self._watch_until = 0.0

    # -- set-up -------------------------------------------------------------------------
    def seed(self) -> list[tuple[object, object]]:
        from requests_app.models import Device, Policy, ProviderConnection, User
        from requests_app.roles import ensure_roles

        ensure_roles()
        Policy.objects.update_or_create(
            name="Chaos", defaults={"is_default": True, "max_duration_minutes": 240, "requires_approval": False}
        )
        connection = ProviderConnection.objects.create(
            name="JumpCloud (chaos simulator)",
            kind="jumpcloud",
            base_url=self.simulator.base_url,
            secret="chaos-key",
            options={"timeout": 10},
        )
        pairs = []
        for n in range(self.args.requests):
            email = f"chaos{n:03d}@example.com"
            jumpcloud_user = self.simulator.add_user(email)
            system = self.simulator.add_system(f"CHAOS-{n:03d}")
            self.simulator.bind(jumpcloud_user, system)
            user = User.objects.create_user(username=email, email=email)
            device = Device.objects.create(
                connection=connection, external_id=system, hostname=f"CHAOS-{n:03d}", os="macOS", os_family="macos"
            )
            device.users.add(user)
            pairs.append((user, device))
        return pairs

    # -- the drill ------------------------------------------------------------------------
    def run(self) -> dict:
        pairs = self.seed()
        self.stack.start(revoke_threads=REVOKE_THREADS, grant_threads=GRANT_THREADS)
        print(f"Chaos drill: {len(pairs)} requests of {self.args.minutes} min against a faulty JumpCloud", flush=True)
        self.simulator.chaos.latency = 0.3
        self.simulator.chaos.rate_429 = 0.3
        self.simulator.chaos.retry_after = 2.0
        self.simulator.chaos.rate_500 = 0.1
        self.simulator.chaos.rate_late = 0.05
        self.simulator.chaos.late_seconds = 15.0
        t0 = time.monotonic()
        window = self.args.post_seconds + self.args.minutes * 60
        watcher = threading.Thread(target=self._watch_orphans, daemon=True)
        watcher.start()
        chaos = threading.Thread(target=self._break_things, args=(t0, window), daemon=True)
        chaos.start()
        self._post(pairs, t0)
        self._revoke_some(t0)
        while time.monotonic() - t0 < window + 5:
            time.sleep(1)
        self._stop.set()
        chaos.join()
        self.simulator.chaos.latency = 0.3  # a real provider stays slow
        self.simulator.chaos.rate_429 = self.simulator.chaos.rate_500 = self.simulator.chaos.rate_late = 0.0
        faults_ended = time.monotonic()
        print("Faults stopped; waiting for everything to settle (up to 60 s)...", flush=True)
        settled = self._settle(60)
        time.sleep(2)
        return self.measure(t0, faults_ended, settled)

    def _post(self, pairs, t0: float) -> None:
        from requests_app import services
        from requests_app.errors import PortalError

        lock = threading.Lock()
        gap = self.args.post_seconds / max(1, len(pairs))

        def client(share):
            from django.db import connection

            for index, (user, device) in share:
                wait = t0 + index * gap - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                started = time.monotonic()
                try:
                    elevation = services.elevation_request(
                        requester=user, device=device, minutes=self.args.minutes, reason="chaos drill"
                    )
                except PortalError as exc:
                    with lock:
                        self.refused.append(exc.message)
                    continue
                with lock:
                    self.posted.append((elevation.pk, started))
                    self.submit_seconds.append(time.monotonic() - started)
            connection.close()

        numbered = list(enumerate(pairs))
        threads = [threading.Thread(target=client, args=(numbered[i::CLIENTS],)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _revoke_some(self, t0: float) -> None:
        """Owners revoke 20 active elevations, spread over the elevations' lifetime."""
        from requests_app import services
        from requests_app.models import Elevation

        deadline = t0 + self.args.post_seconds + self.args.minutes * 60 * 0.6
        ids = [pk for pk, _ in self.posted]
        random.shuffle(ids)
        done = 0
        while done < self.args.revokes and time.monotonic() < deadline:
            for pk in ids:
                elevation = Elevation.objects.select_related("beneficiary").get(pk=pk)
                if elevation.state == "active" and pk not in self.revoked_at:
                    self.revoked_at[pk] = time.monotonic()
                    services.elevation_revoke(elevation=elevation, actor=elevation.beneficiary)
                    done += 1
                    time.sleep(random.uniform(1, 4))
                    break
            else:
                time.sleep(1)

    def _break_things(self, t0: float, window: float) -> None:
        """Kill workers 8 times, kill Redis (restarted empty), FLUSHALL once, kill beat once."""
        plan = sorted(
            [(random.uniform(10, window - 20), "kill revoker") for _ in range(4)]
            + [(random.uniform(10, window - 20), "kill granter") for _ in range(4)]
            + [(window * 0.35, "kill redis"), (window * 0.6, "flushall"), (window * 0.5, "kill beat")]
        )
        for at, what in plan:
            while time.monotonic() - t0 < at:
                if self._stop.wait(0.2):
                    return
            self.faults_log.append(f"{time.monotonic() - t0:6.1f} s: {what}")
            print(f"  chaos: {what}", flush=True)
            if what.startswith("kill ") and what != "kill redis":
                name = {"kill revoker": "revoker", "kill granter": "granter", "kill beat": "control"}[what]
                self._kill_and_restart(name)
            elif what == "kill redis":
                self._restart_redis()
            else:
                import redis

                redis.Redis.from_url(self.stack.redis_url).flushall()

    def _kill_and_restart(self, name: str) -> None:
        for index, (process_name, process) in enumerate(self.stack.processes):
            if process_name == name and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
                del self.stack.processes[index]
                break
        time.sleep(1)  # a supervisor restarts it a moment later
        threads = {"control": 4, "revoker": REVOKE_THREADS, "granter": GRANT_THREADS}[name]
        queues = {"control": "control,celery", "revoker": "revoke", "granter": "grant"}[name]
        self.stack.start_worker(name, queues, threads=threads, beat=name == "control")

    def _restart_redis(self) -> None:
        port = int(self.stack.redis_url.rsplit(":", 1)[1].split("/")[0])
        for index, (process_name, process) in enumerate(self.stack.processes):
            if process_name == "redis":
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
                del self.stack.processes[index]
                break
        time.sleep(2)
        cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.stack._spawn("redis", cmd, env=os.environ)

    def _watch_orphans(self) -> None:
        """Every second: grants live at the provider behind a row that has ended here."""
        from django.db import connection

        from requests_app.models import Elevation

        while not self._stop.is_set() or time.monotonic() < self._watch_until:
            live = self.simulator.live_by_marker()
            if live:
                ended = set(
                    Elevation.objects.filter(public_id__in=list(live), state__in=ENDED).values_list(
                        "public_id", flat=True
                    )
                )
                now = time.monotonic()
                for public_id in ended:
                    self.orphan_seen[live[str(public_id)]].append(now)
            time.sleep(1)
        connection.close()

    def _settle(self, seconds: float) -> float | None:
        from requests_app.models import Elevation

        self._watch_until = time.monotonic() + seconds + 5
        watcher = threading.Thread(target=self._watch_orphans, daemon=True)
        watcher.start()
        deadline = time.monotonic() + seconds
        started = time.monotonic()
        while time.monotonic() < deadline:
            if not Elevation.objects.filter(state__in=(*TRANSITIONAL, "active")).exists():
                return time.monotonic() - started
            time.sleep(1)
        return None

    # -- figures ---------------------------------------------------------------------------
    def measure(self, t0: float, faults_ended: float, settled: float | None) -> dict:
        from django.core.management import call_command

        from requests_app.models import Elevation

        rows = {e.pk: e for e in Elevation.objects.filter(pk__in=[pk for pk, _ in self.posted])}
        lost = len(self.posted) - len(rows)
        to_active = [
            (e.activated_at - e.created_at).total_seconds() for e in rows.values() if e.activated_at is not None
        ]
        lateness = [
            (e.ended_at - e.expires_at).total_seconds()
            for e in rows.values()
            if e.state == "expired" and e.ended_at is not None
        ]
        revoke_to_provider = []
        slow_revokes = {}
        for pk, asked in self.revoked_at.items():
            reached = self.simulator.revoke_times.get(rows[pk].provider_ref) if pk in rows else None
            if reached is not None:
                revoke_to_provider.append(max(0.0, reached - asked))
                if reached - asked > 5:  # what the slow ones waited for, to read in the JSON
                    slow_revokes[f"{asked - t0:.1f} s: {reached - asked:.1f} s"] = self.simulator.calls_about(
                        rows[pk].provider_ref, asked, reached
                    )
        orphans = {ref: round(max(times) - min(times) + 1, 1) for ref, times in self.orphan_seen.items()}
        by_state = defaultdict(int)
        for e in rows.values():
            by_state[e.state] += 1
        failed_reasons = defaultdict(int)
        for e in rows.values():
            if e.state == "failed":
                failed_reasons[e.last_error[:90]] += 1
        stuck = [str(e.public_id) for e in rows.values() if e.state in TRANSITIONAL]
        verify = _audit_verify(call_command)
        results = {
            "requests": self.args.requests,
            "refused_at_submit": len(self.refused),
            "submit_seconds": _percentiles(self.submit_seconds),
            "lost": lost,
            "duplicate_grants": self.simulator.duplicates(),
            "orphans": len(orphans),
            "orphan_seconds": orphans,
            "request_to_active": _percentiles(to_active),
            "expiry_lateness": _percentiles(lateness),
            "user_revoke_to_provider": _percentiles(revoke_to_provider),
            "user_revokes": len(self.revoked_at),
            # What the revokes cost the vendor: hedged copies and any duplicate deliveries.
            "revoke_calls_per_user_revoke": round(
                sum(
                    self.simulator.revoke_calls(rows[pk].provider_ref)
                    for pk in self.revoked_at
                    if pk in rows and rows[pk].provider_ref
                )
                / max(1, len(self.revoked_at)),
                2,
            ),
            "slow_user_revokes": slow_revokes,
            "calls": len(self.simulator.arrivals),
            "calls_inside_retry_after": self.simulator.calls_inside_retry_after(),
            "calls_inside_retry_after_detail": self.simulator.inside_details(t0),
            "stuck": len(stuck),
            "settled_seconds_after_faults": round(settled, 1) if settled is not None else None,
            "states": dict(by_state),
            "failed_reasons": dict(failed_reasons),
            "audit_verify": verify,
            "faults": self.faults_log,
        }
        targets = {
            "lost": results["lost"] == 0,
            "duplicate_grants": results["duplicate_grants"] == 0,
            "orphans": results["orphans"] == 0,
            "stuck": results["stuck"] == 0,
            "expiry p99 <= 10 s": (results["expiry_lateness"].get("p99") or 0) <= 10,
            "expiry max <= 30 s": (results["expiry_lateness"].get("max") or 0) <= 30,
            "revoke p99 <= 10 s": (results["user_revoke_to_provider"].get("p99") or 0) <= 10,
            "no call inside Retry-After": results["calls_inside_retry_after"] == 0,
            "settled within 30 s of the faults' end": settled is not None and settled <= 30,
            "audit chain intact": verify.startswith("ok"),
        }
        results["targets"] = targets
        results["verdict"] = "pass" if all(targets.values()) else "fail"
        return results


def _audit_verify(call_command) -> str:
    from io import StringIO

    out = StringIO()
    try:
        call_command("audit_verify", stdout=out, stderr=out)
    except Exception as exc:
        return f"failed: {exc}"
    return "ok: " + out.getvalue().strip().splitlines()[-1] if out.getvalue().strip() else "ok"


def _percentiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {
        "n": len(values),
        "p50": round(statistics.median(ordered), 2),
        "p99": at(0.99),
        "max": round(ordered[-1], 2),
    }


def show(results: dict) -> None:
    def figure(name: str) -> str:
        value = results[name]
        return ", ".join(f"{k} {v}" for k, v in value.items()) if isinstance(value, dict) else str(value)

    print("\n== Chaos drill ==")
    rows = [
        ("requests (refused at submit)", f"{results['requests']} ({results['refused_at_submit']})"),
        ("submit time, s", figure("submit_seconds")),
        ("lost / duplicate grants / stuck", f"{results['lost']} / {results['duplicate_grants']} / {results['stuck']}"),
        ("orphans (grants live behind an ended row)", f"{results['orphans']} {results['orphan_seconds'] or ''}"),
        ("request -> active, s", figure("request_to_active")),
        ("expiry lateness, s", figure("expiry_lateness")),
        (f"user revoke -> provider, s ({results['user_revokes']} revokes)", figure("user_revoke_to_provider")),
        ("revoke calls per user revoke", str(results["revoke_calls_per_user_revoke"])),
        ("calls / inside an open Retry-After", f"{results['calls']} / {results['calls_inside_retry_after']}"),
        ("settled after the faults stopped, s", str(results["settled_seconds_after_faults"])),
        ("end states", figure("states")),
        ("failed, by reason", figure("failed_reasons") or "none"),
        ("audit_verify", results["audit_verify"]),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    print("  targets: " + ", ".join(f"{k} {'ok' if v else 'MISSED'}" for k, v in results["targets"].items()))
    print(f"  verdict: {results['verdict']}")


def _recording_simulator():
    from requests_app.providers.jumpcloud.simulator import JumpCloudSimulator

    class RecordingJumpCloud(JumpCloudSimulator):
        """The JumpCloud simulator, noting when each access request was revoked, and how many each
        elevation (by the marker in its remarks) got."""

        def _reset_state(self) -> None:
            super()._reset_state()
            self.revoke_times: dict[str, float] = {}
            self.openers: list[tuple[float, str, str]] = []  # (answered at, method, path) of each 429
            self.answered: list[tuple[float, float, str, str, int]] = []  # (arrived, answered, method, path, status)

        def dispatch(self, request):
            arrived = time.monotonic()
            response = super().dispatch(request)
            with self.lock:
                self.answered.append((arrived, time.monotonic(), request.method, request.path, response.status))
                if response.status == 429:
                    self.openers.append((time.monotonic(), request.method, request.path))
            return response

        def calls_about(self, access_id: str, since: float, until: float) -> list[str]:
            """Each call naming this access request from `since` on: when it arrived and was answered;
            then the waves of all calls meanwhile (start, size): did the revoke miss one?"""
            with self.lock:
                mine = [
                    f"+{arrived - since:.2f}..{answered - since:.2f} s {method} {status}"
                    for arrived, answered, method, path, status in self.answered
                    if access_id in path and arrived >= since - 0.5
                ]
                arrivals = sorted(a for a, _b, _m, _p, _s in self.answered if since - 0.5 <= a <= until + 0.5)
            waves: list[list[float]] = []
            for at in arrivals:
                if waves and at - waves[-1][-1] < 0.15:
                    waves[-1].append(at)
                else:
                    waves.append([at])
            return [*mine, "waves: " + " ".join(f"+{w[0] - since:.2f}({len(w)})" for w in waves)]

        def revoke_calls(self, access_id: str) -> int:
            with self.lock:
                return sum(
                    1
                    for _a, _b, method, path, _s in self.answered
                    if method == "POST" and f"/{access_id}/revoke" in path
                )

        def revoke_access_request(self, request):
            response = super().revoke_access_request(request)
            if response.status < 300:
                self.revoke_times.setdefault(request.params["access_id"], time.monotonic())
            return response

        def _marker_of(self, record) -> str:
            found = MARKER.search(str(record.get("remarks") or ""))
            return found.group(1) if found else ""

        def live_by_marker(self) -> dict[str, str]:
            with self.lock:
                self.expire_due()
                return {
                    self._marker_of(r): access_id
                    for access_id, r in self.access_requests.items()
                    if r["accessState"] == "granted" and self._marker_of(r)
                }

        def inside_details(self, t0: float) -> list[str]:
            """When, and which, calls arrived inside an open Retry-After window (for the JSON)."""
            with self.lock:
                windows = list(self.retry_windows)
                details = []
                for at, method, path in self.arrivals:
                    inside = [(start, end) for start, end in windows if start < at < end]
                    if inside:
                        start, end = inside[0]
                        opener = min(self.openers, key=lambda o: abs(o[0] - start), default=(0, "", ""))
                        details.append(
                            f"{at - t0:8.3f} s {method} {path} (window {start - t0:.3f}-{end - t0:.3f}"
                            f" opened by {opener[1]} {opener[2]})"
                        )
                return details[:100]

        def duplicates(self) -> int:
            with self.lock:
                per_marker = defaultdict(int)
                for record in self.access_requests.values():
                    per_marker[self._marker_of(record)] += 1
                return sum(n - 1 for marker, n in per_marker.items() if marker and n > 1)

    return RecordingJumpCloud


if __name__ == "__main__":
    raise SystemExit(main())
