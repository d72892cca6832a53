"""A worker keeps its database connection across tasks (Django's CONN_MAX_AGE), instead of
Celery's default of a fresh connection before every task."""

import pytest
from django.db import connection

from helpers import wait_for
from requests_app import services
from requests_app.lifecycle import State
from requests_app.models import Elevation

pytestmark = pytest.mark.worker


def sessions_opened() -> int:
    """Connections ever made to this database (PostgreSQL counts them; a new one per task before)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def test_grants_in_a_row_reuse_the_workers_connections(worker, employee, make_device, default_policy):
    if connection.vendor != "postgresql":
        pytest.skip("counts PostgreSQL sessions")
    first = services.elevation_request(requester=employee, device=make_device(employee), minutes=60, reason="warm up")
    wait_for(lambda: Elevation.objects.get(pk=first.pk).state == State.ACTIVE, 30, message="the first grant")
    opened = sessions_opened()
    for n in range(6):
        elevation = services.elevation_request(
            requester=employee, device=make_device(employee), minutes=60, reason=f"grant {n}"
        )
        wait_for(lambda e=elevation: Elevation.objects.get(pk=e.pk).state == State.ACTIVE, 30, message="a grant")
    # At most one more per pool process (the other one may not have run a task yet).
    assert sessions_opened() - opened <= 2
