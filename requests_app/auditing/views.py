"""The audit dashboard and export: auditors and admins (requests_app.view_audit), read-only."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.cache import cache
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from requests_app.auditing import export as exports
from requests_app.auditing import selectors, stats, verify
from requests_app.auditing.filters import AuditFilterForm, provider_options
from requests_app.auditing.row_cache import audit_rows
from requests_app.parsing import whole_number
from requests_app.permissions import VIEW_AUDIT, role_required

PARTIALS = {"audit-results", "audit-events"}


# Auditors and admins only; everyone else gets 403, as on every role's pages.
audit_viewer_required = role_required(VIEW_AUDIT)


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
        rows = audit_rows(page.rows, load=selectors.event_rows)
        context |= {"page": page, "rows": rows, "query": urlencode(filters.query), "filters": filters}
        if target != "audit-events":
            context["summary"] = _summary(filters)
    template = "auditing/dashboard.html" + (f"#{target}" if target else "")
    return render(request, template, context)


def _summary(filters) -> stats.Summary:
    """The summary's figures, cached for the minute (same zone and filters): they aggregate whole
    tables. Figures, not HTML: every view renders them with the page."""
    key = stats.summary_key(filters)
    summary = cache.get(key)
    if summary is None:
        summary = stats.compute_summary(filters)
        cache.set(key, summary, stats.cache_seconds())
    return summary


@audit_viewer_required
@require_http_methods(["GET"])
def export(request, format: str):
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(
            "Check the filters: " + "; ".join(str(e) for errs in form.errors.values() for e in errs)
        )
    started = exports.export_start(filters=form.filters(), format=format)
    response = StreamingHttpResponse(started.stream(), content_type=started.content_type)
    response["Content-Disposition"] = f'attachment; filename="{started.filename}"'
    response["X-Audit-Chain-Head"] = f"{started.head_seq} {started.head_hash}"
    return response
