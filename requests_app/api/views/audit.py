"""Audit events (the dashboard's filters, keyset pages) and the export streams."""

from __future__ import annotations

from django.http import Http404, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response

from requests_app.api.base import ApiView
from requests_app.api.problems import refuse_unless_valid
from requests_app.api.scopes import AUDIT
from requests_app.api.serializers import AuditPageSerializer
from requests_app.auditing import export as exports
from requests_app.auditing import selectors
from requests_app.auditing.filters import AuditFilterForm
from requests_app.states import State

FILTERS = [
    OpenApiParameter("user", str, description="Whose elevation or account (e-mail)"),
    OpenApiParameter("device", str, description="Device hostname"),
    OpenApiParameter("actor", str, description="Actor e-mail, or worker / system"),
    OpenApiParameter("action", str, description="Exact action, or a prefix ending in . or *"),
    OpenApiParameter("provider", OpenApiTypes.UUID, description="Provider connection id"),
    OpenApiParameter("state", str, enum=State.values, description="Elevation state"),
    OpenApiParameter("elevation", OpenApiTypes.UUID, description="One elevation's id"),
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="First day (UTC); default 30 days ago"),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="Last day (UTC); default today"),
]
CURSORS = [
    OpenApiParameter("before", int, description="Older than this seq (the page's `older`)"),
    OpenApiParameter("after", int, description="Newer than this seq (the page's `newer`)"),
]


def _filters(request):
    form = AuditFilterForm(request.query_params)
    refuse_unless_valid(form)
    return form.filters()


def _cursor(request, name: str) -> int | None:
    value = request.query_params.get(name, "")
    return int(value) if value.isdigit() else None


@extend_schema(
    summary="Audit events, newest first, 25 a page", parameters=[*FILTERS, *CURSORS], responses=AuditPageSerializer
)
class AuditEvents(ApiView):
    required_scope = AUDIT

    def get(self, request):
        filters = _filters(request)
        page = selectors.events_page(filters, before=_cursor(request, "before"), after=_cursor(request, "after"))
        body = {"events": selectors.event_rows(page.rows), "older": page.older, "newer": page.newer}
        return Response(AuditPageSerializer(body).data)


@extend_schema(
    summary="Export the filtered events (CSV or JSON Lines, with the chain head at the end)",
    parameters=FILTERS,
    responses={
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR),
        (200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.STR),
    },
)
class AuditExport(ApiView):
    required_scope = AUDIT

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)  # the stream is not JSON

    def get(self, request, format: str):
        if format not in exports.FORMATS:
            raise Http404("Export as .csv or .jsonl.")
        started = exports.export_start(filters=_filters(request), format=format)
        response = StreamingHttpResponse(started.stream(), content_type=started.content_type)
        response["Content-Disposition"] = f'attachment; filename="{started.filename}"'
        response["X-Audit-Chain-Head"] = f"{started.head_seq} {started.head_hash}"
        return response
