"""The SailPoint page: each employee connects (and may disconnect) their own SailPoint identity."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from requests_app.errors import PortalError
from requests_app.models import UserAuthorization
from requests_app.providers.sailpoint import services

SESSION_KEY = "sailpoint_oauth"


@login_required
@require_GET
def connections(request):
    mine = {a.connection_id: a for a in UserAuthorization.objects.filter(user=request.user)}
    rows = [(connection, mine.get(connection.pk)) for connection in services.sailpoint_connections()]
    return render(request, "sailpoint/connections.html", {"rows": rows})


@login_required
@require_POST
def connect(request, public_id):
    connection = services.sailpoint_connections().filter(public_id=public_id).first()
    if connection is None:
        raise Http404
    try:
        url, pending = services.sailpoint_connect_start(connection=connection)
    except PortalError as exc:
        messages.error(request, exc.message)
        return redirect("sailpoint:connections")
    request.session[SESSION_KEY] = pending
    return redirect(url)


@login_required
@require_GET
def callback(request):
    pending = request.session.pop(SESSION_KEY, None)  # one use only
    try:
        authorization = services.sailpoint_connect_complete(
            user=request.user,
            pending=pending,
            state=request.GET.get("state", ""),
            code=request.GET.get("code", ""),
            error=request.GET.get("error_description") or request.GET.get("error", ""),
        )
    except PortalError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"SailPoint connected: {authorization.connection.name} now acts in your name.")
    return redirect("sailpoint:connections")


@login_required
@require_POST
def disconnect(request, public_id):
    authorization = UserAuthorization.objects.filter(public_id=public_id).select_related("connection").first()
    if authorization is None or (
        authorization.user_id != request.user.pk and not request.user.has_perm(services.MANAGE_PERMISSION)
    ):
        raise Http404
    try:
        services.user_authorization_revoke(
            authorization=authorization, actor=request.user, reason=request.POST.get("reason", "")
        )
    except PortalError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"SailPoint disconnected for {authorization.user} on {authorization.connection.name}."
        )
    return redirect("sailpoint:connections")
