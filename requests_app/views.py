"""Employee pages. Thin: selector -> form -> one service -> PortalError to message -> respond.

htmx requests get the named partial of the region they target (status 200 even for an invalid
form, since htmx does not swap 4xx); plain form posts redirect, so everything works without JS.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import prefetch_related_objects
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from requests_app import permissions, selectors, services
from requests_app.auth.stepup import step_up_required
from requests_app.clock import now
from requests_app.errors import PortalError
from requests_app.forms import ExtendForm, RequestForm, RevokeForm, extend_choices, first_error, may_revoke
from requests_app.lifecycle import CHANGING_STATES, TERMINAL_STATES, State
from requests_app.models import Elevation
from requests_app.parsing import page_number
from requests_app.permissions import may_change
from requests_app.policy import PolicyChooser, human_minutes

HISTORY_PAGE_SIZE = 10
# Ids of the swappable regions: an htmx request aimed at one gets that region's partial.
HISTORY_REGION = "history"
FORM_REGION = "request-form"
DETAIL_REGION = "elevation-live"


@dataclass
class Row:
    """An elevation as shown to one user: what they may do with it, and what just happened."""

    elevation: Elevation
    extend_choices: list[int]
    can_revoke: bool
    for_someone_else: bool = False  # helpdesk acting on another person's elevation must say why
    notice: str = ""
    error: str = ""

    @property
    def poll_trigger(self) -> str:
        """How the row refreshes itself: fast while the worker moves it, never once it ended."""
        state = self.elevation.state
        if state == State.APPROVED and self.elevation.starts_at > now():
            return "every 30s"  # scheduled for later
        if state in CHANGING_STATES:
            return "every 2s"
        if state == State.PENDING_APPROVAL:
            return "every 10s"
        if state == State.ACTIVE:
            return "every 30s, countdown-ended"
        return ""


def _row(user, elevation: Elevation, chooser: PolicyChooser | None = None, **feedback) -> Row:
    allowed = may_change(user, elevation)
    return Row(
        elevation,
        extend_choices(elevation, chooser) if allowed else [],
        allowed and may_revoke(elevation),
        not permissions.is_party(user, elevation),
        **feedback,
    )


def _live_rows_and_form(user) -> tuple[list[Row], RequestForm]:
    """The user's live elevations as rows, and a fresh request form (which loads the user's
    devices and every policy: the rows take theirs from there)."""
    live = selectors.my_live_elevations(user)
    form = RequestForm(user=user, live=live)
    _share_devices(live, form.devices, with_connection=True)
    policies = {rules.pk: rules for rules in form.policy_chooser.policies}
    for elevation in live:
        if elevation.policy_id is None:
            elevation.policy = None
        elif elevation.policy_id in policies:
            elevation.policy = policies[elevation.policy_id]
    prefetch_related_objects(live, "policy")  # only one created after the form loaded them
    return [_row(user, e, form.policy_chooser) for e in live], form


def _share_devices(elevations: list[Elevation], devices, *, with_connection: bool = False) -> None:
    """Give each elevation its device (and that device's connection, when it is the elevation's
    too) from `devices`, loaded for the page anyway; fetch only what is still missing (a device
    no longer the user's). Joining devices into each list's query cost as much again."""
    by_pk = {device.pk: device for device in devices}
    for elevation in elevations:
        device = by_pk.get(elevation.device_id)
        if device is not None or elevation.device_id is None:
            elevation.device = device
        if with_connection and device is not None and device.connection_id == elevation.connection_id:
            elevation.connection = device.connection
    prefetch_related_objects(elevations, *(["device", "connection"] if with_connection else ["device"]))


def _history_page(user, number, devices=()) -> Page:
    """Paginator.get_page() of the user's history (past the last page or for a garbled number,
    Paginator's own answer). Devices come from `devices` where they can."""
    page = Paginator(selectors.my_history(user), HISTORY_PAGE_SIZE).get_page(number)
    page.object_list = list(page.object_list)
    _share_devices(page.object_list, devices)
    return page


@login_required
@require_GET
def my_elevations(request):
    if request.htmx.target == HISTORY_REGION:
        history = _history_page(request.user, page_number(request.GET.get("page")))
        return render(request, "requests_app/my_elevations.html#history", {"history": history})
    live, form = _live_rows_and_form(request.user)
    history = _history_page(request.user, page_number(request.GET.get("page")), form.devices)
    context = {"live": live, "history": history, "form": form, "inline": True}
    return render(request, "requests_app/my_elevations.html", context)


@login_required
@step_up_required
@require_http_methods(["GET", "POST"])
def request_elevation(request):
    form = RequestForm(request.POST or None, user=request.user, initial=request.GET.dict())
    if form.is_bound and form.is_valid():
        try:
            elevation = services.elevation_request(requester=request.user, **form.service_arguments())
        except PortalError as exc:
            form.add_portal_error(exc)
        else:
            return _requested(request, elevation)
    if request.htmx.target == FORM_REGION:
        return render(request, "requests_app/request.html#request-form", {"form": form, "inline": True})
    return render(request, "requests_app/request.html", {"form": form})


def _requested(request, elevation: Elevation):
    if request.htmx.target == FORM_REGION:
        # A fresh form, and the live list swapped out of band with the new elevation in it.
        live, form = _live_rows_and_form(request.user)
        context = {
            "form": form,
            "inline": True,
            "created_message": _requested_message(elevation),
            "live": live,
        }
        return render(request, "requests_app/request.html#request-created", context)
    messages.success(request, _requested_message(elevation))
    return redirect("requests_app:my_elevations")


def _requested_message(elevation: Elevation) -> str:
    if elevation.extensions:
        return f"You already had admin rights on {elevation.target_name}: they were extended instead."
    if elevation.state == State.PENDING_APPROVAL:
        return f"Your request for {elevation.target_name} is waiting for approval."
    return f"Admin rights on {elevation.target_name} are on their way."


@login_required
@require_GET
def elevation_detail(request, public_id):
    elevation = selectors.elevation_for_user(public_id=public_id, user=request.user)
    context = {"row": _row(request.user, elevation), "events": elevation.events.order_by("seq")}
    if request.htmx.target == DETAIL_REGION:
        response = render(request, "requests_app/elevation_detail.html#elevation-live", context)
        return _stop_polling_when_ended(elevation, response)
    return render(request, "requests_app/elevation_detail.html", context)


@login_required
@require_GET
def elevation_row(request, public_id):
    """The row of one elevation, for polling; the detail page for a plain request."""
    elevation = selectors.elevation_for_user(public_id=public_id, user=request.user)
    if not request.htmx:
        return redirect("requests_app:detail", public_id=public_id)
    response = render(request, "requests_app/my_elevations.html#elevation-row", {"row": _row(request.user, elevation)})
    return _stop_polling_when_ended(elevation, response)


def _stop_polling_when_ended(elevation: Elevation, response):
    if elevation.state in TERMINAL_STATES:
        return HttpResponseStopPolling(response.content)
    return response


@login_required
@require_POST
def extend_elevation(request, public_id):
    elevation = selectors.elevation_for_user(public_id=public_id, user=request.user)
    form = ExtendForm(request.POST, elevation=elevation)
    if not may_change(request.user, elevation):
        raise PermissionDenied("You cannot change this elevation.")  # seen, not theirs to change: 403
    if not form.is_valid():
        return _after_action(request, elevation, error=first_error(form))
    try:
        services.elevation_extend(elevation=elevation, actor=request.user, **form.cleaned_data)
    except PortalError as exc:
        return _after_action(request, elevation, error=exc.message)
    return _after_action(request, elevation, notice=f"Extended by {human_minutes(form.cleaned_data['minutes'])}.")


@login_required
@require_POST
def revoke_elevation(request, public_id):
    elevation = selectors.elevation_for_user(public_id=public_id, user=request.user)
    form = RevokeForm(request.POST)
    if not may_change(request.user, elevation):
        raise PermissionDenied("You cannot change this elevation.")  # seen, not theirs to change: 403
    if not form.is_valid():
        return _after_action(request, elevation, error=first_error(form))
    try:
        services.elevation_revoke(elevation=elevation, actor=request.user, **form.cleaned_data)
    except PortalError as exc:
        return _after_action(request, elevation, error=exc.message)
    ended = elevation.state == State.CANCELLED
    return _after_action(request, elevation, notice="Request cancelled." if ended else "Revoking admin rights…")


def _after_action(request, elevation: Elevation, *, notice: str = "", error: str = ""):
    """Swap the region that asked (a row, or the detail page's live part); else redirect back."""
    if request.htmx:
        elevation.refresh_from_db()
        row = _row(request.user, elevation, notice=notice, error=error)
        if request.htmx.target == DETAIL_REGION:
            context = {"row": row, "events": elevation.events.order_by("seq")}
            return render(request, "requests_app/elevation_detail.html#elevation-live", context)
        return render(request, "requests_app/my_elevations.html#elevation-row", {"row": row})
    if error:
        messages.error(request, f"{elevation.target_name}: {error}")
    else:
        messages.success(request, f"{elevation.target_name}: {notice}")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("requests_app:my_elevations")
    return redirect(target)
