"""The audit dashboard and export: auditors and admins (requests_app.view_audit), read-only."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from requests_app import fragments
from requests_app.auditing import export as exports
from requests_app.auditing import selectors, stats, verify
from requests_app.auditing.filters import AuditFilterForm, provider_options
from requests_app.parsing import whole_number

PARTIALS = {"audit-results", "audit-events"}


def audit_viewer_required(view):
    """Auditors and admins only; everyone else gets a 404, as if the page did not exist."""

    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        if not request.user.has_perm("requests_app.view_audit"):
            raise Http404("No such page.")
        return view(request, *args, **kwargs)

    return wrapped


def _cursor(request, name: str) -> int | None:
    return whole_number(request.GET.get(name))


@audit_viewer_required
@require_http_methods(["GET"])
def dashboard(request):
    form = AuditFilterForm(request.GET)
    target = request.htmx.target if request.htmx and request.htmx.target in PARTIALS else None
    context = {"form": form, "chain": verify.chain_status(), "providers": provider_options()}
    if form.is_valid():
        filters = form.filters()
        page = selectors.events_page(filters, before=_cursor(request, "before"), after=_cursor(request, "after"))
        rows = fragments.cached_rows(
            "auditing/dashboard.html#audit-event", page.rows, key=lambda row: row["hash"], load=selectors.event_rows
        )
        context |= {"page": page, "rows": rows, "query": urlencode(filters.query), "filters": filters}
        if target != "audit-events":
            context["summary_html"] = _summary_html(filters)
    template = "auditing/dashboard.html" + (f"#{target}" if target else "")
    return render(request, template, context)


def _summary_html(filters) -> str:
    """The summary section, rendered: cached with its figures (same minute, zone and filters), as
    its tables and chart took longer to render than the rest of the page. It holds nothing
    about the viewer, so every auditor gets the same copy."""
    key = f"{stats.summary_key(filters)}:html"
    html = cache.get(key)
    if html is None:
        context = {"summary": stats.compute_summary(filters), "filters": filters}
        html = render_to_string("auditing/dashboard.html#audit-summary", context)
        cache.set(key, str(html), stats.cache_seconds())
    return mark_safe(html)  # noqa: S308 (our own template's output, cached as a string)


@audit_viewer_required
@require_http_methods(["GET"])
def export(request, format: str):
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(
            "Check the filters: " + "; ".join(e for errs in form.errors.values() for e in errs)
        )
    started = exports.export_start(filters=form.filters(), format=format)
    response = StreamingHttpResponse(started.stream(), content_type=started.content_type)
    response["Content-Disposition"] = f'attachment; filename="{started.filename}"'
    response["X-Audit-Chain-Head"] = f"{started.head_seq} {started.head_hash}"
    return response
