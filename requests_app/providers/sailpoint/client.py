"""Raw calls to SailPoint Identity Security Cloud: the OAuth token and JIT activations v1.

References: SailPoint API specs (github.com/sailpoint-oss/api-specs, `idn/apis/jit-activations/`
and the OAuth `/oauth/token` operation), the developer docs "Authentication" and "Rate
Limiting". The contract notes the portal relies on are in `shared/provider-apis/sailpoint.md`.

Every call returns the decoded JSON; errors arrive as `ProviderError` from the shared `send`.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from requests_app.providers.base import ProviderError, http_client, send

# The JIT endpoints are flagged experimental; the gateway wants this header on each call.
EXPERIMENTAL_HEADER = {"X-SailPoint-Experimental": "true"}
# Refresh this long before a token expires (capped to a fifth of short lifetimes).
TOKEN_REFRESH_MARGIN_SECONDS = 60.0


@dataclass
class _CachedToken:
    access_token: str
    refresh_at: float  # time.monotonic() value after which a new token is fetched


# Tokens are shared by every client built for the same credentials in this process, so a
# Celery worker does not fetch one token per task. Keyed on a hash: the secret never sits
# in a dict key where a debugger or a repr could show it.
_token_cache: dict[tuple[str, str, str], _CachedToken] = {}
_token_lock = threading.Lock()


def clear_token_cache() -> None:
    """Forget every cached token (tests, and after credentials change)."""
    with _token_lock:
        _token_cache.clear()


class SailPointClient:
    """A thin client for one tenant. Build it per use; tokens are cached per process."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        token_url: str | None = None,
        scope: str | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token_url = token_url or f"{self.base_url}/oauth/token"
        self.client_id = client_id
        self._client_secret = client_secret
        self.scope = scope
        self._http = http_client(
            self.base_url,
            {"Accept": "application/json", **EXPERIMENTAL_HEADER},
            timeout,
        )
        secret_hash = hashlib.sha256(client_secret.encode()).hexdigest()
        self._cache_key = (self.token_url, client_id, secret_hash)

    def __repr__(self) -> str:  # never show the secret
        return f"SailPointClient({self.base_url!r}, client_id={self.client_id!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SailPointClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- OAuth ---------------------------------------------------------------------------
    def fetch_token(self) -> dict[str, Any]:
        """POST /oauth/token with grant_type=client_credentials (form-encoded).

        Reference: SailPoint OAuth spec (`deref-sailpoint-api.oauth.yaml`, `/oauth/token`) and
        developer docs "Authentication"; answers `access_token`, `token_type`, `expires_in` (s).
        """
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._client_secret,
        }
        if self.scope:
            form["scope"] = self.scope
        response = send(self._http, "POST", self.token_url, "SailPoint sign-in", data=form)
        payload = response.json()
        if not isinstance(payload, dict) or not payload.get("access_token"):
            raise ProviderError("SailPoint sign-in: the token response had no access_token")
        return payload

    def token(self) -> str:
        """A bearer token, cached until shortly before it expires."""
        now = time.monotonic()
        with _token_lock:
            cached = _token_cache.get(self._cache_key)
            if cached is not None and now < cached.refresh_at:
                return cached.access_token
        payload = self.fetch_token()
        lifetime = float(payload.get("expires_in") or 0)
        margin = min(TOKEN_REFRESH_MARGIN_SECONDS, lifetime / 5)
        entry = _CachedToken(payload["access_token"], time.monotonic() + lifetime - margin)
        with _token_lock:
            _token_cache[self._cache_key] = entry
        return entry.access_token

    def _forget_token(self) -> None:
        with _token_lock:
            _token_cache.pop(self._cache_key, None)

    def _call(self, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response:
        """Send with a bearer token; on 401 fetch a fresh token once (it may have been revoked)."""
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self.token()}"}
            try:
                return send(self._http, method, path, what, headers=headers, **kwargs)
            except ProviderError as exc:
                if exc.status_code != 401 or attempt == 2:
                    raise
                self._forget_token()
        raise AssertionError("unreachable")  # pragma: no cover

    # -- JIT activations v1 ---------------------------------------------------------------
    def activate(self, connection_id: str, minutes: int) -> dict[str, Any]:
        """POST /jit-activations/v1/activate (operationId startActivateWorkflowV1).

        Reference: api-specs `idn/apis/jit-activations/paths/activate.yaml`. Answers 202 with
        `id`, `activationId`, `connectionId`, `activationPeriodMins`, `status`, `startTime`;
        the workflow then runs asynchronously.
        """
        body = {"connectionId": connection_id, "activationPeriodMins": minutes}
        return self._call("POST", "/jit-activations/v1/activate", "SailPoint activate", json=body).json()

    def extend(self, connection_id: str, minutes: int) -> dict[str, Any]:
        """POST /jit-activations/v1/extend (operationId startExtendWorkflowV1).

        Reference: api-specs `idn/apis/jit-activations/paths/extend.yaml`. Adds `minutes` to the
        running activation's period; 404 when no workflow runs for the connection.
        """
        body = {"connectionId": connection_id, "activationPeriodExtensionMins": minutes}
        return self._call("POST", "/jit-activations/v1/extend", "SailPoint extend", json=body).json()

    def deactivate(self, connection_id: str) -> dict[str, Any]:
        """POST /jit-activations/v1/deactivate (operationId startDeactivateWorkflowV1).

        Reference: api-specs `idn/apis/jit-activations/paths/deactivate.yaml`. Signals the
        running workflow to deprovision; 404 when none runs (already completed or never began).
        """
        body = {"connectionId": connection_id}
        return self._call("POST", "/jit-activations/v1/deactivate", "SailPoint deactivate", json=body).json()

    def history(self, connection_id: str, *, limit: int = 20) -> list[dict[str, Any]]:
        """GET /jit-activation-history/v1 filtered on one connection, newest first.

        Reference: api-specs `idn/apis/jit-activations/paths/jit-activation-history.yaml`
        (operationId listJitActivationHistoryV1; ORG_ADMIN, `idn:jit-activation-history:read`;
        403 while the tenant's history feature flag is off).
        """
        params = {
            "filters": f'connectionId eq "{connection_id}"',
            "sorters": "-activationInitiated",
            "limit": str(limit),
        }
        payload = self._call("GET", "/jit-activation-history/v1", "SailPoint activation history", params=params).json()
        if not isinstance(payload, list):
            raise ProviderError("SailPoint activation history: expected a list")
        return payload
