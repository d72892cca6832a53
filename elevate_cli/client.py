"""The API over httpx: JSON in and out, problem documents turned into ApiError."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from elevate_cli import exits

TIMEOUT = httpx.Timeout(15.0, connect=5.0)


class ApiError(Exception):
    """A refusal or failure, with the message to show and the exit code to end with."""

    def __init__(self, message: str, exit_code: int, errors: dict | None = None) -> None:
        super().__init__(message)
        self.message, self.exit_code, self.errors = message, exit_code, errors or {}


class Api:
    def __init__(self, url: str, token: str) -> None:
        self.http = httpx.Client(
            base_url=f"{url.rstrip('/')}/api/v1/",
            headers={"Authorization": f"Bearer {token}", "User-Agent": "elevate-cli"},
            timeout=TIMEOUT,
        )

    def get(self, path: str, **params) -> Any:
        return self._send("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: dict) -> Any:
        # One key per command: an automatic retry (or the user's) gets the first answer.
        return self._send("POST", path, json=body, headers={"Idempotency-Key": str(uuid.uuid4())})

    def _send(self, method: str, path: str, **kwargs) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(f"Cannot reach {self.http.base_url}: {exc}", exits.UNAVAILABLE) from exc
        if response.status_code < 400:
            return response.json()
        raise _error(response)


def _error(response: httpx.Response) -> ApiError:
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    detail = problem.get("detail") if isinstance(problem, dict) else None
    if response.status_code == 401:
        detail = f"{detail or 'Not signed in'}. Run: elevate login --url URL"
    if response.status_code == 429:
        detail = f"Too many calls; try again in {response.headers.get('Retry-After', 'a few')} seconds."
    message = detail or f"The portal answered {response.status_code}."
    errors = problem.get("errors") if isinstance(problem, dict) else None
    return ApiError(message, exits.for_status(response.status_code), errors)
