"""Slack incoming webhooks: Block Kit messages with links back to the portal.

Reference: Slack "Sending messages using incoming webhooks", Block Kit reference, the changelog
"Improving error conditions for Incoming Webhooks" and "Rate Limits". Contract notes:
`shared/provider-apis/slack.md`. The webhook URL is the secret: it is never logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from requests_app.integrations import outbound
from requests_app.providers.base import ProviderError, http_client, send


def escape_mrkdwn(text: str) -> str:
    """Slack's three control characters in mrkdwn text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn_link(url: str, label: str) -> str:
    return f"<{url}|{escape_mrkdwn(label)}>"


@dataclass
class SlackMessage:
    """What a notification says; `blocks()` renders it as Block Kit."""

    title: str  # the header, plain text
    text: str  # one line, also the notification fallback
    fields: list[tuple[str, str]] = field(default_factory=list)  # (label, plain value)
    links: list[tuple[str, str]] = field(default_factory=list)  # (label, url) → buttons
    context: str = ""

    def blocks(self) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": self.title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": escape_mrkdwn(self.text)}},
        ]
        if self.fields:
            blocks.append(
                {
                    "type": "section",
                    "fields": [
                        {"type": "mrkdwn", "text": f"*{escape_mrkdwn(label)}:*\n{escape_mrkdwn(value)}"}
                        for label, value in self.fields[:10]  # Slack allows ten fields
                    ],
                }
            )
        if self.links:
            blocks.append(
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": label[:75]},
                            "url": url,
                            "action_id": f"link-{index}",
                        }
                        for index, (label, url) in enumerate(self.links)
                    ],
                }
            )
        if self.context:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": self.context}]})
        return blocks

    def payload(self) -> dict[str, Any]:
        """The webhook body. `text` rides along: it is the push notification's text."""
        fallback = self.text
        if self.links:
            fallback += " " + " ".join(mrkdwn_link(url, label) for label, url in self.links)
        return {"text": fallback, "blocks": self.blocks(), "unfurl_links": False}


def _redacted(url: str) -> str:
    """The webhook URL without its secret path, for messages and logs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…"


def post_message(webhook_url: str, message: SlackMessage, *, untrusted: bool = False) -> None:
    """POST the message to an incoming webhook; success is HTTP 200 with the body `ok`.

    Reference: Slack incoming webhooks. 400 `invalid_payload`, 403 `action_prohibited`, 404
    `channel_not_found`/`no_service` and 410 `channel_is_archived` are permanent; 429 (with
    Retry-After) and 5xx are transient. An `untrusted` URL (one an employee set) is checked
    again and sent to the public address it resolved to (outbound.pinned).
    """
    what = f"Slack webhook {_redacted(webhook_url)}"
    target: dict[str, Any] = {"url": webhook_url}
    if untrusted:
        try:
            pin = outbound.pinned(webhook_url)
        except outbound.UnsafeUrl as exc:
            raise ProviderError(f"{what}: {exc.message}", permanent=True) from exc
        target = {"url": pin.url, "headers": pin.headers, "extensions": pin.extensions}
    with http_client("", {"Content-Type": "application/json"}) as client:
        try:
            response = send(client, "POST", what=what, json=message.payload(), **target)
        except ProviderError as exc:
            # The shared mapping quotes the body; Slack's error bodies are short codes only.
            raise ProviderError(
                exc.message.replace("the provider", "Slack"),
                permanent=exc.permanent,
                retry_after=exc.retry_after,
                status_code=exc.status_code,
            ) from exc
    body = response.text.strip()
    if body != "ok":
        # Some revoked webhooks answer 200 with an error code instead of `ok`.
        raise ProviderError(f"{what}: Slack answered {body[:60]!r} instead of ok", permanent=True)
