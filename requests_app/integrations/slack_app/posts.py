"""Posting and updating the app's messages. A message about an elevation is posted once per
person and kind, then updated in place (chat.update on the stored channel + ts) as it changes.
No database transaction is open during a Slack call."""

from __future__ import annotations

from requests_app.clock import now
from requests_app.integrations.slack_app import blocks
from requests_app.integrations.slack_app.identity import client_of, current_app, slack_id_for
from requests_app.integrations.slack_app.models import SlackApp, SlackPost
from requests_app.models import Elevation, User
from requests_app.providers.base import ProviderError

# Events that post a message of their own (the rest only update what was posted).
POSTING_EVENTS = {"approval_needed", "granted", "expiring_soon", "denied", "failed"}


def render(post_kind: str, elevation: Elevation, recipient: User, note: str = "") -> tuple[str, list]:
    if post_kind == SlackPost.Kind.APPROVAL:
        return blocks.approval(elevation, recipient, note)
    return blocks.status(elevation, recipient, note)


def deliver(event: str, elevation: Elevation, recipient: User) -> str:
    """Post (or, for a message already there, update) the event's message to the recipient's DM;
    returns the message's ts. A person without a Slack account (by e-mail) is a permanent miss."""
    app = _app()
    kind = SlackPost.Kind.APPROVAL if event == "approval_needed" else SlackPost.Kind.STATUS
    existing = SlackPost.objects.filter(elevation=elevation, recipient=recipient, kind=kind).order_by("-pk").first()
    if existing is not None and event != "expiring_soon":  # a reminder is a new message: it notifies
        update(existing, elevation)
        return existing.ts
    slack_id = slack_id_for(recipient, app)
    if slack_id is None:
        raise ProviderError(f"no Slack account has the e-mail address {recipient.email}", permanent=True)
    text, content = render(kind, elevation, recipient)
    answer = client_of(app).post_message(slack_id, text, content)
    SlackPost.objects.get_or_create(
        channel=answer["channel"],
        ts=answer["ts"],
        defaults={"elevation": elevation, "recipient": recipient, "kind": kind, "posted_at": now()},
    )
    return answer["ts"]


def update(post: SlackPost, elevation: Elevation, note: str = "") -> None:
    text, content = render(post.kind, elevation, post.recipient, note)
    client_of(_app()).update_message(post.channel, post.ts, text, content)


def refresh(elevation_id: int) -> int:
    """Bring every message about the elevation up to date; the number updated."""
    elevation = Elevation.objects.select_related("beneficiary", "device", "policy").filter(pk=elevation_id).first()
    if elevation is None or current_app() is None:
        return 0
    posts = list(SlackPost.objects.filter(elevation=elevation).select_related("recipient"))
    for post in posts:
        update(post, elevation)
    return len(posts)


def _app() -> SlackApp:
    app = current_app()
    if app is None:
        raise ProviderError("the Slack app is not configured any more", permanent=True)
    return app
