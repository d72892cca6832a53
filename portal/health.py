"""Liveness and readiness probes for load balancers and compose health checks."""

from __future__ import annotations

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from requests_app.selectors import sweep_heartbeat_age


@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return f"database unreachable: {type(exc).__name__}"
    return None


def _check_broker() -> str | None:
    from portal.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"broker unreachable: {type(exc).__name__}"
    return None


@require_GET
def readyz(request):
    failures = {name: err for name, err in (("database", _check_database()), ("broker", _check_broker())) if err}
    age = sweep_heartbeat_age() if "database" not in failures else None
    body = {
        "status": "fail" if failures else "ok",
        "checks": {name: failures.get(name, "ok") for name in ("database", "broker")},
        "sweep_heartbeat_age_seconds": age,
        "sweep_stale": age is None or age > _stale_after(),
    }
    return JsonResponse(body, status=503 if failures else 200)


def _stale_after() -> int:
    from django.conf import settings

    return settings.ELEVATE_HEARTBEAT_STALE_SECONDS
