"""A Slack incoming-webhook endpoint for tests: records messages, answers like Slack.

Per `shared/provider-apis/slack.md`: 200 with the plain-text body `ok`; plain-text error codes
(400 `invalid_payload`/`no_text`, 404 `no_service`, 410 `channel_is_archived`); faults such as
429 with Retry-After come from the shared harness.
"""

from __future__ import annotations

import secrets
from typing import Any

from requests_app.providers.simulator import Request, Response, Simulator

TEXT = {"Content-Type": "text/html"}


def text_response(status: int, body: str) -> Response:
    return Response(status, body.encode(), dict(TEXT))


class SlackSimulator(Simulator):
    """Incoming webhooks under /services/T…/B…/secret; messages kept per webhook path."""

    name = "slack"

    def __init__(self) -> None:
        self.webhooks: dict[str, dict[str, Any]] = {}  # path → {"archived": bool, "messages": []}
        super().__init__()

    def add_webhook(self, *, archived: bool = False) -> str:
        """Create a webhook; returns its full URL (the server must be started)."""
        path = f"/services/T{secrets.token_hex(4).upper()}/B{secrets.token_hex(4).upper()}/" + (
            secrets.token_urlsafe(18)
        )
        with self.lock:
            self.webhooks[path] = {"archived": archived, "messages": []}
        return self.base_url + path

    def messages(self, url: str | None = None) -> list[dict[str, Any]]:
        """Messages received by one webhook (by URL), or by all of them in order."""
        with self.lock:
            if url is not None:
                return list(self.webhooks[url.removeprefix(self.base_url)]["messages"])
            return [m for hook in self.webhooks.values() for m in hook["messages"]]

    def seed_demo(self) -> dict[str, Any]:
        return {"webhook_url": self.add_webhook()}

    def setup_routes(self) -> None:
        self.route("POST", "/services/{team}/{bot}/{secret}", self.receive)

    def receive(self, request: Request) -> Response:
        hook = self.webhooks.get(request.path)
        if hook is None:
            return text_response(404, "no_service")
        if hook["archived"]:
            return text_response(410, "channel_is_archived")
        body = request.body
        if not isinstance(body, dict):
            return text_response(400, "invalid_payload")
        if not body.get("text") and not body.get("blocks"):
            return text_response(400, "no_text")
        blocks = body.get("blocks") or []
        if (
            not isinstance(blocks, list)
            or len(blocks) > 50
            or any(not isinstance(b, dict) or "type" not in b for b in blocks)
        ):
            return text_response(400, "invalid_blocks")
        hook["messages"].append(body)
        return text_response(200, "ok")
