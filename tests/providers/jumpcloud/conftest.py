"""Fixtures for the JumpCloud connector: a simulator on loopback, seeded, and providers on it."""

from __future__ import annotations

import types
from datetime import UTC, datetime, timedelta

import pytest

from requests_app.providers.base import GrantRequest
from requests_app.providers.jumpcloud.provider import (
    JumpCloudDeviceProvider,
    JumpCloudGroupProvider,
)
from requests_app.providers.jumpcloud.simulator import JumpCloudSimulator

API_KEY = "test-api-key"
ORG_ID = "5f0c1d2e3f4a5b6c7d8e9f00"


@pytest.fixture(scope="session")
def jumpcloud_server():
    sim = JumpCloudSimulator(api_key=API_KEY, read_only_keys={"read-only-key"}, org_id=ORG_ID)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def jumpcloud(jumpcloud_server):
    """The running simulator, emptied and with its constructor settings back for each test."""
    jumpcloud_server.reset()
    yield jumpcloud_server
    jumpcloud_server.reset()


@pytest.fixture
def org(jumpcloud):
    """Jane with a Mac and a Windows laptop; Bob who gets sudo on a server through a group."""
    jane = jumpcloud.add_user("jane@example.com")
    mac = jumpcloud.add_system("JANE-MBP")
    windows = jumpcloud.add_system("JANE-WIN", os="Windows", os_family="windows")
    jumpcloud.bind(jane, mac)
    jumpcloud.bind(jane, windows)
    bob = jumpcloud.add_user("bob@example.com")
    server = jumpcloud.add_system("build-01", os="Ubuntu", os_family="linux")
    servers = jumpcloud.add_system_group("linux-servers", [server])
    admins = jumpcloud.add_group(
        "server-admins",
        members=[bob],
        attributes={"sudo": {"enabled": True, "withoutPassword": False}},
    )
    jumpcloud.associate(admins, "system_group", servers)
    return types.SimpleNamespace(
        jane=jane, mac=mac, windows=windows, bob=bob, server=server, servers=servers, admins=admins
    )


def _connection(simulator, *, kind="jumpcloud", secret=API_KEY, org_id=ORG_ID, **options):
    return types.SimpleNamespace(
        kind=kind,
        name="JumpCloud test org",
        base_url=simulator.base_url,
        org_id=org_id,
        client_id="",
        secret=secret,
        options=options,
    )


@pytest.fixture
def device_provider(jumpcloud):
    return JumpCloudDeviceProvider(_connection(jumpcloud, timeout=2))


@pytest.fixture
def group_provider(jumpcloud):
    return JumpCloudGroupProvider(_connection(jumpcloud, kind="jumpcloud_group", timeout=2))


def _device_request(user_id, device_id, *, minutes=60, key="e1e1e1e1-0000-4000-8000-000000000001"):
    return GrantRequest(
        idempotency_key=key,
        user_external_id=user_id,
        target_external_id=device_id,
        target_kind="device",
        expires_at=datetime.now(UTC) + timedelta(minutes=minutes),
        reason="install a printer driver",
    )


def _group_request(group_id, *, device_group_id="", minutes=60, without_password=False):
    return GrantRequest(
        idempotency_key="e1e1e1e1-0000-4000-8000-0000000000g1",
        user_external_id="",
        target_external_id=group_id,
        target_kind="user_group",
        expires_at=datetime.now(UTC) + timedelta(minutes=minutes),
        reason="incident 42: patch the build servers",
        without_password=without_password,
        options={"device_group_id": device_group_id} if device_group_id else {},
    )


@pytest.fixture
def make_connection():
    """Build a connection stand-in: make_connection(simulator, secret=..., timeout=...)."""
    return _connection


@pytest.fixture
def device_request():
    """Build a device GrantRequest: device_request(user_id, device_id, minutes=60)."""
    return _device_request


@pytest.fixture
def group_request():
    """Build a group GrantRequest: group_request(group_id, device_group_id="")."""
    return _group_request
