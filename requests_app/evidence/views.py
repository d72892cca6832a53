"""Evidence packs: auditors ask for one, watch it being built, download it (all audited)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseStopPolling

from requests_app.errors import PortalError
from requests_app.evidence import services
from requests_app.evidence.forms import PackForm
from requests_app.models import EvidencePack

RECENT = 20
FINISHED = (EvidencePack.Status.DONE, EvidencePack.Status.FAILED)


def _auditors_only(request) -> None:
    if not services.may_generate(request.user):
        raise PermissionDenied("This page is for auditors.")  # 403, as every role's pages


def _pack_or_404(public_id) -> EvidencePack:
    pack = EvidencePack.objects.select_related("requested_by").filter(public_id=public_id).first()
    if pack is None:
        raise Http404("No such evidence pack.")
    return pack


@login_required
@require_http_methods(["GET", "POST"])
def packs(request):
    _auditors_only(request)
    today = timezone.localdate()
    form = PackForm(
        request.POST if request.method == "POST" else None,
        initial={"date_from": today.replace(day=1), "date_to": today},
    )
    if form.is_bound and form.is_valid():
        try:
            services.pack_request(
                requested_by=request.user, **form.cleaned_data, timezone_name=timezone.get_current_timezone_name()
            )
        except PortalError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, "The evidence pack is being generated; it appears below when ready.")
            return redirect("evidence:packs")
    recent = EvidencePack.objects.select_related("requested_by")[:RECENT]
    return render(request, "evidence/packs.html", {"form": form, "packs": recent})


@login_required
@require_GET
def pack_row(request, public_id):
    """One pack's row, polled while it is being built; polling stops once it is finished."""
    _auditors_only(request)
    pack = _pack_or_404(public_id)
    if not request.htmx:
        return redirect("evidence:packs")
    response = render(request, "evidence/packs.html#pack-row", {"pack": pack})
    return HttpResponseStopPolling(response.content) if pack.status in FINISHED else response


@login_required
@require_GET
def download(request, public_id):
    _auditors_only(request)
    pack = _pack_or_404(public_id)
    try:
        services.pack_downloaded(pack=pack, user=request.user)
    except PortalError as exc:
        messages.error(request, exc.message)
        return redirect("evidence:packs")
    return FileResponse(
        pack.file.open("rb"), as_attachment=True, filename=pack.filename, content_type="application/zip"
    )
