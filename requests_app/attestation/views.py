"""The beneficiary's attestation form, and the helpdesk's list of overdue attestations."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from requests_app import selectors
from requests_app.attestation import selectors as attestations
from requests_app.attestation.forms import AttestationForm
from requests_app.attestation.services import attestation_submit
from requests_app.errors import PortalError
from requests_app.permissions import ACT_FOR_OTHERS, role_required

PAGE_SIZE = 50


@login_required
@require_http_methods(["GET", "POST"])
def attest(request, public_id):
    elevation = selectors.elevation_for_user(public_id=public_id, user=request.user)
    if elevation.beneficiary_id != request.user.pk:
        raise Http404("No such attestation.")
    attestation = attestations.attestation_of(elevation)
    form = AttestationForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            attestation_submit(elevation=elevation, actor=request.user, **form.cleaned_data)
        except PortalError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"Thank you: what you did on {elevation.target_name} is recorded.")
            return redirect("requests_app:my_elevations")
    context = {"elevation": elevation, "attestation": attestation, "form": form}
    return render(request, "attestation/attest.html", context)


@role_required(ACT_FOR_OTHERS)
@require_GET
def overdue(request):
    page = Paginator(attestations.overdue(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "attestation/overdue.html", {"page": page})
