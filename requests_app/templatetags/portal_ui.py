"""Small presentation helpers for the portal's templates: durations, states, audit actions.
Everything Django has a built-in for (dates, truncation, URLs) uses the built-in."""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.dateparse import parse_datetime

from requests_app.clock import now
from requests_app.lifecycle import CHANGING_STATES, State
from requests_app.policy import human_minutes

register = template.Library()

STATE_TONES: dict[str, str] = {
    State.REQUESTED: "pending",
    State.PENDING_APPROVAL: "waiting",
    State.APPROVED: "pending",
    State.GRANTING: "pending",
    State.ACTIVE: "active",
    State.REVOKING: "pending",
    State.REVOKED: "ended",
    State.EXPIRED: "ended",
    State.DENIED: "bad",
    State.CANCELLED: "ended",
    State.FAILED: "bad",
}

ACTION_LABELS = {
    "elevation.requested": "Requested",
    "elevation.break_glass": "Break-glass elevation started",
    "elevation.pending_approval": "Sent for approval",
    "elevation.auto_approved": "Approved by policy",
    "elevation.approved": "Approved",
    "elevation.denied": "Denied",
    "elevation.cancelled": "Cancelled",
    "elevation.approval_timed_out": "Nobody decided in time",
    "elevation.granting": "Granting at the provider",
    "elevation.grant_retry": "Provider busy, retrying",
    "elevation.granted": "Admin rights granted",
    "elevation.failed": "Failed",
    "elevation.extended": "Extended",
    "elevation.provider_extended": "Provider updated with the new expiry",
    "elevation.revoke_requested": "Revoke requested",
    "elevation.expiring": "Time is up",
    "elevation.revoking": "Revoking",
    "elevation.revoked": "Admin rights removed",
    "elevation.expired": "Admin rights expired and were removed",
    "elevation.end_confirmed": "Provider confirmed the rights ended",
    "elevation.revoke_alert": "Revoke keeps failing: the team is alerted",
    "elevation.drift": "Provider out of step",
    "approval.approve": "Approved",
    "approval.deny": "Denied",
}


@register.filter
def minutes(value) -> str:
    """60 -> "1 h", 75 -> "1 h 15 min"."""
    try:
        return human_minutes(int(value))
    except (TypeError, ValueError):
        return ""


@register.filter
def state_tone(state: str) -> str:
    return STATE_TONES.get(state, "ended")


@register.filter
def is_changing(state: str) -> bool:
    return state in CHANGING_STATES


@register.filter
def is_future(moment) -> bool:
    return bool(moment) and moment > now()


@register.filter
def when(moment) -> str:
    """A time in the user's zone, with as much date as it needs: "15:42 CET", "tomorrow 09:00 CET"."""
    if not moment:
        return ""
    local = timezone.localtime(moment)
    days = (local.date() - timezone.localtime(now()).date()).days
    clock = format_date(local, "H:i T")
    if days == 0:
        return clock
    if days == 1:
        return "tomorrow " + clock
    if days == -1:
        return "yesterday " + clock
    return format_date(local, "M j, " if abs(days) < 180 else "M j, Y, ") + clock


@register.filter
def actor_name(label: str, user) -> str:
    """ "you" for the viewer, "Elevate" for the worker and the system, else the e-mail."""
    if label and label == getattr(user, "email", None):
        return "you"
    if label in ("worker", "system", "", None):
        return "Elevate"
    return label


@register.filter
def action_label(action: str) -> str:
    return ACTION_LABELS.get(action) or action.split(".")[-1].replace("_", " ").capitalize()


@register.filter
def event_detail(event) -> str:
    """The one fact worth a line under an audit event (new expiry, duration, retry...)."""
    after = event.after or {}
    if event.action == "elevation.extended" and after.get("expires_at"):
        return f"Now until {_local(after['expires_at'])}"
    if event.action in ("elevation.requested", "elevation.break_glass") and after.get("minutes"):
        return f"For {human_minutes(int(after['minutes']))}, until {_local(after.get('expires_at'))}"
    if event.action == "elevation.grant_retry" and after.get("attempt"):
        return f"Attempt {after['attempt']}, next try in {after.get('retry_in_seconds', '?')} s"
    if event.action == "elevation.granted" and after.get("provider_expires_at"):
        return f"Until {_local(after['provider_expires_at'])}"
    return ""


def _local(value: str | None) -> str:
    moment = parse_datetime(value or "")
    if moment is None:
        return value or ""
    return format_date(timezone.localtime(moment), "M j, H:i T")
