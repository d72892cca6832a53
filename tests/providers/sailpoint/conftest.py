"""A SailPoint simulator on loopback, with one API client the tests sign in as."""

from __future__ import annotations

import pytest
from sailpoint_helpers import CLIENT_ID, CLIENT_SECRET

from requests_app.providers.sailpoint.client import clear_token_cache
from requests_app.providers.sailpoint.simulator import SailPointSimulator


@pytest.fixture
def sailpoint():
    """Workflows provision and deprovision at once unless a test sets the delays."""
    clear_token_cache()
    sim = SailPointSimulator(activation_delay=0.0, deprovision_delay=0.0)
    sim.add_client(CLIENT_ID, CLIENT_SECRET)
    sim.start()
    yield sim
    sim.stop()
    clear_token_cache()
