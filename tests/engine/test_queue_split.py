"""Revokes and expiries first: a backlog of grants never delays a revoke (separate queues, workers)."""

import time

import pytest

from helpers import purge_broker, wait_for
from requests_app import services
from requests_app.lifecycle import State
from requests_app.models import DemoGrant, Elevation, User

pytestmark = pytest.mark.worker


def test_a_grant_backlog_does_not_delay_a_due_revoke(worker_factory, employee, device, make_device):
    worker_factory(queues="control,revoke,celery", threads=4)
    granter = worker_factory(queues="grant", threads=1)
    elevation = services.elevation_request(requester=employee, device=device, minutes=60, reason="first")
    wait_for(lambda: Elevation.objects.get(pk=elevation.pk).state == State.ACTIVE, 30, message="the first grant")

    # Now every grant takes 1.5 s, and ten of them queue up behind one granting thread (~15 s).
    device.connection.options = {"latency_ms": 1500}
    device.connection.save()
    backlog = []
    for n in range(10):
        person = User.objects.create_user(username=f"p{n}@example.com", email=f"p{n}@example.com")
        backlog.append(
            services.elevation_request(
                requester=person, device=make_device(person, hostname=f"host-{n}"), minutes=60, reason="backlog"
            )
        )
    time.sleep(0.5)
    started = time.monotonic()
    services.elevation_revoke(elevation=Elevation.objects.get(pk=elevation.pk), actor=employee)
    wait_for(lambda: Elevation.objects.get(pk=elevation.pk).state == State.REVOKED, 10, message="the revoke")
    took = time.monotonic() - started
    still_waiting = Elevation.objects.filter(pk__in=[e.pk for e in backlog]).exclude(state=State.ACTIVE).count()
    assert still_waiting >= 5, f"the backlog drained first ({took:.1f} s)"
    assert not DemoGrant.objects.filter(idempotency_key=str(elevation.public_id), revoked_at=None).exists()
    assert "Task requests_app.revoke[" not in granter.output(), "the grant worker never runs revokes"


def test_a_restarted_revoke_worker_takes_back_revokes_a_killed_one_left_in_flight(worker_factory, employee, device):
    """A worker killed mid-revoke leaves its row leased; the worker started in its place drives it
    at once rather than when the lease runs out."""
    from datetime import timedelta

    from requests_app import clock, execution

    elevation = services.elevation_request(requester=employee, device=device, minutes=60, reason="first")
    execution.grant_step(elevation.pk)
    services.elevation_revoke(elevation=Elevation.objects.get(pk=elevation.pk), actor=employee)
    # As a killed worker leaves it: claimed, leased for an hour, and its message gone.
    Elevation.objects.filter(pk=elevation.pk).update(next_attempt_at=clock.now() + timedelta(hours=1))
    purge_broker()
    assert Elevation.objects.get(pk=elevation.pk).state == State.REVOKING

    worker_factory(queues="revoke", threads=2)
    wait_for(lambda: Elevation.objects.get(pk=elevation.pk).state == State.REVOKED, 20, message="the revoke")
    assert not DemoGrant.objects.filter(idempotency_key=str(elevation.public_id), revoked_at=None).exists()
