"""Reads for the audit dashboard: the filtered events, a keyset page of them, the chain status.

Pages go newest first by seq with a keyset cursor (`before`/`after` a seq), so page 5,000 costs
what page 1 does; each filter has an index ending in seq (see AuditEvent.Meta.indexes), and the
elevation-level filters (user, device, provider, state) become one `elevation_id IN (...)`
subquery on Elevation's own indexes.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from requests_app.auditing.filters import AuditFilters
from requests_app.auditing.verify import HASHED_FIELDS
from requests_app.models import AuditEvent, Elevation

# 25 events a page: each row (with its hidden details) is as much template work as the summary.
PAGE_SIZE = 25
ROW_FIELDS = (*HASHED_FIELDS, "elevation__public_id")
# A page is found by seq and shown by hash: rows are rendered from ROW_FIELDS only when their
# HTML is not cached under their hash (row_cache.audit_rows).
PAGE_FIELDS = ("seq", "hash")


def elevations_matching(filters: AuditFilters) -> QuerySet[Elevation]:
    """Elevations by the elevation-level filters (no date range: each statistic applies its own)."""
    queryset = Elevation.objects.all()
    if filters.user is not None:
        queryset = queryset.filter(beneficiary=filters.user)
    if filters.device_ids:
        queryset = queryset.filter(device_id__in=filters.device_ids)
    if filters.provider is not None:
        queryset = queryset.filter(connection=filters.provider)
    if filters.state:
        queryset = queryset.filter(state=filters.state)
    if filters.elevation is not None:
        queryset = queryset.filter(pk=filters.elevation.pk)
    return queryset


def _has_elevation_filter(filters: AuditFilters) -> bool:
    return bool(filters.user or filters.device_ids or filters.provider or filters.state or filters.elevation)


def events_matching(filters: AuditFilters) -> QuerySet[AuditEvent]:
    queryset = AuditEvent.objects.filter(at__gte=filters.start, at__lt=filters.end)
    if filters.action.endswith((".", "*")):
        queryset = queryset.filter(action__startswith=filters.action.rstrip("*"))
    elif filters.action:
        queryset = queryset.filter(action=filters.action)
    if filters.actor is not None:
        queryset = queryset.filter(actor_id=filters.actor.pk)
    elif filters.actor_label:
        queryset = queryset.filter(actor_label__iexact=filters.actor_label)
    if _has_elevation_filter(filters):
        about = Q(elevation_id__in=_elevation_ids(filters))
        # Events about the user or the connection themselves (sign-ins, role and config changes).
        only = {k for k in ("user", "provider", "device_ids", "state", "elevation") if getattr(filters, k)}
        if only == {"user"} and filters.user is not None:
            about |= Q(target_type="user", target_id=str(filters.user.pk))
        elif only == {"provider"} and filters.provider is not None:
            about |= Q(target_type="providerconnection", target_id=str(filters.provider.public_id))
        queryset = queryset.filter(about)
    return queryset


def _elevation_ids(filters: AuditFilters, limit: int = 2000):
    """The matching elevations' ids as a list when there are few (PostgreSQL then reads the
    (elevation, seq) index for each, instead of walking the whole seq index through a hashed
    subplan), else the subquery."""
    queryset = elevations_matching(filters).order_by().values_list("pk", flat=True)
    ids = list(queryset[: limit + 1])
    return ids if len(ids) <= limit else queryset


@dataclass(frozen=True)
class EventsPage:
    rows: list[dict]
    older: int | None  # pass as ?before= for the next (older) page
    newer: int | None  # pass as ?after= for the previous (newer) page


def events_page(filters: AuditFilters, *, before: int | None = None, after: int | None = None) -> EventsPage:
    """One page, newest first: before a seq (older), after a seq (newer), or the newest page.
    Its rows hold PAGE_FIELDS; event_rows() has the rest."""
    queryset = events_matching(filters).values(*PAGE_FIELDS)
    if after is not None:
        rows = list(queryset.filter(seq__gt=after).order_by("seq")[: PAGE_SIZE + 1])
        more_newer = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE][::-1]
        return EventsPage(rows, rows[-1]["seq"] if rows else None, rows[0]["seq"] if rows and more_newer else None)
    if before is not None:
        queryset = queryset.filter(seq__lt=before)
    rows = list(queryset.order_by("-seq")[: PAGE_SIZE + 1])
    more_older = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return EventsPage(
        rows, rows[-1]["seq"] if rows and more_older else None, rows[0]["seq"] if rows and before else None
    )


def event_rows(page_rows: list[dict]) -> list[dict]:
    """ROW_FIELDS of the events of `page_rows` (dicts with a seq), in their order."""
    by_seq = {
        row["seq"]: row for row in AuditEvent.objects.filter(seq__in=[r["seq"] for r in page_rows]).values(*ROW_FIELDS)
    }
    return [by_seq[row["seq"]] for row in page_rows]
