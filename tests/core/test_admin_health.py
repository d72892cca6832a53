"""The admin shows when the sweep's heartbeat is stale (beat not running)."""

from datetime import timedelta

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.utils import timezone

from requests_app import execution
from requests_app.models import Heartbeat


@pytest.fixture(autouse=True)
def admin_has_mfa(admin):
    TOTP.activate(admin, generate_totp_secret())  # the admin role requires it


def test_admin_warns_when_the_sweep_never_ran(admin_client):
    page = admin_client.get("/admin/").content.decode()
    assert "The expiry sweep has never run" in page


def test_admin_warns_when_the_sweep_heartbeat_is_stale(admin_client):
    execution.sweep()
    Heartbeat.objects.filter(name="sweep").update(beat_at=timezone.now() - timedelta(minutes=5))
    page = admin_client.get("/admin/").content.decode()
    assert "Celery beat seems to have stopped" in page


def test_admin_is_quiet_while_the_sweep_runs(admin_client):
    execution.sweep()
    page = admin_client.get("/admin/").content.decode()
    assert "expiry sweep" not in page
