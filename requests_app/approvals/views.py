"""The approvals queue. Thin: selector -> form -> one service -> message -> respond."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from requests_app import selectors, services
from requests_app.approvals import selectors as approval_selectors
from requests_app.approvals.forms import ApproveForm, DenyForm
from requests_app.errors import NotAllowed, PortalError


@login_required
@require_http_methods(["GET"])
def queue(request):
    # Open to every signed-in user: a manager decides for their reports without the approver role.
    context = {
        "queue": approval_selectors.queue_for(request.user),
        "decisions": approval_selectors.recent_decisions(request.user),
    }
    if request.htmx and request.htmx.target == "approval-queue":
        return render(request, "approvals/queue.html#approval-queue", context)
    return render(request, "approvals/queue.html", context)


def _decide(request, public_id, form_class, decide, done: str):
    # 404 unless the user may see or decide it: guessing ids reveals nothing.
    elevation = selectors.elevation_for_user(public_id=public_id, user=request.user)
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(e for errors in form.errors.values() for e in errors))
    else:
        try:
            decide(elevation=elevation, approver=request.user, reason=form.cleaned_data["reason"])
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from exc
        except PortalError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"{done} {elevation.beneficiary}'s request for {elevation.target_name}.")
    return redirect("approvals:queue")


@login_required
@require_http_methods(["POST"])
def approve(request, public_id):
    return _decide(request, public_id, ApproveForm, services.elevation_approve, "Approved")


@login_required
@require_http_methods(["POST"])
def deny(request, public_id):
    return _decide(request, public_id, DenyForm, services.elevation_deny, "Denied")
