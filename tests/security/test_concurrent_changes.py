"""Parallel changes of one elevation on PostgreSQL: the policy's caps hold and every audit event
describes a committed row (issue 17, item 3: 10 parallel extends once gave 10 successes)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from requests_app.lifecycle import State
from requests_app.models import AuditEvent, Elevation

PARALLEL = 10


def _in_parallel(user, post) -> list[int]:
    """Run `post(client)` from PARALLEL threads at once, each with its own database connection."""
    start = threading.Barrier(PARALLEL)

    def one(_):
        client = Client()
        client.force_login(user)
        start.wait()
        try:
            return post(client).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(one, range(PARALLEL)))


@pytest.mark.django_db(transaction=True)
def test_parallel_extends_of_one_elevation_stop_at_the_policys_extension_limit(employee, device, make_elevation):
    elevation = make_elevation(employee, device, State.ACTIVE, minutes=60)
    url = f"/elevations/{elevation.public_id}/extend/"

    statuses = _in_parallel(employee, lambda client: client.post(url, {"minutes": "60"}))

    assert all(status < 500 for status in statuses), statuses
    elevation.refresh_from_db()
    assert elevation.extensions == 2  # the default policy allows two
    assert elevation.total_minutes == 60 + 2 * 60
    extended = AuditEvent.objects.filter(elevation=elevation, action="elevation.extended")
    assert extended.count() == elevation.extensions
    assert sorted(e.after["extensions"] for e in extended) == [1, 2]


@pytest.mark.django_db(transaction=True)
def test_parallel_identical_requests_give_one_elevation_within_the_policys_caps(employee, device):
    form = {"device": str(device.public_id), "minutes": "60", "reason": "install a debugger"}

    statuses = _in_parallel(employee, lambda client: client.post("/request/", form))

    assert all(status < 500 for status in statuses), statuses
    elevation = Elevation.objects.get(beneficiary=employee)
    assert elevation.extensions <= 2
    assert elevation.total_minutes == 60 * (1 + elevation.extensions)
    extended = AuditEvent.objects.filter(elevation=elevation, action="elevation.extended").count()
    assert extended == elevation.extensions
    assert AuditEvent.objects.filter(elevation=elevation, action="elevation.requested").count() == 1
