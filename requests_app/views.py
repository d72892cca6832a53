"""Employee pages. Thin: selector -> form -> one service -> message -> respond."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from requests_app import selectors, services
from requests_app.errors import PortalError
from requests_app.forms import ExtendForm, RequestForm, RevokeForm


@login_required
@require_http_methods(["GET"])
def my_elevations(request):
    context = {
        "live": selectors.my_live_elevations(request.user),
        "history": selectors.my_history(request.user)[:50],
        "devices": selectors.devices_for_user(request.user),
        "form": RequestForm(),
    }
    return render(request, "requests_app/my_elevations.html", context)


@login_required
@require_http_methods(["POST"])
def request_elevation(request):
    form = RequestForm(request.POST)
    if form.is_valid():
        device = selectors.device_for_user(public_id=form.cleaned_data["device"], user=request.user)
        try:
            elevation = services.elevation_request(
                requester=request.user,
                device=device,
                minutes=form.cleaned_data["minutes"],
                reason=form.cleaned_data["reason"],
                ticket_ref=form.cleaned_data["ticket_ref"],
                without_password=form.cleaned_data["without_password"],
            )
        except PortalError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Requested admin on {elevation.target_name}.")
    else:
        messages.error(request, "Check the form: " + "; ".join(e for errs in form.errors.values() for e in errs))
    return redirect("requests_app:my_elevations")


@login_required
@require_http_methods(["GET"])
def elevation_detail(request, public_id):
    elevation = selectors.elevation_for_user(public_id=public_id, user=request.user)
    events = elevation.events.order_by("seq")
    return render(request, "requests_app/elevation_detail.html", {"elevation": elevation, "events": events})


@login_required
@require_http_methods(["POST"])
def extend_elevation(request, public_id):
    elevation = selectors.elevation_for_user(public_id=public_id, user=request.user)
    form = ExtendForm(request.POST)
    if form.is_valid():
        try:
            services.elevation_extend(elevation=elevation, actor=request.user, **form.cleaned_data)
            messages.success(request, "Extended.")
        except PortalError as exc:
            messages.error(request, exc.message)
    return redirect("requests_app:my_elevations")


@login_required
@require_http_methods(["POST"])
def revoke_elevation(request, public_id):
    elevation = selectors.elevation_for_user(public_id=public_id, user=request.user)
    form = RevokeForm(request.POST)
    if form.is_valid():
        try:
            services.elevation_revoke(elevation=elevation, actor=request.user, **form.cleaned_data)
            messages.success(request, "Revoked.")
        except PortalError as exc:
            messages.error(request, exc.message)
    return redirect("requests_app:my_elevations")
