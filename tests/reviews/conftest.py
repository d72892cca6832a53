from __future__ import annotations

from datetime import timedelta

import pytest

from requests_app.clock import now
from requests_app.lifecycle import State


@pytest.fixture
def ended(employee, device, make_elevation):
    """An elevation of `employee` that held admin and ended an hour ago."""

    def make(state=State.EXPIRED, **fields):
        ago = now() - timedelta(hours=1)
        values = {"activated_at": ago - timedelta(hours=1), "ended_at": ago, **fields}
        return make_elevation(employee, device, state=state, **values)

    return make
