"""`/metrics` in Prometheus text format, for operators.

Gathered at scrape time: elevations by state from PostgreSQL, the grant / revoke / expiry
latency histograms and provider calls from Redis (counters.py, written by every process),
the provider connections' back-off from the gate, queue depths from the broker and the time
since the last sweep. Open to staff with the audit permission, or to a scraper presenting
`Authorization: Bearer $ELEVATE_METRICS_TOKEN`.
"""

from __future__ import annotations

import hmac
import logging

import redis
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import CounterMetricFamily

from requests_app import counters
from requests_app.lifecycle import State
from requests_app.models import Elevation
from requests_app.permissions import VIEW_AUDIT
from requests_app.providers import gate
from requests_app.selectors import sweep_heartbeat_age

log = logging.getLogger(__name__)

HISTOGRAMS = {
    "grant_seconds": "From the moment an elevation may start to the grant confirmed by the provider.",
    "revoke_seconds": "From a person's revoke to the provider's confirmation.",
    "expiry_lateness_seconds": "How long after its expiry an elevation ended at the provider.",
    "provider_call_seconds": "Duration of provider HTTP calls that got an answer.",
}


class PortalCollector:
    """Reads every figure fresh on each scrape (no state kept in the web process)."""

    def collect(self):
        by_state = GaugeMetricFamily("elevate_elevations", "Elevations by lifecycle state.", labels=["state"])
        counts = dict(Elevation.objects.order_by().values_list("state").annotate(n=Count("pk")))
        for state in State:
            by_state.add_metric([state.value], counts.get(state.value, 0))
        yield by_state
        age = sweep_heartbeat_age()
        sweep = GaugeMetricFamily("elevate_seconds_since_last_sweep", "Seconds since the sweep last ran.")
        sweep.add_metric([], age if age is not None else float("nan"))
        yield sweep
        try:
            yield from self._from_redis()
        except redis.RedisError as exc:
            log.warning("metrics: Redis unavailable (%s)", exc)

    def _from_redis(self):
        for name, help_text in HISTOGRAMS.items():
            buckets, total = counters.read_histogram(name)
            family = HistogramMetricFamily(f"elevate_{name}", help_text)
            family.add_metric([], buckets, total)
            yield family
        calls = CounterMetricFamily(
            "elevate_provider_calls", "Provider calls by connection and answer.", labels=["connection", "status"]
        )
        for (connection, status), value in sorted(counters.read_provider_calls().items()):
            calls.add_metric([connection, status], value)
        yield calls
        paused = GaugeMetricFamily(
            "elevate_provider_paused_seconds", "Seconds left of a connection's back-off.", labels=["connection"]
        )
        for connection, seconds in sorted(gate.paused_connections().items()):
            paused.add_metric([connection], seconds)
        yield paused
        depth = GaugeMetricFamily("elevate_queue_depth", "Messages waiting in each Celery queue.", labels=["queue"])
        broker = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=0.5, socket_connect_timeout=0.5)
        for queue in settings.ELEVATE_QUEUES:
            depth.add_metric([queue], broker.llen(queue))
        yield depth


def _allowed(request) -> bool:
    token = settings.ELEVATE_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header.removeprefix("Bearer "), token):
        return True
    return request.user.is_authenticated and request.user.has_perm(VIEW_AUDIT)


@require_GET
def metrics_view(request):
    if not _allowed(request):
        raise PermissionDenied("Metrics are for staff with the audit permission, or the metrics token.")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PortalCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
