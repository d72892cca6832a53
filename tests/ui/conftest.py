"""Factories for the portal's view tests: elevations in any state, htmx clients."""

from __future__ import annotations

from datetime import timedelta

import pytest

from requests_app.clock import now
from requests_app.lifecycle import State
from requests_app.models import Elevation

ENDED_STATES = {State.REVOKED, State.EXPIRED, State.DENIED, State.CANCELLED, State.FAILED}


@pytest.fixture
def make_elevation(default_policy):
    """An elevation put straight into `state` (views only read it; the lifecycle has its own tests)."""

    def make(user, device, state=State.ACTIVE, minutes=60, **fields) -> Elevation:
        current = now()
        values = {
            "requester": user,
            "beneficiary": user,
            "connection": device.connection,
            "device": device,
            "target_label": device.hostname,
            "policy": default_policy,
            "reason": "Install the printer driver",
            "requested_minutes": minutes,
            "total_minutes": minutes,
            "starts_at": current - timedelta(minutes=5),
            "expires_at": current + timedelta(minutes=minutes - 5),
            "state": state,
            "created_at": current - timedelta(minutes=5),
            "updated_at": current,
        }
        if state == State.ACTIVE:
            values["activated_at"] = current - timedelta(minutes=5)
        if state in ENDED_STATES:
            values["ended_at"] = current
        values.update(fields)
        return Elevation.objects.create(**values)

    return make


@pytest.fixture
def hx():
    """Headers of an htmx request aimed at the element with id `target`."""

    def headers(target: str = "") -> dict:
        return {"HTTP_HX_REQUEST": "true", **({"HTTP_HX_TARGET": target} if target else {})}

    return headers
