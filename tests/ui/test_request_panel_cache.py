"""The request form on My elevations comes from a cache keyed by what it shows: whatever changes
the panel (devices, their policy, a live elevation, the zone, the wording of "last contact")
shows at once, and its CSRF token is always this response's."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client

from requests_app import views
from requests_app.clock import now
from requests_app.forms import RequestForm
from requests_app.lifecycle import State
from requests_app.models import Elevation, Policy

MY = "/"
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


def panel_of(response) -> str:
    body = response.content.decode()
    return body[body.index('<section id="request-form"') :].split("</section>")[0]


@pytest.fixture
def panels(employee_client, monkeypatch):
    """The panel as the page serves it (cached), and as a fresh render of the same moment shows it."""

    def both() -> tuple[str, str]:
        served = panel_of(employee_client.get(MY))
        with monkeypatch.context() as patched:
            patched.setattr(views, "_request_panel", lambda request, form: None)
            fresh = panel_of(employee_client.get(MY))
        return TOKEN.sub("token", served), TOKEN.sub("token", fresh)

    return both


def test_every_change_to_what_the_panel_shows_shows_at_once(
    panels, employee, device, make_device, make_elevation, default_policy
):
    def changes():
        Policy.objects.create(
            name="Lab", device_group="lab", priority=5, allowed_durations=[30], max_duration_minutes=30,
            max_total_minutes=60, requires_approval=True, allow_passwordless=True,
        )  # fmt: skip
        lab = make_device(employee, hostname="lab-box", groups=["lab"])
        yield "a second device, under another policy"
        device.hostname, device.os, device.os_family = "erin-mac", "macOS 15", "macos"
        device.save()
        yield "the device renamed, a new OS"
        device.connection.name = "Acme devices"
        device.connection.save()
        yield "its connection renamed"
        lab.last_contact_at = now() - timedelta(minutes=3)
        lab.save()
        yield "a last contact"
        lab.last_contact_at = now() - timedelta(hours=1)
        lab.save()
        yield "the wording of how long ago"
        Policy.objects.filter(pk=default_policy.pk).update(
            allowed_durations=[15, 120], max_duration_minutes=120, requires_approval=True,
            auto_approve_up_to_minutes=15, allow_passwordless=True,
        )  # fmt: skip
        yield "the default policy's durations, approval and passwordless"
        make_elevation(employee, device, State.ACTIVE)
        yield "a live elevation on one device"
        employee.timezone = "Asia/Kolkata"
        employee.save()
        yield "the user's time zone"
        lab.users.remove(employee)
        yield "a device taken away"

    served, fresh = panels()
    assert served == fresh
    for change in changes():
        served, fresh = panels()
        assert served == fresh, f"stale after: {change}"
    assert "erin-mac" in served and "Acme devices".lower() in served and "lab-box" not in served


def test_the_panel_is_read_from_the_cache_the_second_time(employee_client, device):
    before = set(_panel_keys())
    employee_client.get(MY)
    (key,) = set(_panel_keys()) - before
    cache.set(key, '<section id="request-form">from the cache<!--fill:token--></section>')
    assert panel_of(employee_client.get(MY)).startswith('<section id="request-form">from the cache')


def test_its_token_is_this_responses_and_a_request_posted_with_it_is_accepted(employee, device):
    client = Client(enforce_csrf_checks=True)
    client.force_login(employee)
    before = set(_panel_keys())
    client.get(MY)  # warm the cache with another response's token
    panel = panel_of(client.get(MY))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', panel).group(1)
    (cached,) = cache.get_many(list(set(_panel_keys()) - before)).values()
    assert token not in cached and "<!--fill:token-->" in cached
    response = client.post(
        "/request/",
        {
            "device": device.public_id,
            "minutes": "60",
            "reason": "Install the printer driver",
            "csrfmiddlewaretoken": token,
        },
    )
    assert response.status_code == 302
    assert Elevation.objects.filter(beneficiary=employee, device=device).count() == 1


def _panel_keys() -> list[str]:
    client = cache._cache.get_client()
    prefix = cache.make_key("")
    pattern = f"{prefix}row:requests_app/request.html#request-form:*"
    return [k.decode().removeprefix(prefix) for k in client.scan_iter(match=pattern)]


def test_a_posted_form_is_never_taken_from_the_cache(employee, device):
    assert RequestForm(user=employee).shown() is not None
    assert RequestForm({"device": "", "minutes": "60", "reason": ""}, user=employee).shown() is None
