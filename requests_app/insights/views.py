"""Reason insights, loaded into the audit dashboard (htmx) or shown on their own."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_GET

from requests_app.auditing.filters import AuditFilterForm
from requests_app.auditing.views import audit_viewer_required
from requests_app.insights import reasons, selectors


@audit_viewer_required
@require_GET
def reason_insights(request):
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(
            "Check the filters: " + "; ".join(e for errs in form.errors.values() for e in errs)
        )
    filters = form.filters()
    context = {
        "insights": selectors.cached(filters),
        "filters": filters,
        "kinds": [(name, sorted(keywords)) for name, keywords in reasons.KINDS],
        "query": urlencode(filters.query),
    }
    template = "insights/reasons.html" + ("#reason-insights" if request.htmx else "")
    return render(request, template, context)
