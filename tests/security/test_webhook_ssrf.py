"""Personal Slack webhooks cannot make the portal call internal addresses (issue 17, item 1)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from requests_app.integrations import notifications
from requests_app.integrations.models import Delivery, NotificationPreference
from requests_app.lifecycle import State


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/anything",
        "https://127.0.0.1/services/x",
        "https://169.254.169.254/latest/meta-data/",
        "https://hooks.slack.com.evil.example/services/x",
        "http://hooks.slack.com/services/x",
        "https://user:pw@hooks.slack.com/services/x",
    ],
)
def test_a_webhook_url_off_the_allowed_https_hosts_is_refused_when_saved(employee, employee_client, url):
    response = employee_client.post(reverse("integrations:preferences"), {"slack_webhook_url": url})

    assert response.status_code == 200  # the form again, with the reason
    assert "webhook" in response.content.decode().lower()
    assert not NotificationPreference.objects.filter(user=employee).exclude(slack_webhook_url="").exists()


def test_a_slack_https_webhook_is_accepted(employee, employee_client):
    url = "https://hooks.slack.com/services/T000/B000/XXXX"
    response = employee_client.post(reverse("integrations:preferences"), {"slack_webhook_url": url})

    assert response.status_code == 302
    assert NotificationPreference.objects.get(user=employee).slack_webhook_url == url


def test_a_stored_internal_webhook_is_never_called(employee, device, make_elevation, internal_listener):
    # Saved before the rule existed (or written past the form): the worker checks again.
    elevation = make_elevation(employee, device, State.ACTIVE)
    NotificationPreference.objects.create(
        user=employee, email_events=[], slack_events=["granted"], slack_webhook_url=f"{internal_listener.url}/x"
    )
    [delivery_id] = notifications.announce("granted", elevation.pk)

    notifications.deliver(delivery_id)

    assert internal_listener.hits == []
    delivery = Delivery.objects.get(pk=delivery_id)
    assert delivery.status == Delivery.Status.FAILED
    assert "https" in delivery.last_error


def test_an_allowed_host_that_resolves_to_an_internal_address_is_never_called(
    employee, device, make_elevation, internal_listener, settings
):
    # DNS of an allowed name may point anywhere (or be rebound): the address is checked at send.
    settings.ELEVATE_WEBHOOK_ALLOWED_HOSTS = ["localhost"]
    elevation = make_elevation(employee, device, State.ACTIVE)
    port = internal_listener.server_address[1]
    NotificationPreference.objects.create(
        user=employee, email_events=[], slack_events=["granted"], slack_webhook_url=f"https://localhost:{port}/x"
    )
    [delivery_id] = notifications.announce("granted", elevation.pk)

    notifications.deliver(delivery_id)

    assert internal_listener.hits == []
    assert "internal address" in Delivery.objects.get(pk=delivery_id).last_error
