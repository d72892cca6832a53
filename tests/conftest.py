"""Personas, factories and a real Celery worker for the tests.

Personas (`employee`, `approver`, `helpdesk`, `auditor`, `admin`, `outsider`) are users in the
portal's role groups; `<persona>_client` is a Django test client signed in as them.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.db.backends.signals import connection_created
from django.dispatch import receiver

from helpers import WorkerProcess, make_persona, purge_broker, watch_csp_violations
from requests_app import clock
from requests_app.clock import now
from requests_app.lifecycle import State
from requests_app.models import Device, Elevation, Policy, ProviderConnection
from requests_app.roles import ROLES

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "var" / "test-artifacts"


# ---------------------------------------------------------------------------------------------
# Speed: the personas' passwords need no slow hashing in tests
# ---------------------------------------------------------------------------------------------
@pytest.fixture(autouse=True, scope="session")
def _fast_password_hasher():
    from django.conf import settings
    from django.contrib.auth.hashers import get_hashers, get_hashers_by_algorithm

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    get_hashers.cache_clear()
    get_hashers_by_algorithm.cache_clear()


# ---------------------------------------------------------------------------------------------
# Django empties every table between transactional tests (TRUNCATE); the audit tables refuse
# that unless their owner's session allows it (migration 0004). Only the tests do.
# ---------------------------------------------------------------------------------------------
@receiver(connection_created)
def _allow_flushing_audit_tables(sender, connection, **kwargs):
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET elevate.allow_audit_truncate = 'on'")


# ---------------------------------------------------------------------------------------------
# Playwright drives Debian's chromium (never a downloaded browser)
# ---------------------------------------------------------------------------------------------
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # this machine's network is closed: no background calls
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def context(context):
    """pytest-playwright's context, failing the test on any Content-Security-Policy violation."""
    violations = watch_csp_violations(context)
    yield context
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)


@pytest.fixture(scope="session")
def browser_context_args():
    # Not built on the plugin's own: that one asks for a `device` fixture (an emulated phone),
    # a name this conftest uses for a Device.
    return {"viewport": {"width": 1280, "height": 900}, "locale": "en-US"}


# ---------------------------------------------------------------------------------------------
# Clock
# ---------------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _reset_clock():
    yield
    clock.set_offset(timedelta(0))
    clock.freeze(None)


@pytest.fixture(autouse=True)
def _fresh_provider_gate():
    """Each test starts with no connection paused: the simulators are shared between tests, and a
    429 one test injects must not pause the next test's calls."""
    from requests_app.providers import gate

    gate.forget_pauses()
    yield
    gate.forget_pauses()


# ---------------------------------------------------------------------------------------------
# Personas
# ---------------------------------------------------------------------------------------------
make_user = make_persona


@pytest.fixture
def employee(db):
    return make_user("erin@example.com", "employee", first_name="Erin", timezone="Europe/Berlin")


@pytest.fixture
def approver(db):
    return make_user("avery@example.com", "employee", "approver", first_name="Avery")


@pytest.fixture
def helpdesk(db):
    return make_user("harper@example.com", "employee", "helpdesk", first_name="Harper")


@pytest.fixture
def auditor(db):
    return make_user("alex@example.com", "auditor", first_name="Alex")


@pytest.fixture
def admin(db):
    return make_user("ada@example.com", *ROLES, first_name="Ada", is_staff=True, is_superuser=True)


@pytest.fixture
def outsider(db):
    return make_user("oscar@example.com", "employee", first_name="Oscar")


def _signed_in(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def give_mfa(user):
    """A second factor (TOTP), which the staff roles need before they act (requests_app/auth/mfa.py)."""
    TOTP.activate(user, generate_totp_secret())
    return user


@pytest.fixture
def staff_mfa(helpdesk, admin):
    """Helpdesk and admin have MFA set up."""
    give_mfa(helpdesk)
    give_mfa(admin)


@pytest.fixture
def with_mfa():
    return give_mfa


@pytest.fixture
def employee_client(employee):
    return _signed_in(employee)


@pytest.fixture
def approver_client(approver):
    return _signed_in(approver)


@pytest.fixture
def helpdesk_client(helpdesk):
    return _signed_in(helpdesk)


@pytest.fixture
def auditor_client(auditor):
    return _signed_in(auditor)


@pytest.fixture
def admin_client(admin):
    return _signed_in(admin)


@pytest.fixture
def outsider_client(outsider):
    return _signed_in(outsider)


# ---------------------------------------------------------------------------------------------
# Factories
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def demo_connection(db):
    return ProviderConnection.objects.create(name="Demo", kind="demo")


@pytest.fixture
def default_policy(db):
    return Policy.objects.create(
        name="Default",
        is_default=True,
        allowed_durations=[15, 60, 240],
        max_duration_minutes=240,
        max_total_minutes=480,
        max_extensions=2,
        extension_increments=[15, 60],
    )


@pytest.fixture
def make_device(demo_connection):
    counter = iter(range(1, 10_000))

    def make(*users, connection=None, **fields) -> Device:
        n = next(counter)
        defaults = {"hostname": f"host-{n:03d}", "os": "Ubuntu 24.04", "os_family": "linux"}
        device = Device.objects.create(
            connection=connection or demo_connection, external_id=f"dev-{n:03d}", **{**defaults, **fields}
        )
        device.users.add(*users)
        return device

    return make


@pytest.fixture
def device(make_device, employee, default_policy):
    """A device bound to `employee`, on the demo provider, under the default policy."""
    return make_device(employee, hostname="erin-laptop")


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


# ---------------------------------------------------------------------------------------------
# A real Celery worker process (and optionally beat) against the real Redis
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def worker_factory(transactional_db, tmp_path):
    """Start real worker processes; every one is stopped at the end of the test."""
    purge_broker()
    started: list[WorkerProcess] = []

    def start(**kwargs) -> WorkerProcess:
        worker = WorkerProcess(tmp_path, **kwargs).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
    purge_broker()


@pytest.fixture
def worker(worker_factory):
    return worker_factory()


@pytest.fixture
def scripted(monkeypatch, make_device, employee, default_policy):
    """A device on the scripted provider (tests/scripted_provider.py), bound to `employee`."""
    import scripted_provider
    from requests_app.providers import registry

    monkeypatch.setitem(registry.PROVIDER_CLASSES, "scripted", "scripted_provider.ScriptedProvider")
    scripted_provider.reset()
    connection = ProviderConnection.objects.create(name="Scripted", kind="scripted")
    scripted_provider.device = make_device(employee, connection=connection, hostname="scripted-host")
    return scripted_provider
