import pytest


def test_healthz_says_the_process_is_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_database_and_broker(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["checks"] == {"database": "ok", "broker": "ok"}
    assert body["sweep_stale"] is True  # no beat ran in this test


@pytest.mark.django_db
def test_readyz_names_the_broker_when_it_is_down(client, settings):
    from portal.celery import app

    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/readyz")
    finally:
        app.conf.broker_url = settings.CELERY_BROKER_URL
    assert response.status_code == 503
    assert response.json()["checks"]["broker"].startswith("broker unreachable")
    assert response.json()["checks"]["database"] == "ok"


@pytest.mark.django_db
def test_readyz_reports_a_fresh_sweep_heartbeat(client):
    from requests_app import execution

    execution.sweep()
    body = client.get("/readyz").json()
    assert body["sweep_stale"] is False
    assert body["sweep_heartbeat_age_seconds"] < 5
