"""Helpdesk page: elevate a JumpCloud user group for a window (reverted by the portal's sweep)."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from requests_app.errors import PortalError
from requests_app.permissions import ACT_FOR_OTHERS, role_required
from requests_app.providers.base import ProviderError
from requests_app.providers.jumpcloud.forms import GroupElevationForm
from requests_app.providers.jumpcloud.services import group_elevation_request

log = logging.getLogger(__name__)


@role_required(ACT_FOR_OTHERS)
@require_http_methods(["GET", "POST"])
def group_elevation(request):
    form = GroupElevationForm(request.POST or None, initial=request.GET.dict())
    if form.is_bound and form.is_valid():
        try:
            elevation = group_elevation_request(requester=request.user, **form.service_arguments())
        except PortalError as exc:
            form.add_portal_error(exc)
        else:
            messages.success(
                request, f"{elevation.target_label}: sudo requested until {elevation.expires_at:%H:%M} UTC."
            )
            return redirect("requests_app:detail", public_id=elevation.public_id)
    context = {"form": form, "groups": _group_choices(form)}
    return render(request, "jumpcloud/group_elevation.html", context)


def _group_choices(form) -> list[tuple[str, str]]:
    """The user groups of the first connection, for the picker (the page works without them)."""
    connection = form.fields["connection"].queryset.first()
    if connection is None:
        return []
    try:
        return connection.provider.list_user_groups()
    except ProviderError as exc:
        log.warning("could not list the user groups of %s: %s", connection, exc.message)
        return []
