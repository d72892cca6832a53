"""A SailPoint simulator on loopback, the portal's OAuth client on it, and Jane connected."""

from __future__ import annotations

import pytest
from sailpoint_helpers import CLIENT_ID, CLIENT_SECRET, connect_identity

from helpers import make_persona
from requests_app.models import ProviderConnection
from requests_app.providers.sailpoint.simulator import SailPointSimulator


@pytest.fixture
def sailpoint():
    """Workflows provision and deprovision at once unless a test sets the delays."""
    sim = SailPointSimulator(activation_delay=0.0, deprovision_delay=0.0)
    sim.add_client(CLIENT_ID, CLIENT_SECRET)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def connection(sailpoint, db):
    return ProviderConnection.objects.create(
        name="SailPoint", kind="sailpoint", base_url=sailpoint.base_url, client_id=CLIENT_ID, secret=CLIENT_SECRET
    )


@pytest.fixture
def jane(db):
    return make_persona("jane@example.com", "employee", first_name="Jane")


@pytest.fixture
def jane_connection(sailpoint, jane):
    """An entitlement connection (admin on Jane's laptop) that belongs to Jane's identity."""
    return sailpoint.add_connection(identity=jane.email, entitlement="Local administrators on JANE-MBP")


@pytest.fixture
def jane_authorization(sailpoint, jane, connection):
    return connect_identity(sailpoint, jane, connection)


@pytest.fixture
def provider(connection, jane_authorization):
    return connection.provider
