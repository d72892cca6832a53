"""The HTTP harness the provider simulators share: routing, JSON, and fault injection.

Each simulator (JumpCloud, SailPoint, Jira) subclasses `Simulator`, registers routes and keeps
its state in memory. Tests start one on a loopback port and talk to it over real HTTP; a person
can run one by hand with `manage.py simulate_provider KIND --port N`.

Faults are rules matched against each request, so a test can say "the next two POSTs to
/accessrequests answer 429 with Retry-After: 1" or "every call sleeps 3 s".
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Fault:
    """Answer matching requests with `status` (or only delay them), `times` times (None: always).

    `close` drops the connection without an answer, like a crashed upstream.
    """

    method: str = "*"
    path: str = ".*"  # a regular expression searched in the path
    status: int | None = None
    body: Any = None
    retry_after: str | None = None
    delay: float = 0.0
    times: int | None = 1
    close: bool = False

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method)) and re.search(self.path, path) is not None


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    raw_body: bytes
    params: dict[str, str]


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] | None = None


Handler = Callable[[Request], Response]


@dataclass
class Chaos:
    """Faults at random, as a real vendor under load shows them (make chaos): every call is slow by
    `latency`; a share answers 429 with Retry-After, a share 500 (nothing done), and a share is
    done but answered only after `late_seconds` (past the client's timeout)."""

    latency: float = 0.0
    rate_429: float = 0.0
    retry_after: float = 2.0
    rate_500: float = 0.0
    rate_late: float = 0.0
    late_seconds: float = 15.0

    def draw(self) -> str:
        roll = random.random()
        for outcome, rate in (("429", self.rate_429), ("500", self.rate_500), ("late", self.rate_late)):
            if roll < rate:
                return outcome
            roll -= rate
        return "ok"


class Simulator:
    """A small threaded HTTP server with a route table, a request log and fault rules."""

    name = "simulator"

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.faults: list[Fault] = []
        self.log: list[tuple[str, str, int]] = []  # (method, path, status) of every answer
        self.chaos = Chaos()
        # (monotonic arrival, method, path) of every request, and the Retry-After windows opened
        # by 429 answers as (sent at, until): a call arriving inside one ignored the vendor.
        self.arrivals: list[tuple[float, str, str]] = []
        self.retry_windows: list[tuple[float, float]] = []
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.setup_routes()

    # -- to override -------------------------------------------------------------------
    def setup_routes(self) -> None:
        raise NotImplementedError

    def authorize(self, request: Request) -> Response | None:
        """Return an error response to refuse the request, None to let it through."""
        return None

    # -- routing -------------------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """Register `handler` for `method` and a path pattern like /api/v2/items/{id}."""
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
        self.routes.append((method, re.compile(f"^{regex}$"), handler))

    def add_fault(self, **kwargs: Any) -> Fault:
        fault = Fault(**kwargs)
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def calls(self, method: str | None = None, path_regex: str = ".*") -> list[tuple[str, str, int]]:
        """The logged calls, optionally only those matching a method and a path pattern."""
        with self.lock:
            return [c for c in self.log if (method is None or c[0] == method) and re.search(path_regex, c[1])]

    def calls_inside_retry_after(self) -> int:
        """Requests that arrived while a Retry-After window this server had announced was open."""
        with self.lock:
            windows = sorted(self.retry_windows)
            return sum(1 for at, _m, _p in self.arrivals if any(start < at < end for start, end in windows))

    def _chaos_answer(self, request: Request) -> Response | None:
        """Apply the random faults; None when the request is to be handled normally."""
        chaos = self.chaos
        if chaos.latency:
            time.sleep(chaos.latency)
        outcome = chaos.draw()
        if outcome == "429":
            return Response(429, {"message": "Too Many Requests"}, {"Retry-After": f"{chaos.retry_after:g}"})
        if outcome == "500":
            return Response(500, {"message": "injected server error"})
        if outcome == "late":
            response = self._route(request)
            time.sleep(chaos.late_seconds)  # done, but answered after the client gave up
            return response
        return None

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self.faults.remove(fault)
                    return fault
        return None

    def dispatch(self, request: Request) -> Response:
        fault = self._take_fault(request.method, request.path)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.close:
                return Response(-1)
            if fault.status is not None:
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
                body = fault.body if fault.body is not None else {"message": "injected fault"}
                return Response(fault.status, body, headers)
        chaotic = self._chaos_answer(request)
        if chaotic is not None:
            return chaotic
        return self._route(request)

    def _route(self, request: Request) -> Response:
        denied = self.authorize(request)
        if denied is not None:
            return denied
        allowed = False
        for method, regex, handler in self.routes:
            match = regex.match(request.path)
            if not match:
                continue
            allowed = True
            if method == request.method:
                request.params = match.groupdict()
                with self.lock:
                    return handler(request)
        if allowed:
            return Response(405, {"message": "Method Not Allowed"})
        return Response(404, {"message": "Not Found"})

    # -- serving -------------------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve in a background thread; return the base URL."""
        self._server = _Server((host, port), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self.base_url

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def serve_forever(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server((host, port), _make_handler(self))
        self._server.serve_forever()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class _Server(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: a burst of new connections (a worker that has just
    # started, thirty threads at once) would have its SYNs dropped and retried a second later,
    # so calls would reach the server long after they were sent. A vendor's servers queue them.
    request_queue_size = 256
    daemon_threads = True


def _make_handler(simulator: Simulator) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Small JSON answers on keep-alive connections: without this, Nagle + delayed ACK add ~40 ms.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read .log
            return

        def _handle(self) -> None:
            arrived = time.monotonic()
            split = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            request = Request(
                method=self.command,
                path=split.path,
                query=parse_qs(split.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                raw_body=raw,
                params={},
            )
            with simulator.lock:
                simulator.arrivals.append((arrived, request.method, request.path))
            response = simulator.dispatch(request)
            with simulator.lock:
                simulator.log.append((request.method, request.path, response.status))
            if response.status == -1:  # a fault that drops the connection
                self.close_connection = True
                return
            if isinstance(response.body, bytes):  # a non-JSON answer, e.g. Slack's "ok"
                payload = response.body
            else:
                payload = b"" if response.body is None else json.dumps(response.body).encode()
            try:
                self.send_response(response.status)
                for key, value in (response.headers or {}).items():
                    self.send_header(key, value)
                if payload and "Content-Type" not in (response.headers or {}):
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up waiting (a late answer)
                return
            if response.status == 429:
                retry_after = float((response.headers or {}).get("Retry-After") or 0)
                sent = time.monotonic()
                with simulator.lock:
                    simulator.retry_windows.append((sent, sent + retry_after))

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    return _Handler
