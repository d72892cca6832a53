"""Small presentation helpers for the portal's templates: durations, states, audit actions.

Several stand in for a built-in in the rows of long lists, where the built-in is the larger part
of a page's time: `iso` for `date:'c'`, `when` and `timestamp` for `date` with our formats,
`clip` for `truncatechars`, `row_url` for `{% url %}` with one argument, `state_badge` for an
`{% include %}`. Tests check that each writes what the built-in wrote.
"""

from __future__ import annotations

import uuid

from django import template
from django.template.defaultfilters import truncatechars
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.dateparse import parse_datetime
from django.utils.dates import MONTHS_3
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from requests_app.clock import now
from requests_app.lifecycle import CHANGING_STATES, State
from requests_app.policy import human_minutes

register = template.Library()

STATE_TONES = {
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


STATE_LABELS = dict(State.choices)


@register.filter
def state_label(state: str) -> str:
    """What get_state_display() says, without rebuilding the choices for every row."""
    return STATE_LABELS.get(state, state)


@register.filter
def state_tone(state: str) -> str:
    return STATE_TONES.get(state, "ended")


@register.filter
def is_changing(state: str) -> bool:
    return state in CHANGING_STATES


@register.filter
def is_future(moment) -> bool:
    return bool(moment) and moment > now()


_month_names: dict[str, list[str]] = {}


def _month(number: int) -> str:
    """The date format's "M" (e.g. "Nov"), translated once per language rather than per row."""
    language = get_language()
    names = _month_names.get(language)
    if names is None:
        names = _month_names[language] = ["", *(str(MONTHS_3[n]).title() for n in range(1, 13))]
    return names[number]


@register.filter
def when(moment) -> str:
    """A time in the user's zone, with as much date as it needs: "15:42 CET", "tomorrow 09:00 CET"."""
    if not moment:
        return ""
    local = timezone.localtime(moment)
    days = (local.date() - timezone.localtime(now()).date()).days
    # As format_date(local, "H:i T") etc. would, without parsing the format for every row.
    clock = f"{local:%H:%M} {local.tzname()}"
    if days == 0:
        return clock
    if days == 1:
        return "tomorrow " + clock
    if days == -1:
        return "yesterday " + clock
    day = f"{_month(local.month)} {local.day}"
    return f"{day}, {clock}" if abs(days) < 180 else f"{day}, {local.year:04d}, {clock}"


@register.filter(is_safe=True)
def clip(text, length: int) -> str:
    """`truncatechars`, which normalises and counts every character even of short text: plain
    ASCII text (a reason, mostly) is clipped here the same way, anything else by Django's."""
    if isinstance(text, str) and text.isascii():
        return text if len(text) <= length else text[: length - 1] + "…"
    return truncatechars(text, length)


@register.filter(expects_localtime=True)
def iso(moment) -> str:
    """`{{ moment|date:'c' }}` (ISO 8601 in the user's zone), for <time datetime>."""
    return moment.isoformat() if moment else ""


@register.filter(expects_localtime=True)
def timestamp(moment) -> str:
    """`{{ moment|date:"M j, H:i:s" }}` in the user's zone (the audit trail's rows)."""
    return f"{_month(moment.month)} {moment.day}, {moment:%H:%M:%S}" if moment else ""


_URL_PLACEHOLDERS = {
    uuid.UUID: str(uuid.UUID("f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9")),
    int: str(987_654_321_012_345),
}
_URL_PATTERNS = object()  # the key of this render's reversed patterns (by URL name) in render_context


@register.simple_tag(takes_context=True)
def row_url(context, name: str, value) -> str:
    """`{% url name value %}` for the rows of a list, where its URL has one UUID or integer in
    it: reversed once per template render (with a placeholder, then replaced), since reverse()
    costs as much as the rest of a row. Anything else is reversed as {% url %} would."""
    placeholder = _URL_PLACEHOLDERS.get(type(value))
    if placeholder is None or (type(value) is int and value < 0):
        return reverse(name, args=[value])
    patterns = context.render_context.get(_URL_PATTERNS)
    if patterns is None:
        patterns = context.render_context[_URL_PATTERNS] = {}
    pattern = patterns.get(name)
    if pattern is None:
        pattern = patterns[name] = reverse(name, args=[placeholder])
    return pattern.replace(placeholder, str(value))


@register.simple_tag
def state_badge(elevation) -> str:
    """The state as a badge (with a spinner while it is changing)."""
    spinner = mark_safe('<span class="spinner" aria-hidden="true"></span>') if is_changing(elevation.state) else ""
    return format_html(
        '<span class="badge badge-{}" data-state-badge>{}{}</span>',
        state_tone(elevation.state),
        spinner,
        state_label(elevation.state),
    )


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
