"""An in-memory SailPoint ISC tenant: OAuth (client credentials, authorization code with PKCE,
refresh tokens), the caller's own entitlement connections, and JIT activations v1.

Follows `shared/provider-apis/sailpoint.md`: 202 answers, the `ErrorResponseDto` and 401/429
shapes, the experimental header, and an asynchronous workflow. Every access token belongs to an
identity (or to none, for client credentials), and the JIT operations act only on that
identity's own entitlement connections (they are `userAuth`): another identity's connection
answers 403 "belongs to another identity". `/oauth/authorize` signs in as `signed_in` (a test
sets it with `sign_in_as`), or as `?sim_user=<e-mail>`, or shows a page to pick one. A workflow's status is derived
from the simulator's clock whenever it is read: it is CREATING for `activation_delay` seconds,
then PROVISIONED until the end of its period, then COMPLETED on its own; a deactivation makes
it DEPROVISIONING for `deprovision_delay` seconds, then REVOKED. Tests move the clock with
`advance()` instead of waiting for minutes to pass.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

from requests_app.providers.simulator import Request, Response, Simulator

RUNNING = {"CREATING", "ACTIVATING", "PROVISIONED"}
# Workflow status → activation history status (the history uses its own vocabulary).
HISTORY_STATUS = {
    "CREATING": "ACTIVATING",
    "ACTIVATING": "PROVISIONING",
    "PROVISIONED": "PROVISIONED",
    "DEPROVISIONING": "DEPROVISIONING",
    "COMPLETED": "COMPLETE",
    "REVOKED": "REVOKED",
    "ERROR": "ERROR",
    "INVALID": "ERROR",
}


def error_dto(status: int, text: str, *causes: str) -> Response:
    """An `ErrorResponseDto` answer, as SailPoint sends for 400/403/404/500."""
    detail = {400: "400.1 Bad Request Content", 403: "403 Forbidden", 404: "404 Not found"}
    body: dict[str, Any] = {
        "detailCode": detail.get(status, f"{status}.0 Internal Fault"),
        "trackingId": secrets.token_hex(16),
        "messages": [{"locale": "en-US", "localeOrigin": "DEFAULT", "text": text}],
    }
    if causes:
        body["causes"] = [{"locale": "en-US", "localeOrigin": "DEFAULT", "text": cause} for cause in causes]
    return Response(status, body)


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SailPointSimulator(Simulator):
    """A tenant with API clients, entitlement connections and their activation workflows."""

    name = "sailpoint"

    def __init__(
        self,
        *,
        token_ttl: int = 749,
        activation_delay: float = 0.2,
        deprovision_delay: float = 0.2,
        max_period_minutes: int = 24 * 60,
        require_experimental_header: bool = True,
        history_enabled: bool = True,
        not_running_status: int = 404,
        rotate_refresh_tokens: bool = True,  # [U] whether a refresh answers with a new refresh token
    ) -> None:
        self.token_ttl = token_ttl
        self.activation_delay = activation_delay
        self.deprovision_delay = deprovision_delay
        self.max_period_minutes = max_period_minutes
        self.require_experimental_header = require_experimental_header
        self.history_enabled = history_enabled
        self.not_running_status = not_running_status  # 404 per the spec; 400 is also seen
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.clock_offset = 0.0
        self.clients: dict[str, str] = {}  # client id → secret
        self.tokens: dict[str, float] = {}  # access token → expiry (simulator clock)
        self.token_identity: dict[str, str | None] = {}  # access token → e-mail of its identity
        self.refresh_tokens: dict[str, dict[str, Any]] = {}  # refresh token → client and identity
        self.codes: dict[str, dict[str, Any]] = {}  # authorization code → what it was issued for
        self.identities: dict[str, str] = {}  # e-mail → identity id
        self.signed_in: str | None = None  # who /oauth/authorize signs in as
        self.connections: dict[str, dict[str, Any]] = {}
        self.activations: list[dict[str, Any]] = []
        super().__init__()

    # -- set-up and inspection --------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self.clock_offset

    def advance(self, seconds: float) -> None:
        """Move the simulator's clock forward (workflows react on their next read)."""
        with self.lock:
            self.clock_offset += seconds

    def add_client(self, client_id: str, secret: str) -> None:
        with self.lock:
            self.clients[client_id] = secret

    def add_connection(
        self,
        connection_id: str | None = None,
        *,
        identity: str = "jane@example.com",
        entitlement: str = "Local administrators",
        fail_with: str = "",
    ) -> str:
        """Register an entitlement connection; `fail_with` makes its workflows end in ERROR."""
        connection_id = connection_id or str(uuid.uuid4())
        with self.lock:
            self.connections[connection_id] = {
                "identity": identity,
                "identityId": self.identity_id(identity),
                "entitlement": entitlement,
                "fail_with": fail_with,
            }
        return connection_id

    def identity_id(self, email: str) -> str:
        """The identity id of a person (made on first use: 32 hex digits, as ISC's are)."""
        with self.lock:
            return self.identities.setdefault(email, secrets.token_hex(16))

    def sign_in_as(self, email: str | None) -> None:
        """Who the browser is signed in as at the tenant's login page."""
        self.signed_in = email

    def revoke_refresh_tokens(self, email: str) -> None:
        """An admin at SailPoint revokes this person's grants to every OAuth client."""
        with self.lock:
            for token, grant in list(self.refresh_tokens.items()):
                if grant["identity"] == email:
                    del self.refresh_tokens[token]
            for token, owner in self.token_identity.items():
                if owner == email:
                    self.tokens[token] = 0.0

    def expire_tokens(self) -> None:
        """Make every issued token expired (the next call answers 401)."""
        with self.lock:
            for token in self.tokens:
                self.tokens[token] = 0.0

    def workflow_status(self, activation: dict[str, Any]) -> str:
        now = self.now()
        if activation["revokedAt"] is not None:
            if now < activation["revokedAt"] + self.deprovision_delay:
                return "DEPROVISIONING"
            return "REVOKED"
        if now < activation["started"] + self.activation_delay:
            return "CREATING"
        if activation["error"]:
            return "ERROR"
        if now < activation["started"] + activation["periodMins"] * 60:
            return "PROVISIONED"
        return "COMPLETED"

    def running(self, connection_id: str) -> dict[str, Any] | None:
        for activation in reversed(self.activations):
            if activation["connectionId"] == connection_id:
                return activation if self.workflow_status(activation) in RUNNING else None
        return None

    def seed_demo(self) -> dict[str, Any]:
        """Credentials and three entitlement connections for a person running this by hand."""
        self.add_client("elevate-demo", "demo-secret")
        ids = [
            self.add_connection("757fb803-9024-5861-e510-83a56e4c5bd3", identity="jane@example.com"),
            self.add_connection("667fb802-0025-4865-a519-91a56e4c5b7e", identity="omar@example.com"),
            self.add_connection(
                "8a1c2e3f-4b5d-4e6f-8a9b-0c1d2e3f4a5b",
                identity="employee@example.com",
                entitlement="Local administrators on EMPLOYEE-MBP",
            ),
            self.add_connection(
                "367fb802-1026-1835-a619-11a56e4c5be3",
                identity="broken@example.com",
                fail_with="Upstream provisioning failed after 3 retries (503)",
            ),
        ]
        return {"client_id": "elevate-demo", "client_secret": "demo-secret", "connections": ids}

    # -- HTTP -----------------------------------------------------------------------------
    def setup_routes(self) -> None:
        self.route("GET", "/oauth/authorize", self.authorize_page)
        self.route("POST", "/oauth/token", self.issue_token)
        self.route("GET", "/entitlement-connections/v1/current-identity", self.my_connections)
        self.route("POST", "/jit-activations/v1/activate", self.activate)
        self.route("POST", "/jit-activations/v1/extend", self.extend)
        self.route("POST", "/jit-activations/v1/deactivate", self.deactivate)
        self.route("GET", "/jit-activation-history/v1", self.history)
        self.route("GET", "/jit-activation-history/v1/current-identity", self.my_history)

    def authorize(self, request: Request) -> Response | None:
        if request.path in ("/oauth/token", "/oauth/authorize"):
            return None
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return Response(401, {"error": "JWT validation failed: no bearer token"})
        with self.lock:
            expires = self.tokens.get(header[7:])
        if expires is None:
            return Response(401, {"error": "JWT validation failed: JWT is invalid"})
        if self.now() >= expires:
            return Response(401, {"error": "JWT validation failed: JWT is expired"})
        if (
            self.require_experimental_header
            and request.path.startswith("/jit-activations/")
            and request.headers.get("x-sailpoint-experimental", "").lower() != "true"
        ):
            return error_dto(400, "This API is experimental: send X-SailPoint-Experimental: true")
        return None

    def authorize_page(self, request: Request) -> Response:
        """GET /oauth/authorize: sign in (as `signed_in` or `sim_user`) and send the code back."""
        query = {k: v[0] for k, v in request.query.items()}
        if query.get("response_type") != "code" or query.get("client_id") not in self.clients:
            return Response(400, {"error": "invalid_request", "error_description": "unknown client or response type"})
        redirect_uri = query.get("redirect_uri", "")
        if not redirect_uri.startswith(("http://", "https://")):
            return Response(400, {"error": "invalid_request", "error_description": "redirect_uri is required"})
        who = query.get("sim_user") or self.signed_in
        if not who:
            links = "".join(
                f'<li><a href="/oauth/authorize?{html.escape(urlencode({**query, "sim_user": email}))}">'
                f"{html.escape(email)}</a></li>"
                for email in sorted({c["identity"] for c in self.connections.values()})
            )
            page = f"<!doctype html><title>SailPoint sign-in</title><h1>Sign in as</h1><ul>{links}</ul>"
            return Response(200, page.encode(), {"Content-Type": "text/html; charset=utf-8"})
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = {
                "client_id": query["client_id"],
                "redirect_uri": redirect_uri,
                "identity": who,
                "challenge": query.get("code_challenge"),
                "method": query.get("code_challenge_method", "plain"),
                "expires": self.now() + 60,
            }
        separator = "&" if "?" in redirect_uri else "?"
        target = f"{redirect_uri}{separator}{urlencode({'code': code, 'state': query.get('state', '')})}"
        return Response(302, None, {"Location": target})

    def issue_token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.raw_body.decode("utf-8", "replace")).items()}
        form.update({k: v[0] for k, v in request.query.items() if k not in form})
        grant_type = form.get("grant_type")
        if grant_type not in ("client_credentials", "authorization_code", "refresh_token"):
            return Response(400, {"error": "unsupported_grant_type"})
        client_id = form.get("client_id", "")
        expected = self.clients.get(client_id)
        if expected is None or not secrets.compare_digest(expected, form.get("client_secret", "")):
            return Response(401, {"error": "invalid_client", "error_description": "Bad client credentials"})
        if grant_type == "client_credentials":
            return self._token_answer(None, form.get("scope"), refresh=False)
        if grant_type == "authorization_code":
            return self._exchange_code(form)
        with self.lock:
            grant = self.refresh_tokens.get(form.get("refresh_token", ""))
            if grant is None or grant["client_id"] != client_id:
                return Response(400, {"error": "invalid_grant", "error_description": "Invalid refresh token"})
            if self.rotate_refresh_tokens:
                del self.refresh_tokens[form["refresh_token"]]
                return self._token_answer(grant["identity"], grant["scope"], refresh=True, client_id=client_id)
            return self._token_answer(grant["identity"], grant["scope"], refresh=False)

    def _exchange_code(self, form: dict[str, str]) -> Response:
        with self.lock:
            issued = self.codes.pop(form.get("code", ""), None)  # a code works once
        if issued is None or issued["expires"] < self.now() or issued["client_id"] != form["client_id"]:
            return Response(400, {"error": "invalid_grant", "error_description": "Invalid authorization code"})
        if form.get("redirect_uri") != issued["redirect_uri"]:
            return Response(400, {"error": "invalid_grant", "error_description": "Redirect URI mismatch"})
        if issued["challenge"]:
            verifier = form.get("code_verifier", "")
            proof = s256(verifier) if issued["method"] == "S256" else verifier
            if not verifier or not secrets.compare_digest(proof, issued["challenge"]):
                return Response(400, {"error": "invalid_grant", "error_description": "PKCE verification failed"})
        return self._token_answer(issued["identity"], "sp:scopes:all", refresh=True, client_id=form["client_id"])

    def _token_answer(self, identity: str | None, scope: str | None, *, refresh: bool, client_id: str = "") -> Response:
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = self.now() + self.token_ttl
            self.token_identity[token] = identity
        body: dict[str, Any] = {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": self.token_ttl,
            "scope": scope or "sp:scopes:all",
            "tenant_id": "58eb06a4-dcd7-4e96-8fac-cca2afc03e61",
            "org": "simulated",
            "jti": str(uuid.uuid4()),
        }
        if identity:
            body.update({"identity_id": self.identity_id(identity), "user_name": identity})
        if refresh:
            refresh_token = secrets.token_urlsafe(32)
            with self.lock:
                self.refresh_tokens[refresh_token] = {"client_id": client_id, "identity": identity, "scope": scope}
            body["refresh_token"] = refresh_token
        return Response(200, body)

    def caller(self, request: Request) -> str | None:
        """The e-mail of the identity whose token made the request (None: no user context)."""
        token = request.headers.get("authorization", "")[7:]
        with self.lock:
            return self.token_identity.get(token)

    def my_connections(self, request: Request) -> Response:
        """GET /entitlement-connections/v1/current-identity: the caller's own connections."""
        caller = self.caller(request)
        if caller is None:
            return error_dto(403, "The server understood the request but refuses to authorize it.", "No user context.")
        wanted = _parse_filters((request.query.get("filters") or [""])[0])
        records = [
            {
                "connectionId": connection_id,
                "type": "JIT",
                "identity": {"id": c["identityId"], "name": c["identity"]},
                "entitlement": {"id": secrets.token_hex(16), "name": c["entitlement"]},
                "source": {"id": "2c9180835d2e5168015d32f890ca1581", "name": "Corporate AD"},
            }
            for connection_id, c in self.connections.items()
            if c["identity"] == caller
        ]
        records = [r for r in records if all(r.get(k) == v for k, v in wanted.items())]
        return Response(200, records)

    def _body_connection(self, request: Request) -> tuple[str | None, Response | None]:
        body = request.body if isinstance(request.body, dict) else None
        if body is None:
            return None, error_dto(400, "The request body must be a JSON object.")
        connection_id = body.get("connectionId")
        if not isinstance(connection_id, str) or not connection_id:
            return None, error_dto(400, "connectionId is required.")
        if connection_id not in self.connections:
            return None, error_dto(400, f"Entitlement connection {connection_id} was not found.")
        caller = self.caller(request)
        if caller != self.connections[connection_id]["identity"]:
            return None, error_dto(
                403,
                "The server understood the request but refuses to authorize it.",
                f"Entitlement connection {connection_id} belongs to another identity.",
            )
        return connection_id, None

    @staticmethod
    def _minutes(body: dict[str, Any], field: str) -> int | None:
        value = body.get(field)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            return None
        return value

    def _answer(self, activation: dict[str, Any], **extra: Any) -> Response:
        body = {
            "id": activation["id"],
            "activationId": activation["activationId"],
            "connectionId": activation["connectionId"],
            "status": self.workflow_status(activation),
            "startTime": _iso(self.now()),
            **extra,
        }
        return Response(202, body)

    def activate(self, request: Request) -> Response:
        connection_id, problem = self._body_connection(request)
        if problem or connection_id is None:
            return problem or error_dto(400, "connectionId is required.")
        minutes = self._minutes(request.body, "activationPeriodMins")
        if minutes is None:
            return error_dto(400, "activationPeriodMins must be a whole number of at least 1.")
        if minutes > self.max_period_minutes:
            return error_dto(400, f"activationPeriodMins exceeds the maximum of {self.max_period_minutes}.")
        if self.running(connection_id) is not None:
            return error_dto(400, "An activation workflow is already running for this connection.")
        activation = {
            "id": f"jit-activation-{secrets.token_hex(6)}",
            "activationId": str(uuid.uuid4()),
            "connectionId": connection_id,
            "periodMins": minutes,
            "started": self.now(),
            "revokedAt": None,
            "error": self.connections[connection_id]["fail_with"],
        }
        self.activations.append(activation)
        return Response(
            202,
            {
                "id": activation["id"],
                "activationId": activation["activationId"],
                "connectionId": connection_id,
                "activationPeriodMins": minutes,
                "status": "CREATING",
                "startTime": _iso(activation["started"]),
            },
        )

    def _not_running(self) -> Response:
        if self.not_running_status == 400:
            return error_dto(400, "The activation workflow has already completed.")
        return error_dto(404, "The server did not find a current representation for the target resource.")

    def extend(self, request: Request) -> Response:
        connection_id, problem = self._body_connection(request)
        if problem or connection_id is None:
            return problem or error_dto(400, "connectionId is required.")
        minutes = self._minutes(request.body, "activationPeriodExtensionMins")
        if minutes is None:
            return error_dto(400, "activationPeriodExtensionMins must be a whole number of at least 1.")
        activation = self.running(connection_id)
        if activation is None:
            return self._not_running()
        if activation["periodMins"] + minutes > self.max_period_minutes:
            return error_dto(400, f"The total period would exceed {self.max_period_minutes} minutes.")
        activation["periodMins"] += minutes
        return self._answer(activation, activationPeriodExtensionMins=minutes)

    def deactivate(self, request: Request) -> Response:
        connection_id, problem = self._body_connection(request)
        if problem or connection_id is None:
            return problem or error_dto(400, "connectionId is required.")
        activation = self.running(connection_id)
        if activation is None:
            return self._not_running()
        activation["revokedAt"] = self.now()
        return self._answer(activation)

    def history(self, request: Request) -> Response:
        if not self.history_enabled:
            return error_dto(403, "The server understood the request but refuses to authorize it.")
        wanted = _parse_filters((request.query.get("filters") or [""])[0])
        limit = int((request.query.get("limit") or ["250"])[0])
        offset = int((request.query.get("offset") or ["0"])[0])
        records = [self._history_record(a) for a in reversed(self.activations)]
        records = [r for r in records if all(r.get(k) == v for k, v in wanted.items())]
        return Response(200, records[offset : offset + limit])

    def my_history(self, request: Request) -> Response:
        """GET /jit-activation-history/v1/current-identity: only the caller's own activations."""
        if not self.history_enabled:
            return error_dto(403, "The server understood the request but refuses to authorize it.")
        caller = self.caller(request)
        wanted = _parse_filters((request.query.get("filters") or [""])[0])
        limit = int((request.query.get("limit") or ["250"])[0])
        records = [
            self._history_record(a)
            for a in reversed(self.activations)
            if self.connections[a["connectionId"]]["identity"] == caller
        ]
        records = [r for r in records if all(r.get(k) == v for k, v in wanted.items())]
        return Response(200, records[:limit])

    def _history_record(self, activation: dict[str, Any]) -> dict[str, Any]:
        connection = self.connections[activation["connectionId"]]
        status = HISTORY_STATUS[self.workflow_status(activation)]
        return {
            # The record id is the activation id the 202 answered with.
            "id": activation["activationId"],
            "identityId": connection["identityId"],
            "identityName": connection["identity"],
            "entitlementName": connection["entitlement"],
            "connectionId": activation["connectionId"],
            "status": status,
            "error": activation["error"] if status == "ERROR" else None,
            "activationInitiated": _iso(activation["started"]),
            "provisionCompleted": (
                _iso(activation["started"] + self.activation_delay) if status not in ("ACTIVATING", "ERROR") else None
            ),
            "deprovisionStart": _iso(activation["revokedAt"]) if activation["revokedAt"] else None,
        }


def _parse_filters(text: str) -> dict[str, str]:
    """The `field eq "value"` clauses of a V3 filter joined with `and` (all this needs)."""
    wanted = {}
    for clause in text.split(" and "):
        parts = clause.strip().split(" ", 2)
        if len(parts) == 3 and parts[1] == "eq":
            wanted[parts[0]] = parts[2].strip('"')
    return wanted
