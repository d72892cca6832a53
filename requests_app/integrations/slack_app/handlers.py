"""Button clicks and the deny modal (slack-app.md §3): the same services, permissions and MFA
rules as the pages. Each click updates its own message at once; the lifecycle's signal updates
every other message about the elevation."""

from __future__ import annotations

import json

from django.http import Http404

from requests_app import permissions, selectors, services
from requests_app.errors import NotAllowed, PortalError
from requests_app.integrations.slack_app import blocks, posts
from requests_app.integrations.slack_app.identity import client_of, needs_portal, user_for
from requests_app.integrations.slack_app.models import SlackApp, SlackPost
from requests_app.models import Elevation, User

MFA_NOTE = "Your role needs a recent two-factor sign-in to the portal: open Elevate to act."


def block_actions(app: SlackApp, payload: dict) -> None:
    action = (payload.get("actions") or [{}])[0]
    action_id, value = action.get("action_id", ""), str(action.get("value", ""))
    if action_id not in ("approve", "deny", "extend", "revoke"):
        return  # link buttons send a payload too: nothing to do
    container = payload.get("container") or {}
    channel, ts = container.get("channel_id", ""), container.get("message_ts", "")
    user = user_for(payload["user"]["id"], app)
    post = SlackPost.objects.filter(channel=channel, ts=ts).select_related("recipient").first()
    if user is None or post is None or post.recipient_id != user.pk:
        return  # not a message of ours, or clicked by someone else (a forwarded message)
    public_id, _, minutes = value.partition(":")
    try:
        elevation = selectors.elevation_for_user(public_id=public_id, user=user)
    except (Http404, ValueError):
        return
    note = ""
    try:
        note = _act(app, payload, action_id, user, elevation, post, minutes)
    except PortalError as exc:
        note = exc.message
    elevation.refresh_from_db()
    posts.update(post, elevation, note)


def _act(app, payload, action_id: str, user: User, elevation: Elevation, post: SlackPost, minutes: str) -> str:
    if action_id in ("approve", "deny"):
        if needs_portal(user):
            return MFA_NOTE
        if action_id == "approve":
            services.elevation_approve(elevation=elevation, approver=user)
            return ""
        client_of(app).open_view(payload["trigger_id"], blocks.deny_modal(elevation, post.channel, post.ts))
        return ""
    if not permissions.may_change(user, elevation):
        raise NotAllowed("You cannot change this elevation.")
    if not permissions.is_party(user, elevation) and needs_portal(user):
        return MFA_NOTE  # helpdesk on someone else's elevation, as on its page
    if action_id == "extend":
        services.elevation_extend(elevation=elevation, actor=user, minutes=int(minutes or 0))
    else:
        services.elevation_revoke(elevation=elevation, actor=user)
    return ""


def view_submission(app: SlackApp, payload: dict) -> dict | None:
    """The deny modal: deny with the reason and update the message; a refusal shows in the modal."""
    view = payload.get("view") or {}
    if view.get("callback_id") != "deny_reason":
        return None
    meta = json.loads(view.get("private_metadata") or "{}")
    reason = (((view.get("state") or {}).get("values") or {}).get("reason") or {}).get("reason_input") or {}
    user = user_for(payload["user"]["id"], app)
    post = SlackPost.objects.filter(channel=meta.get("c", ""), ts=meta.get("t", "")).first()
    if user is None or post is None or post.recipient_id != user.pk:
        return {"response_action": "errors", "errors": {"reason": "This request is not yours to decide."}}
    try:
        elevation = selectors.elevation_for_user(public_id=meta.get("e", ""), user=user)
        if needs_portal(user):
            raise NotAllowed(MFA_NOTE)
        services.elevation_deny(elevation=elevation, approver=user, reason=reason.get("value") or "")
    except (Http404, ValueError):
        return {"response_action": "errors", "errors": {"reason": "This request no longer exists."}}
    except PortalError as exc:
        return {"response_action": "errors", "errors": {"reason": exc.message}}
    elevation.refresh_from_db()
    posts.update(post, elevation)
    return None
