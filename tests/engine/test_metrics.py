"""/metrics: what an operator scrapes (Prometheus text), for staff or a scraper's token only."""

import pytest

from requests_app import counters
from requests_app.providers import gate


@pytest.fixture(autouse=True)
def fresh_counters():
    client = gate.coordination_redis()
    for key in client.scan_iter(match=f"{counters.PREFIX}:*"):
        client.delete(key)


def test_staff_with_the_audit_permission_read_every_family(auditor_client, make_elevation, employee, device):
    make_elevation(employee, device)
    counters.observe("expiry_lateness_seconds", 0.7)
    counters.provider_call("console.jumpcloud.com", "429")
    body = auditor_client.get("/metrics").content.decode()
    assert 'elevate_elevations{state="active"} 1.0' in body
    assert 'elevate_expiry_lateness_seconds_bucket{le="1"} 1.0' in body
    assert 'elevate_provider_calls_total{connection="console.jumpcloud.com",status="429"} 1.0' in body
    for family in ("elevate_queue_depth", "elevate_seconds_since_last_sweep", "elevate_grant_seconds_count"):
        assert family in body


def test_a_paused_connection_shows_its_back_off(auditor_client):
    connection = gate.connection_for("http://127.0.0.1:9", {"x-api-key": "k"})
    gate.after_answer(connection, "a-call", 429, 30)
    body = auditor_client.get("/metrics").content.decode()
    assert 'elevate_provider_paused_seconds{connection="127.0.0.1:9"} 2' in body


def test_employees_and_strangers_are_refused(employee_client, client, db):
    assert employee_client.get("/metrics").status_code == 403
    assert client.get("/metrics").status_code == 403


def test_a_scraper_with_the_token_reads_them(client, settings, db):
    settings.ELEVATE_METRICS_TOKEN = "scrape-me"
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me").status_code == 200
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
