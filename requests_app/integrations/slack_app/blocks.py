"""Block Kit for the app's messages (slack-app.md §5): user text escaped, a `text` fallback
always sent, buttons only while there is something to decide or change."""

from __future__ import annotations

import json

from django.conf import settings
from django.urls import reverse

from requests_app import policy
from requests_app.forms import extend_choices, may_revoke
from requests_app.integrations.messages import portal_url, when
from requests_app.integrations.slack import escape_mrkdwn as esc
from requests_app.integrations.slack_app.identity import needs_portal
from requests_app.states import State

OUTCOMES = {
    State.APPROVED: ":white_check_mark: *Approved*",
    State.GRANTING: ":white_check_mark: *Approved*",
    State.ACTIVE: ":white_check_mark: *Approved*",
    State.DENIED: ":x: *Denied*",
    State.CANCELLED: ":heavy_minus_sign: *Cancelled* by the requester",
}


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def _button(action_id: str, label: str, value: str, style: str = "", confirm: dict | None = None) -> dict:
    button = {"type": "button", "action_id": action_id, "value": value, "text": _plain(label)}
    if style:
        button["style"] = style
    if confirm:
        button["confirm"] = confirm
    return button


def _plain(text: str, limit: int = 75) -> dict:
    return {"type": "plain_text", "text": text[:limit]}


def _link(label: str, url: str) -> dict:
    return {"type": "button", "action_id": "open", "text": _plain(label), "url": url}


def _summary(elevation) -> str:
    minutes = policy.human_minutes(elevation.requested_minutes)
    who = esc(str(elevation.beneficiary))
    return (
        f"{who} asks for *temporary admin* on `{esc(elevation.target_name)}` for {minutes}.\n"
        f"Reason: {esc(elevation.reason[:500])}"
    )


def approval(elevation, approver, note: str = "") -> tuple[str, list[dict]]:
    """The approver's message: Approve/Deny while pending, then the outcome without buttons."""
    text = f"Approval needed: {elevation.beneficiary.email} wants admin on {elevation.target_name}"
    blocks = [_section("*Approval needed*\n" + _summary(elevation))]
    ticket = f" · ticket {esc(elevation.ticket_ref)}" if elevation.ticket_ref else ""
    blocks.append(_context(f"Request {elevation.public_id}{ticket}"))
    value = str(elevation.public_id)
    if elevation.state == State.PENDING_APPROVAL:
        if needs_portal(approver):
            url = settings.ELEVATE_BASE_URL + reverse("approvals:queue")
            blocks.append(_context("Your role needs a recent two-factor sign-in to act from Slack."))
            blocks.append({"type": "actions", "block_id": f"open:{value}", "elements": [_link("Open in Elevate", url)]})
        else:
            confirm = {
                "title": _plain(f"Approve for {elevation.target_name}?", 100),
                "text": _plain(f"Grants admin on {elevation.target_name} to {elevation.beneficiary}.", 300),
                "confirm": _plain("Approve", 30),
                "deny": _plain("Cancel", 30),
            }
            buttons = [
                _button("approve", "Approve", value, "primary", confirm),
                _button("deny", "Deny", value, "danger"),
            ]
            blocks.append({"type": "actions", "block_id": f"decision:{value}", "elements": buttons})
    else:
        outcome = OUTCOMES.get(elevation.state, f"No longer waiting: {elevation.get_state_display().lower()}")
        decision = elevation.approvals.order_by("-decided_at").select_related("approver").first()
        if decision is not None and elevation.state in (State.DENIED, *OUTCOMES):
            outcome += f" by {esc(str(decision.approver))}"
            if decision.reason:
                outcome += f": {esc(decision.reason[:500])}"
        blocks.append(_section(outcome))
        text += f" ({elevation.get_state_display().lower()})"
    return text, _with_note(blocks, note)


def status(elevation, recipient, note: str = "") -> tuple[str, list[dict]]:
    """The requester's message: the state, the expiry, and Extend/Revoke while it is live."""
    until = when(elevation.expires_at, getattr(recipient, "timezone", "UTC"))
    target = esc(elevation.target_name)
    lines = {
        State.ACTIVE: f":unlock: Admin on `{target}` until *{until}*.",
        State.PENDING_APPROVAL: f":hourglass: Your request for `{target}` is waiting for approval.",
        State.APPROVED: f":hourglass: Admin on `{target}` is on its way.",
        State.GRANTING: f":hourglass: Admin on `{target}` is on its way.",
        State.REVOKING: f":lock: Admin on `{target}` is being revoked.",
        State.FAILED: f":warning: Admin on `{target}` could not be granted: {esc(elevation.last_error[:300])}",
    }
    line = lines.get(elevation.state, f":lock: Admin on `{target}`: {elevation.get_state_display().lower()}.")
    blocks = [_section(line), _context(f"<{portal_url(elevation)}|Open in Elevate> · {elevation.public_id}")]
    value = str(elevation.public_id)
    buttons = [
        _button("extend", f"Extend by {policy.human_minutes(m)}", f"{value}:{m}") for m in extend_choices(elevation)[:1]
    ]
    if may_revoke(elevation) and elevation.state != State.REVOKING:
        confirm = {
            "title": _plain("Revoke admin now?", 100),
            "text": _plain(f"Ends admin on {elevation.target_name} now.", 300),
            "confirm": _plain("Revoke", 30),
            "deny": _plain("Keep it", 30),
        }
        buttons.append(_button("revoke", "Revoke", value, "danger", confirm))
    if buttons:
        blocks.append({"type": "actions", "block_id": f"change:{value}", "elements": buttons})
    text = f"Admin on {elevation.target_name}: {elevation.get_state_display().lower()}"
    return text, _with_note(blocks, note)


def _with_note(blocks: list[dict], note: str) -> list[dict]:
    return [*blocks, _context(f":warning: {esc(note)}")] if note else blocks


def deny_modal(elevation, channel: str, ts: str) -> dict:
    """Deny asks for a reason in a modal (§5); where the message is rides in private_metadata."""
    return {
        "type": "modal",
        "callback_id": "deny_reason",
        "private_metadata": json.dumps({"e": str(elevation.public_id), "c": channel, "t": ts}),
        "title": _plain("Deny request", 24),
        "submit": _plain("Deny", 24),
        "close": _plain("Cancel", 24),
        "blocks": [
            _section(_summary(elevation)),
            {
                "type": "input",
                "block_id": "reason",
                "label": _plain("Reason (the requester sees it)", 2000),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "reason_input",
                    "multiline": True,
                    "max_length": policy.REASON_MAX_LENGTH,
                },
            },
        ],
    }
