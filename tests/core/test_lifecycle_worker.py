"""The whole lifecycle with a real worker and beat on PostgreSQL and Redis."""

from datetime import timedelta

import pytest

from helpers import reaches, wait_for
from requests_app import clock, services
from requests_app.lifecycle import State
from requests_app.models import DemoGrant

pytestmark = pytest.mark.worker
SWEEP_SECONDS = 1


def request_expiring_in(seconds, employee, device):
    """A one-minute elevation requested as if `60 - seconds` ago, so it expires `seconds` from now."""
    with clock.travel(timedelta(seconds=seconds - 60)):
        return services.elevation_request(requester=employee, device=device, minutes=1, reason="short fix")


def test_request_becomes_active_is_extended_and_revoked(worker_factory, employee, device):
    worker_factory(beat=True, sweep_seconds=SWEEP_SECONDS)
    elevation = services.elevation_request(requester=employee, device=device, minutes=60, reason="install drivers")
    reaches(elevation, State.ACTIVE)
    elevation.refresh_from_db()
    grant = DemoGrant.objects.get(reference=elevation.provider_ref)
    assert grant.expires_at == elevation.expires_at

    services.elevation_extend(elevation=elevation, actor=employee, minutes=15)
    wait_for(lambda: DemoGrant.objects.get(pk=grant.pk).expires_at == elevation.expires_at, message="extension")

    services.elevation_revoke(elevation=elevation, actor=employee)
    reaches(elevation, State.REVOKED)
    assert DemoGrant.objects.get(pk=grant.pk).revoked_at is not None
    assert DemoGrant.objects.filter(idempotency_key=str(elevation.public_id)).count() == 1


def test_an_elevation_expires_with_no_user_action(worker_factory, employee, device):
    worker_factory(beat=True, sweep_seconds=SWEEP_SECONDS)
    elevation = request_expiring_in(4, employee, device)
    reaches(elevation, State.ACTIVE)
    reaches(elevation, State.EXPIRED, timeout=30)
    elevation.refresh_from_db()
    assert DemoGrant.objects.get(reference=elevation.provider_ref).revoked_at is not None
    late = (elevation.ended_at - elevation.expires_at).total_seconds()
    assert late <= SWEEP_SECONDS + 3
