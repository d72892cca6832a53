"""Slack Web API calls the app makes, through the shared HTTP choke point.

Every method answers HTTP 200 with `{"ok": false, "error": …}` on failure (slack-app.md §4);
`ratelimited` (HTTP 429 with Retry-After) is transient, every other error is permanent.
"""

from __future__ import annotations

from typing import Any

from requests_app.providers.base import ProviderError, http_client, send

TRANSIENT = {"ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable"}


class SlackWebClient:
    def __init__(self, api_url: str, token: str) -> None:
        self.api_url = api_url.rstrip("/") + "/"
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json; charset=utf-8"}

    def call(self, method: str, body: dict[str, Any] | None = None, *, params: dict | None = None) -> dict[str, Any]:
        what = f"Slack {method}"
        with http_client(self.api_url, self.headers) as client:
            if body is None:
                response = send(client, "GET", method, what, params=params)
            else:
                response = send(client, "POST", method, what, json=body)
        data = response.json()
        if not data.get("ok"):
            error = str(data.get("error", "unknown_error"))
            raise ProviderError(f"{what}: {error}", permanent=error not in TRANSIENT)
        return data

    def post_message(self, channel: str, text: str, blocks: list) -> dict[str, Any]:
        """chat.postMessage (slack-app.md §4.1): to a user id, Slack opens the DM; keep the
        answer's `channel` (D…) and `ts`: they are the handle for chat.update."""
        return self.call("chat.postMessage", {"channel": channel, "text": text, "blocks": blocks})

    def update_message(self, channel: str, ts: str, text: str, blocks: list) -> dict[str, Any]:
        """chat.update (§4.2): `blocks` always sent (omitting them would drop the old ones)."""
        return self.call("chat.update", {"channel": channel, "ts": ts, "text": text, "blocks": blocks})

    def open_view(self, trigger_id: str, view: dict) -> dict[str, Any]:
        """views.open (§4.3): within 3 s of the click whose trigger_id it uses."""
        return self.call("views.open", {"trigger_id": trigger_id, "view": view})

    def lookup_by_email(self, email: str) -> dict[str, Any] | None:
        """users.lookupByEmail (§4.4): the user, or None (`users_not_found`, also deactivated)."""
        try:
            return self.call("users.lookupByEmail", params={"email": email})["user"]
        except ProviderError as exc:
            if exc.message.endswith("users_not_found"):
                return None
            raise

    def user_info(self, slack_id: str) -> dict[str, Any]:
        """users.info: the profile (e-mail with users:read.email), to map a Slack user who has
        not been messaged yet (Slack's users.info reference; not in the contract notes)."""
        return self.call("users.info", params={"user": slack_id})["user"]
