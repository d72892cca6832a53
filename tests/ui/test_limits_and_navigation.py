"""Limits explained, scheduling, navigation and the quieter log: what each page says and where it leads."""

from __future__ import annotations

import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from requests_app.clock import now
from requests_app.lifecycle import State
from requests_app.models import Elevation

pytestmark = pytest.mark.django_db

MY = reverse("requests_app:my_elevations")
REQUEST = reverse("requests_app:request")


def test_an_elevation_at_its_extension_cap_says_why_it_cannot_be_extended(
    employee_client, employee, device, make_elevation, default_policy
):
    make_elevation(employee, device, state=State.ACTIVE, extensions=default_policy.max_extensions)
    body = employee_client.get(MY).content.decode()
    times = f"{default_policy.max_extensions} extension{'s' if default_policy.max_extensions != 1 else ''}"
    assert f"this policy allows {times}. Ask the helpdesk" in body
    assert 'data-action="extend"' not in body


def test_history_shows_the_granted_length_and_how_long_it_was_held(employee_client, employee, device, make_elevation):
    ended = now()
    make_elevation(
        employee, device, state=State.REVOKED, minutes=195, activated_at=ended - timedelta(minutes=4), ended_at=ended
    )
    body = employee_client.get(MY).content.decode()
    assert "3 h 15 min granted" in body and "held 4 min" in body


def test_every_field_error_is_reported_at_once(employee_client, device, default_policy):
    too_long = default_policy.max_duration_minutes + 60
    data = {"device": str(device.public_id), "minutes": "custom", "custom_minutes": str(too_long), "reason": ""}
    body = employee_client.post(REQUEST, data).content.decode()
    assert "Say why you need admin rights." in body
    assert "this policy allows" in body  # the length, without waiting for a reason first
    assert not Elevation.objects.exists()


def test_a_start_later_within_the_policy_is_scheduled(employee_client, employee, device):
    starts = (now() + timedelta(hours=5)).replace(microsecond=0, second=0)
    typed = timezone.localtime(starts, ZoneInfo(employee.timezone)).strftime("%Y-%m-%dT%H:%M")  # as they see it
    data = {"device": str(device.public_id), "minutes": "60", "reason": "maintenance window"}
    response = employee_client.post(REQUEST, {**data, "starts_at": typed})
    assert response.status_code == 302
    elevation = Elevation.objects.get(beneficiary=employee)
    assert (elevation.state, elevation.starts_at, elevation.activated_at) == (State.APPROVED, starts, None)


def test_a_start_beyond_the_policys_schedule_window_is_refused_on_the_server(employee_client, device, default_policy):
    too_far = now() + timedelta(hours=default_policy.max_schedule_ahead_hours + 2)
    data = {"device": str(device.public_id), "minutes": "60", "reason": "someday"}
    body = employee_client.post(REQUEST, {**data, "starts_at": too_far.strftime("%Y-%m-%dT%H:%M")}).content.decode()
    assert f"Schedule at most {default_policy.max_schedule_ahead_hours} hours ahead." in body
    assert not Elevation.objects.exists()


@pytest.mark.parametrize(
    ("persona", "lands_on"),
    [
        ("employee", "requests_app:my_elevations"),
        ("approver", "approvals:queue"),
        ("helpdesk", "helpdesk:console"),
        ("auditor", "auditing:dashboard"),
        ("admin", "helpdesk:console"),
    ],
)
def test_each_role_lands_where_its_work_is(request, persona, lands_on):
    user = request.getfixturevalue(persona)
    client = Client()
    response = client.post(reverse("account_login"), {"login": user.email, "password": "pw-" + user.email})
    assert response.status_code == 302 and response.url == reverse(lands_on)


def test_a_sign_in_with_a_page_to_return_to_goes_there(auditor):
    response = Client().post(
        reverse("account_login") + "?next=/request/", {"login": auditor.email, "password": "pw-" + auditor.email}
    )
    assert response.url == "/request/"


def test_account_settings_link_mfa_password_notifications_and_for_admins_the_django_admin(
    employee_client, admin_client
):
    body = employee_client.get(reverse("portal_auth:settings")).content.decode()
    for url in (reverse("mfa_index"), reverse("account_change_password"), reverse("integrations:preferences")):
        assert f'href="{url}"' in body
    assert reverse("admin:index") not in body
    admin_body = admin_client.get(reverse("portal_auth:settings")).content.decode()
    assert f'href="{reverse("admin:index")}"' in admin_body


def test_every_page_links_account_settings_and_staff_see_the_admin(employee_client, admin_client, staff_mfa):
    settings_link = f'href="{reverse("portal_auth:settings")}"'
    assert settings_link in employee_client.get(MY).content.decode()
    assert reverse("admin:index") not in employee_client.get(MY).content.decode()
    assert f'href="{reverse("admin:index")}">Admin</a>' in admin_client.get(MY).content.decode()


def test_someone_elses_elevation_is_reached_from_the_helpdesk_not_my_elevations(
    helpdesk_client, helpdesk, employee, device, make_elevation, with_mfa
):
    with_mfa(helpdesk)
    elevation = make_elevation(employee, device, state=State.ACTIVE)
    body = helpdesk_client.get(reverse("requests_app:detail", args=[elevation.public_id])).content.decode()
    crumbs = body.split('aria-label="Breadcrumb"')[1].split("</nav>")[0]
    assert reverse("helpdesk:user", args=[employee.pk]) in crumbs and "My elevations" not in crumbs


def test_a_refused_request_is_logged_without_a_traceback(employee_client, caplog):
    caplog.set_level(logging.WARNING, logger="django.request")
    assert employee_client.get(reverse("helpdesk:console")).status_code == 403
    # Django attaches the PermissionDenied to the record; the console handler's filter (which
    # sees the record before pytest's) drops it, so the log shows one line.
    (refusal,) = [r for r in caplog.records if r.name == "django.request"]
    assert "Forbidden" in refusal.getMessage() and refusal.exc_info is None


def test_the_favicon_is_the_logo(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response.url.endswith(".svg")
