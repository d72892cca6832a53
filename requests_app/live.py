"""How every page follows an elevation live: one mechanism for the employee's, the helpdesk's
and the detail pages.

Each region that shows one elevation's state polls its own URL (`poll_trigger`): fast while the
worker moves it, slowly while it waits, never once it has ended. A poll answer for an ended
elevation stops the polling (htmx's 286) and fires `elevations-changed` on the page (HX-Trigger),
which the lists listen for: they reload, so the row moves from Current to History and the
request form forgets "Already requested here". The lists also reload every minute, for
elevations started elsewhere (helpdesk, Jira, Slack) while the page is open.
"""

from __future__ import annotations

from django.http import HttpResponse
from django_htmx.http import HttpResponseStopPolling, trigger_client_event

from requests_app.clock import now
from requests_app.lifecycle import CHANGING_STATES, TERMINAL_STATES, State
from requests_app.models import Elevation

CHANGED_EVENT = "elevations-changed"  # the lists' hx-trigger: "elevations-changed from:body"


def poll_trigger(elevation: Elevation) -> str:
    """The hx-trigger of a region showing `elevation`: "" once it can no longer change."""
    state = elevation.state
    if state == State.APPROVED and elevation.starts_at and elevation.starts_at > now():
        return "every 30s"  # scheduled for later
    if state in CHANGING_STATES:
        return "every 2s"
    if state == State.PENDING_APPROVAL:
        return "every 10s"
    if state == State.ACTIVE:
        return "every 30s, countdown-ended"
    return ""


def state_response(elevation: Elevation, response: HttpResponse) -> HttpResponse:
    """A region's answer: once the elevation has ended, stop its polling and tell the lists."""
    if elevation.state not in TERMINAL_STATES:
        return response
    stopped = HttpResponseStopPolling(response.content)
    return trigger_client_event(stopped, CHANGED_EVENT, after="settle")


def announce_change(response: HttpResponse) -> HttpResponse:
    """Tell the page's lists that an elevation appeared or ended (an action's answer)."""
    return trigger_client_event(response, CHANGED_EVENT, after="settle")
