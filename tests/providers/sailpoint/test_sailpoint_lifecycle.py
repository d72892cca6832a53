"""The portal's lifecycle (services, execution steps, sweep) against the SailPoint simulator.

Steps are driven in-process, one call at a time, so each asynchronous stage (202 accepted,
workflow still CREATING, PROVISIONED, COMPLETED on its own) is seen where it happens.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sailpoint_helpers import connect_identity

from helpers import state_of
from requests_app import clock, execution, services
from requests_app.devices import sync_user_devices
from requests_app.lifecycle import State
from requests_app.models import Device, Elevation
from requests_app.providers.sailpoint.provider import ActivationReference

pytestmark = pytest.mark.django_db


@pytest.fixture
def laptop(sailpoint, connection, employee, default_policy):
    """Erin's admin entitlement on her laptop, found by the device sync once she connected."""
    sailpoint.add_connection(identity=employee.email, entitlement="Local administrators on ERIN-MBP")
    connect_identity(sailpoint, employee, connection)
    sync_user_devices(user=employee, connection=connection)
    return Device.objects.get(connection=connection, users=employee)


def quietly(django_capture_on_commit_callbacks, service, **kwargs):
    with django_capture_on_commit_callbacks(execute=False):
        return service(**kwargs)


def grant_until_active(elevation) -> None:
    """Accepted (202, still CREATING), then confirmed on the next poll."""
    for _ in range(3):
        if execution.grant_step(elevation.pk) is None:
            break
    assert state_of(elevation) == State.ACTIVE, elevation.last_error


def activation(sailpoint, elevation):
    elevation.refresh_from_db()
    activation_id = ActivationReference.parse(elevation.provider_ref).activation_id
    return next(a for a in sailpoint.activations if a["activationId"] == activation_id)


def test_grant_stays_granting_until_the_workflow_provisions(
    sailpoint, laptop, employee, django_capture_on_commit_callbacks
):
    sailpoint.activation_delay = 30.0
    elevation = quietly(
        django_capture_on_commit_callbacks, services.elevation_request,
        requester=employee, device=laptop, minutes=60, reason="install a printer driver",
    )  # fmt: skip

    assert execution.grant_step(elevation.pk) == execution.CONFIRM_POLL.total_seconds()
    assert state_of(elevation) == State.GRANTING
    assert execution.grant_step(elevation.pk) is not None  # still CREATING: poll again
    assert len(sailpoint.activations) == 1  # polling never activates twice

    sailpoint.advance(31)
    assert execution.grant_step(elevation.pk) is None
    assert state_of(elevation) == State.ACTIVE
    assert activation(sailpoint, elevation)["periodMins"] == 60


def test_two_extensions_each_add_only_their_minutes(sailpoint, laptop, employee, django_capture_on_commit_callbacks):
    elevation = quietly(
        django_capture_on_commit_callbacks, services.elevation_request,
        requester=employee, device=laptop, minutes=60, reason="install a printer driver",
    )  # fmt: skip
    grant_until_active(elevation)

    for expected in (75, 90):
        quietly(django_capture_on_commit_callbacks, services.elevation_extend, elevation=elevation, actor=employee,
                minutes=15)  # fmt: skip
        assert execution.sync_expiry_step(elevation.pk) is None
        assert activation(sailpoint, elevation)["periodMins"] == expected
    elevation.refresh_from_db()
    ends_at = ActivationReference.parse(elevation.provider_ref).ends_at
    assert ends_at >= elevation.expires_at - timedelta(seconds=1)
    assert elevation.provider_expires_at == ends_at  # what SailPoint holds, not what was asked


def test_an_activation_that_ends_after_the_elevation_is_deactivated_at_expiry(
    sailpoint, laptop, employee, django_capture_on_commit_callbacks
):
    """SailPoint counts whole minutes from its own start, so it may hold the grant a little past
    the elevation's end: the expiry then deactivates it rather than trusting SailPoint to end it."""
    elevation = quietly(
        django_capture_on_commit_callbacks, services.elevation_request,
        requester=employee, device=laptop, minutes=15, reason="install a printer driver",
    )  # fmt: skip
    grant_until_active(elevation)
    elevation.refresh_from_db()
    later = elevation.provider_expires_at + timedelta(seconds=40)
    Elevation.objects.filter(pk=elevation.pk).update(provider_expires_at=later)

    clock.set_offset(elevation.expires_at - clock.now() + timedelta(seconds=1))
    assert execution.revoke_step(elevation.pk) is None
    assert state_of(elevation) == State.EXPIRED
    assert len(sailpoint.calls("POST", "/deactivate$")) == 1


def test_early_revoke_deactivates_the_workflow(sailpoint, laptop, employee, django_capture_on_commit_callbacks):
    elevation = quietly(
        django_capture_on_commit_callbacks, services.elevation_request,
        requester=employee, device=laptop, minutes=60, reason="install a printer driver",
    )  # fmt: skip
    grant_until_active(elevation)

    quietly(django_capture_on_commit_callbacks, services.elevation_revoke, elevation=elevation, actor=employee,
            reason="done")  # fmt: skip
    sailpoint.add_fault(method="POST", path="/deactivate$", status=429, retry_after="1")
    # Rate-limited once: the step waits out Retry-After in place, then deactivates.
    assert execution.revoke_step(elevation.pk) is None
    assert sailpoint.calls_inside_retry_after() == 0

    assert state_of(elevation) == State.REVOKED
    assert sailpoint.workflow_status(activation(sailpoint, elevation)) == "REVOKED"


def test_workflow_completing_on_its_own_ends_as_expired(
    sailpoint, laptop, employee, django_capture_on_commit_callbacks
):
    elevation = quietly(
        django_capture_on_commit_callbacks, services.elevation_request,
        requester=employee, device=laptop, minutes=15, reason="install a printer driver",
    )  # fmt: skip
    grant_until_active(elevation)

    sailpoint.advance(16 * 60)
    clock.set_offset(timedelta(minutes=16))
    assert elevation.pk in execution.due_work(clock.now())["revoke"]
    assert execution.revoke_step(elevation.pk) is None

    assert state_of(elevation) == State.EXPIRED
    assert sailpoint.workflow_status(activation(sailpoint, elevation)) == "COMPLETED"
    assert sailpoint.calls("POST", "/deactivate$") == []  # nothing left to deactivate


def test_failing_workflow_fails_the_elevation_without_retrying(
    sailpoint, connection, employee, default_policy, django_capture_on_commit_callbacks
):
    broken = sailpoint.add_connection(identity=employee.email, fail_with="Source is in maintenance")
    connect_identity(sailpoint, employee, connection)
    device = Device.objects.create(connection=connection, external_id=broken, hostname="ERIN-OLD")
    device.users.add(employee)
    elevation = quietly(
        django_capture_on_commit_callbacks, services.elevation_request,
        requester=employee, device=device, minutes=60, reason="install a printer driver",
    )  # fmt: skip

    assert execution.grant_step(elevation.pk) is not None  # accepted, not yet confirmed
    assert execution.grant_step(elevation.pk) is None
    # It was accepted, so it is looked for and removed before the row fails.
    assert state_of(elevation) == State.REVOKING
    assert execution.revoke_step(elevation.pk) is None

    assert state_of(elevation) == State.FAILED
    assert "Source is in maintenance" in Elevation.objects.get(pk=elevation.pk).last_error
    assert len(sailpoint.activations) == 1
