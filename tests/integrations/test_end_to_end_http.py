"""End to end over HTTP: Jira Automation → the portal (live server) → a real Celery worker with
beat → the SailPoint simulator, and comments back on the Jira simulator's issue.

Done-when of issue 5: a SailPoint elevation goes active, is extended, revoked early, and another
expires on its own; a Jira Automation call sent three times creates exactly one elevation and
the issue receives the comments.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from integration_helpers import INTAKE_SECRET, intake_body

from helpers import connect_sailpoint_identity, state_of, wait_for
from requests_app import clock, services
from requests_app.integrations.jira.client import adf_plain_text
from requests_app.lifecycle import State
from requests_app.models import Device, Elevation, ProviderConnection
from requests_app.providers.sailpoint.provider import ActivationReference
from requests_app.providers.sailpoint.simulator import SailPointSimulator

WORKER_ENV = {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}


@pytest.fixture
def sailpoint():
    sim = SailPointSimulator(activation_delay=1.0, deprovision_delay=0.5)
    sim.add_client("elevate", "client-secret")
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def laptops(sailpoint, employee, default_policy, transactional_db):
    connection = ProviderConnection.objects.create(
        name="SailPoint", kind="sailpoint", base_url=sailpoint.base_url, client_id="elevate", secret="client-secret"
    )
    devices = {}
    for hostname in ("ERIN-MBP", "ERIN-LAB"):
        device = Device.objects.create(
            connection=connection, external_id=sailpoint.add_connection(identity=employee.email), hostname=hostname
        )
        device.users.add(employee)
        devices[hostname] = device
    connect_sailpoint_identity(sailpoint, employee, connection)  # SailPoint acts in Erin's own name
    return devices


def activation_of(sailpoint, elevation):
    elevation.refresh_from_db()
    activation_id = ActivationReference.parse(elevation.provider_ref).activation_id
    return next(a for a in sailpoint.activations if a["activationId"] == activation_id)


def comment_texts(jira, key) -> list[str]:
    return [adf_plain_text(c["body"]) for c in jira.comments(key)]


@pytest.mark.worker
def test_jira_request_through_sailpoint_active_extended_revoked_and_another_expires(
    live_server, sailpoint, laptops, employee, jira, jira_connection, worker_factory
):
    jira.create_issue("IT-7", reporter=employee.email, summary="Need admin on my MacBook")
    worker_factory(beat=True, sweep_seconds=1, env=WORKER_ENV)
    url = live_server.url + reverse("integrations:jira_intake", args=[jira_connection.public_id])
    body = intake_body(issueKey="IT-7", device="ERIN-MBP", duration="60m")

    answers = [jira.send_web_request(url, body, {"X-Elevate-Secret": INTAKE_SECRET}) for _ in range(3)]

    assert [a.status_code for a in answers] == [201, 200, 200]
    assert Elevation.objects.count() == 1
    elevation = Elevation.objects.get()
    wait_for(lambda: state_of(elevation) == State.ACTIVE, 30, message="the SailPoint grant to be confirmed")
    assert len(sailpoint.activations) == 1
    wait_for(lambda: any("is granted" in t for t in comment_texts(jira, "IT-7")), 20, message="granted comment")

    services.elevation_extend(elevation=elevation, actor=employee, minutes=15)
    wait_for(lambda: activation_of(sailpoint, elevation)["periodMins"] == 75, 20, message="the extension")
    wait_for(lambda: any("extended" in t for t in comment_texts(jira, "IT-7")), 20, message="extended comment")

    services.elevation_revoke(elevation=elevation, actor=employee, reason="done early")
    wait_for(lambda: state_of(elevation) == State.REVOKED, 30, message="the early revoke")
    assert sailpoint.workflow_status(activation_of(sailpoint, elevation)) in ("DEPROVISIONING", "REVOKED")
    wait_for(lambda: any("revoked" in t for t in comment_texts(jira, "IT-7")), 20, message="revoked comment")

    # Another one, whose SailPoint workflow completes on its own; the sweep then closes it.
    with clock.travel(timedelta(seconds=8 - 60)):  # a one-minute elevation that ends in 8 s
        short = services.elevation_request(requester=employee, device=laptops["ERIN-LAB"], minutes=1, reason="quick")
    wait_for(lambda: state_of(short) == State.ACTIVE, 30, message="the second grant")
    sailpoint.advance(60)  # SailPoint's one-minute period runs out over there
    assert sailpoint.workflow_status(activation_of(sailpoint, short)) == "COMPLETED"
    wait_for(lambda: state_of(short) == State.EXPIRED, 30, message="the sweep to expire it")
    deactivated = [c for c in sailpoint.calls("POST", "/deactivate$")]
    assert len(deactivated) == 1  # only the early revoke; the expired one needed none

    texts = comment_texts(jira, "IT-7")
    assert len([t for t in texts if "is granted" in t]) == 1
    assert len(texts) == 3


def test_three_simultaneous_automation_calls_create_one_elevation(live_server, jira, jira_connection, device):
    from concurrent.futures import ThreadPoolExecutor

    url = live_server.url + reverse("integrations:jira_intake", args=[jira_connection.public_id])
    headers = {"X-Elevate-Secret": INTAKE_SECRET}
    jira.create_issue("IT-42", reporter=intake_body()["reporterEmail"])

    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: jira.send_web_request(url, intake_body(), headers), range(3)))

    assert sorted(a.status_code for a in answers) == [200, 200, 201]
    assert len({a.json()["elevation"]["id"] for a in answers}) == 1
    assert Elevation.objects.count() == 1
