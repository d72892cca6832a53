"""Helpdesk console. Thin: selector -> form -> one service -> message -> respond.

Actions are plain POST forms that redirect back to the page they came from; with htmx the form
swaps the page's #helpdesk-page region (hx-select) from that redirect, and the messages with it.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from requests_app import services
from requests_app.auth.stepup import step_up_required
from requests_app.errors import PortalError
from requests_app.helpdesk import selectors
from requests_app.helpdesk.forms import ExtendForm, GrantForm, ReasonForm, SearchForm
from requests_app.helpdesk.services import elevation_mark_reviewed
from requests_app.models import Elevation
from requests_app.permissions import ACT_FOR_OTHERS, BREAK_GLASS, role_required
from requests_app.selectors import devices_for_user

# Ids of the console's swappable regions: an htmx request aimed at one gets that region's partial.
SEARCH_REGION = "search-results"
LIVE_REGION = "console-live"


helpdesk_required = role_required(ACT_FOR_OTHERS)
break_glass_required = role_required(BREAK_GLASS)


def _back(request, default: str):
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = default
    return redirect(target)


def _form_errors(form) -> str:
    return "Check the form: " + "; ".join(e for errors in form.errors.values() for e in errors)


def _run(request, action, success: str) -> None:
    """Call one service; its refusal becomes an error message."""
    try:
        action()
    except PortalError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)


@helpdesk_required
@require_http_methods(["GET"])
def console(request):
    form = SearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    context = {
        "form": form,
        "query": query,
        "users": selectors.search_users(query),
        "devices": selectors.search_devices(query),
    }
    target = request.htmx.target if request.htmx else None
    if target == SEARCH_REGION:
        return render(request, "helpdesk/console.html#search-results", context)
    context["live"] = selectors.live_page(after=request.GET.get("after"), before=request.GET.get("before"))
    context["live_rows"] = context["live"].rows
    if target == LIVE_REGION:
        return render(request, "helpdesk/console.html#console-live", context)
    context["needing_review"] = selectors.needing_review()[:50]
    return render(request, "helpdesk/console.html", context)


@helpdesk_required
@require_http_methods(["GET"])
def user_page(request, user_id: int):
    person = selectors.user_by_id(user_id)
    devices = devices_for_user(person)
    context = {
        "person": person,
        "live_rows": list(selectors.live_for_user(person)),
        "devices": devices,
        "grant_form": GrantForm(beneficiary=person, devices=devices),
        "break_glass_form": GrantForm(beneficiary=person, devices=devices, auto_id="bg_%s"),
    }
    return render(request, "helpdesk/user.html", context)


@helpdesk_required
@require_http_methods(["GET"])
def device_page(request, public_id):
    device = selectors.device_by_public_id(public_id)
    context = {
        "device": device,
        "live_rows": list(selectors.live_for_device(device)),
        "people": device.users.order_by("email"),
    }
    return render(request, "helpdesk/device.html", context)


@helpdesk_required
@require_http_methods(["POST"])
def extend(request, public_id):
    elevation = selectors.elevation_by_public_id(public_id)
    form = ExtendForm(request.POST)
    if form.is_valid():
        _run(
            request,
            lambda: services.elevation_extend(elevation=elevation, actor=request.user, **form.cleaned_data),
            f"Extended {elevation.beneficiary}'s elevation on {elevation.target_name}.",
        )
    else:
        messages.error(request, _form_errors(form))
    return _back(request, reverse("helpdesk:console"))


@helpdesk_required
@require_http_methods(["POST"])
def revoke(request, public_id):
    elevation = selectors.elevation_by_public_id(public_id)
    form = ReasonForm(request.POST)
    if form.is_valid():
        _run(
            request,
            lambda: services.elevation_revoke(elevation=elevation, actor=request.user, **form.cleaned_data),
            f"Revoking {elevation.beneficiary}'s elevation on {elevation.target_name}.",
        )
    else:
        messages.error(request, _form_errors(form))
    return _back(request, reverse("helpdesk:console"))


def _grant(request, user_id: int, *, break_glass: bool):
    person = selectors.user_by_id(user_id)
    form = GrantForm(request.POST, beneficiary=person, devices=devices_for_user(person))
    if form.is_valid():
        data = form.cleaned_data
        _run(
            request,
            lambda: services.elevation_request(
                requester=request.user,
                beneficiary=person,
                device=data["device"],
                minutes=data["minutes"],
                reason=data["reason"],
                ticket_ref=data["ticket_ref"],
                source=Elevation.Source.BREAK_GLASS if break_glass else Elevation.Source.HELPDESK,
                break_glass=break_glass,
            ),
            ("Break-glass elevation started" if break_glass else "Granted")
            + f" for {person} on {data['device'].hostname}.",
        )
    else:
        messages.error(request, _form_errors(form))
    return _back(request, reverse("helpdesk:user", args=[person.pk]))


@helpdesk_required
@step_up_required
@require_http_methods(["POST"])
def grant(request, user_id: int):
    return _grant(request, user_id, break_glass=False)


@break_glass_required
@step_up_required
@require_http_methods(["POST"])
def break_glass(request, user_id: int):
    return _grant(request, user_id, break_glass=True)


@helpdesk_required
@require_http_methods(["POST"])
def revoke_all_for_user(request, user_id: int):
    person = selectors.user_by_id(user_id)
    return _revoke_all(request, reverse("helpdesk:user", args=[person.pk]), beneficiary=person)


@helpdesk_required
@require_http_methods(["POST"])
def revoke_all_for_device(request, public_id):
    device = selectors.device_by_public_id(public_id)
    return _revoke_all(request, reverse("helpdesk:device", args=[device.public_id]), device=device)


def _revoke_all(request, back: str, **target):
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return _back(request, back)
    try:
        ended = services.elevations_revoke_all(actor=request.user, reason=form.cleaned_data["reason"], **target)
    except PortalError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Revoking {len(ended)} live elevation{'s' if len(ended) != 1 else ''}.")
    return _back(request, back)


@break_glass_required
@require_http_methods(["POST"])
def mark_reviewed(request, public_id):
    elevation = selectors.elevation_by_public_id(public_id)
    form = ReasonForm(request.POST)
    if form.is_valid():
        _run(
            request,
            lambda: elevation_mark_reviewed(
                elevation=elevation, reviewer=request.user, note=form.cleaned_data["reason"]
            ),
            f"Marked the break-glass elevation on {elevation.target_name} as reviewed.",
        )
    else:
        messages.error(request, _form_errors(form))
    return _back(request, reverse("helpdesk:console"))
