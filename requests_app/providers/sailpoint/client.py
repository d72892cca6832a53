"""Raw calls to SailPoint Identity Security Cloud: OAuth tokens, JIT activations v1, and the
caller's own entitlement connections and activation history.

References: SailPoint API specs (github.com/sailpoint-oss/api-specs, `idn/apis/jit-activations/`,
`idn/apis/entitlement-connections/` and the OAuth `/oauth/token` operation), the developer docs
"Authentication" and "Rate Limiting". The contract notes the portal relies on are in
`shared/provider-apis/sailpoint.md`.

The JIT operations are `userAuth` only: they act on the caller's own entitlement connections,
so every call here carries one employee's token, handed in by a `TokenSource`.

Every call returns the decoded JSON. Errors leave as `ProviderError`; an `ErrorResponseDto`
answer (400, 403, 404, 5xx) is turned into its `messages[].text` and `causes[].text` here,
because only the body says what went wrong.
"""

from __future__ import annotations

from typing import Any, Protocol

import httpx

from requests_app.providers.base import NotFound, ProviderError, http_client, retry_after_seconds, send

# The JIT endpoints are flagged experimental; the gateway wants this header on each call.
EXPERIMENTAL_HEADER = {"X-SailPoint-Experimental": "true"}


class TokenSource(Protocol):
    """Where a client gets the bearer token of the person it acts for."""

    def access_token(self) -> str:
        """A token that is valid now (renewed before use when it is about to expire)."""

    def renew(self) -> None:
        """Get a new access token: SailPoint said 401 to the current one."""


class _ErrorAnswer(Exception):
    """Raised from the response hook for error answers that carry an ErrorResponseDto."""

    def __init__(self, response: httpx.Response, body: dict[str, Any]) -> None:
        super().__init__(response.status_code)
        self.status_code = response.status_code
        self.body = body
        self.retry_after = retry_after_seconds(response)


def error_texts(body: Any) -> str:
    """`messages[].text` then `causes[].text` of an ErrorResponseDto, joined; "" if none."""
    if not isinstance(body, dict):
        return ""
    texts = []
    for key in ("messages", "causes"):
        for item in body.get(key) or []:
            text = str((item or {}).get("text") or "").strip() if isinstance(item, dict) else ""
            if text and text not in texts:
                texts.append(text)
    return " ".join(text if text.endswith((".", "!", "?")) else f"{text}." for text in texts)


def _catch_error_dto(response: httpx.Response) -> None:
    if response.status_code < 400 or response.status_code in (401, 429):
        return  # 401 and 429 have their own shapes ({"error"}, {"message"}): base.send maps them
    response.read()
    try:
        body = response.json()
    except ValueError:
        return
    if error_texts(body):
        raise _ErrorAnswer(response, body)


def explain(error: _ErrorAnswer, what: str) -> ProviderError:
    """An ErrorResponseDto answer as a ProviderError that says SailPoint's own words."""
    code = error.status_code
    tracking = error.body.get("trackingId")
    text = f"{what}: SailPoint says: {error_texts(error.body)} (HTTP {code}"
    text += f", tracking id {tracking})" if tracking else ")"
    if code == 404:
        return NotFound(text)
    return ProviderError(
        text, permanent=code < 500, retry_after=error.retry_after if code >= 500 else None, status_code=code
    )


def _http(base_url: str, timeout: httpx.Timeout | None) -> httpx.Client:
    http = http_client(base_url.rstrip("/"), {"Accept": "application/json", **EXPERIMENTAL_HEADER}, timeout)
    http.event_hooks["response"] = [_catch_error_dto]
    return http


def request_token(token_url: str, form: dict[str, str], what: str, *, timeout: httpx.Timeout | None = None) -> dict:
    """POST /oauth/token (operationId createOauthToken), form-encoded.

    Reference: SailPoint OAuth spec (`deref-sailpoint-api.oauth.yaml`): grant types
    `authorization_code` (code, redirect_uri, code_verifier), `refresh_token` and
    `client_credentials`. Answers `access_token`, `expires_in` (s), `refresh_token` for the
    first two, and `identity_id` when the token has a user context.
    """
    with http_client("", {"Accept": "application/json"}, timeout) as http:
        try:
            response = send(http, "POST", token_url, what, data=form)
        except ProviderError as exc:
            if exc.status_code in (400, 401):
                exc.permanent = True
            raise
    payload = response.json()
    if not isinstance(payload, dict) or not payload.get("access_token"):
        raise ProviderError(f"{what}: the token response had no access_token", permanent=True)
    return payload


class SailPointClient:
    """A thin client for one tenant, acting as the person whose tokens `tokens` hands out."""

    def __init__(self, base_url: str, tokens: TokenSource, *, timeout: httpx.Timeout | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self._http = _http(self.base_url, timeout)

    def __repr__(self) -> str:  # never show a token
        return f"SailPointClient({self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SailPointClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response:
        """Send with the bearer token; on 401 renew it once (it may have been revoked or expired)."""
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self.tokens.access_token()}"}
            try:
                return send(self._http, method, path, what, headers=headers, **kwargs)
            except _ErrorAnswer as error:
                raise explain(error, what) from None
            except ProviderError as exc:
                if exc.status_code != 401 or attempt == 2:
                    raise
                self.tokens.renew()
        raise AssertionError("unreachable")  # pragma: no cover

    # -- JIT activations v1 ---------------------------------------------------------------
    def activate(self, connection_id: str, minutes: int) -> dict[str, Any]:
        """POST /jit-activations/v1/activate (operationId startActivateWorkflowV1).

        Reference: api-specs `idn/apis/jit-activations/paths/activate.yaml`. Answers 202 with
        `id`, `activationId`, `connectionId`, `activationPeriodMins`, `status`, `startTime`;
        the workflow then runs asynchronously. Scope `idn:jit-activation-workflow:activate`.
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
        running workflow to deprovision (202, status DEPROVISIONING); 404 when none runs.
        """
        body = {"connectionId": connection_id}
        return self._call("POST", "/jit-activations/v1/deactivate", "SailPoint deactivate", json=body).json()

    def history(self, connection_id: str, *, limit: int = 20) -> list[dict[str, Any]]:
        """GET /jit-activation-history/v1/current-identity filtered on one connection, newest first.

        Reference: api-specs `idn/apis/jit-activations/paths/jit-activation-history-current-identity.yaml`
        (the caller's own activations; scope `idn:jit-activation-history-self:read`; 403 while
        the tenant's history feature flag is off).
        """
        params = {
            "filters": f'connectionId eq "{connection_id}"',
            "sorters": "-activationInitiated",
            "limit": str(limit),
        }
        payload = self._call(
            "GET", "/jit-activation-history/v1/current-identity", "SailPoint activation history", params=params
        ).json()
        if not isinstance(payload, list):
            raise ProviderError("SailPoint activation history: expected a list")
        return payload

    # -- entitlement connections ----------------------------------------------------------
    def my_jit_connections(self) -> list[dict[str, Any]]:
        """GET /entitlement-connections/v1/current-identity with `type eq "JIT"`.

        Reference: api-specs `idn/apis/entitlement-connections/` (the caller's own entitlement
        connections). The record's exact fields are unconfirmed: callers read them defensively.
        """
        found: list[dict[str, Any]] = []
        offset, page = 0, 250
        while True:
            params = {"filters": 'type eq "JIT"', "limit": str(page), "offset": str(offset)}
            payload = self._call(
                "GET",
                "/entitlement-connections/v1/current-identity",
                "SailPoint entitlement connections",
                params=params,
            ).json()
            if not isinstance(payload, list):
                raise ProviderError("SailPoint entitlement connections: expected a list")
            found.extend(item for item in payload if isinstance(item, dict))
            if len(payload) < page:
                return found
            offset += page
