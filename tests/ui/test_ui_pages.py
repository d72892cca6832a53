"""The employee pages render what the user needs, and only their own elevations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from requests_app.clock import now
from requests_app.lifecycle import State
from requests_app.models import Policy

pytestmark = pytest.mark.django_db

MY = reverse("requests_app:my_elevations")
REQUEST = reverse("requests_app:request")


def detail_url(elevation) -> str:
    return reverse("requests_app:detail", args=[elevation.public_id])


def row_url(elevation) -> str:
    return reverse("requests_app:row", args=[elevation.public_id])


# ---------------------------------------------------------------------------------------------
# My elevations
# ---------------------------------------------------------------------------------------------
def test_first_time_user_sees_how_to_start(employee_client, device):
    page = employee_client.get(MY).content.decode()
    assert "Welcome to Elevate" in page
    assert "Pick your device" in page
    assert 'id="request-form"' in page
    assert "erin-laptop" in page  # the picker already lists the device


def test_user_without_devices_is_told_what_to_do(outsider_client, default_policy):
    page = outsider_client.get(MY).content.decode()
    assert "No devices found for you" in page
    assert "not linked to a device-management account" in page
    assert '<form method="post" action="/request/"' not in page


def test_live_elevations_show_state_countdown_expiry_in_user_time_zone_and_actions(
    employee_client, employee, device, make_device, make_elevation
):
    expires = now().replace(microsecond=0) + timedelta(minutes=42)
    active = make_elevation(employee, device, expires_at=expires)
    queued = make_elevation(employee, make_device(employee, hostname="build-box"), state=State.APPROVED)
    page = employee_client.get(MY).content.decode()
    assert page.index("erin-laptop") < page.index("build-box")  # active first
    assert f'id="elevation-{active.public_id}"' in page
    assert "data-countdown" in page
    berlin = expires.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
    assert f"{berlin:%H:%M} {berlin.tzname()}" in page  # "until 14:05 CET", or "until tomorrow 00:04 CET"
    assert "CET" in page or "CEST" in page
    assert "Times are shown in <strong>Europe/Berlin</strong>" in page
    assert "+15 min" in page and "+1 h" in page  # the policy's extension increments
    assert "Yes, revoke now" in page
    assert "Yes, cancel it" in page  # the queued one is cancelled, not revoked
    assert f'hx-get="{row_url(queued)}" hx-trigger="every 2s"' in page


def test_provider_notes_are_shown(employee_client, employee, device, make_elevation):
    make_elevation(employee, device, notes=["Windows: sign out and in again to use your new rights."])
    assert "sign out and in again" in employee_client.get(MY).content.decode()


def test_history_is_paginated_and_an_htmx_page_is_just_the_history(
    employee_client, employee, device, make_elevation, hx
):
    for i in range(12):
        make_elevation(employee, device, state=State.EXPIRED, reason=f"Task number {i}")
    first = employee_client.get(MY).content.decode()
    assert "Page 1 of 2" in first
    assert first.count("Request again") == 10
    second = employee_client.get(MY, {"page": 2}, **hx("history"))
    assert second.status_code == 200
    body = second.content.decode()
    assert body.lstrip().startswith('<section id="history"')
    assert "<html" not in body
    assert body.count("Request again") == 2
    assert 'rel="prev"' in body


def test_history_pages_past_the_end_or_garbled_behave_as_paginator_did(
    employee_client, employee, device, make_elevation
):
    for i in range(12):
        make_elevation(employee, device, state=State.EXPIRED, reason=f"Task number {i}")
    cases = (("9", "Page 2 of 2", 2), ("abc", "Page 1 of 2", 10), ("0", "Page 2 of 2", 2), ("2", "Page 2 of 2", 2))
    for page, shown, rows in cases:
        body = employee_client.get(MY, {"page": page}).content.decode()
        assert shown in body and body.count("Request again") == rows, page


def test_my_elevations_does_not_list_other_users_elevations(outsider_client, employee, device, make_elevation):
    make_elevation(employee, device)
    make_elevation(employee, device, state=State.REVOKED)
    page = outsider_client.get(MY).content.decode()
    assert "erin-laptop" not in page


def test_my_elevations_query_count_does_not_grow_with_rows(
    employee_client, employee, device, make_device, make_elevation, django_assert_num_queries
):
    make_elevation(employee, device)
    make_elevation(employee, device, state=State.EXPIRED)
    # session, user, the user's and their groups' permissions, devices, groups, policies, live,
    # the history's count and its page, and the attestations asked for (requests_app/attestation)
    with django_assert_num_queries(11):
        employee_client.get(MY)
    for n in range(4):
        other = make_device(employee, hostname=f"box-{n}")
        make_elevation(employee, other, state=State.ACTIVE if n % 2 else State.GRANTING)
        make_elevation(employee, other, state=State.REVOKED)
    with django_assert_num_queries(11):
        employee_client.get(MY)


def test_a_live_elevation_on_a_device_no_longer_listed_still_shows_its_device(
    employee_client, employee, device, make_device, make_elevation, django_assert_num_queries
):
    gone = make_device(employee, hostname="old-desktop")
    make_elevation(employee, gone, state=State.ACTIVE)
    gone.removed_at = now()
    gone.save()
    make_elevation(employee, device, state=State.GRANTING)
    with django_assert_num_queries(12):  # the usual 11 less the empty history's page, that device and its connection
        body = employee_client.get(MY).content.decode()
    assert "old-desktop" in body and "erin-laptop" in body


def test_anonymous_user_is_sent_to_sign_in(client, db):
    response = client.get(MY)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


# ---------------------------------------------------------------------------------------------
# Request page
# ---------------------------------------------------------------------------------------------
def test_request_page_lists_own_devices_with_os_and_last_contact(employee_client, employee, make_device, outsider):
    make_device(employee, hostname="erin-mac", os="macOS 15.2", os_family="macos", last_contact_at=now())
    make_device(outsider, hostname="oscar-pc")
    page = employee_client.get(REQUEST).content.decode()
    assert "erin-mac" in page and "macOS 15.2" in page and "last contact" in page
    assert "oscar-pc" not in page


def test_device_search_is_offered_when_there_are_many_devices(employee_client, employee, make_device, default_policy):
    make_device(employee)
    assert "data-device-search" not in employee_client.get(REQUEST).content.decode()
    for _ in range(5):
        make_device(employee)
    assert "data-device-search" in employee_client.get(REQUEST).content.decode()


def test_presets_and_maximum_come_from_the_policy(employee_client, employee, make_device, db):
    Policy.objects.create(name="Tight", is_default=True, allowed_durations=[10, 30], max_duration_minutes=45)
    make_device(employee)
    page = employee_client.get(REQUEST).content.decode()
    assert 'value="10"' in page and 'value="30"' in page and 'value="240"' not in page
    assert 'max="45"' in page
    assert "Up to 45 min." in page


def test_without_password_is_offered_only_where_policy_allows(employee_client, employee, device, default_policy):
    assert 'name="without_password"' not in employee_client.get(REQUEST).content.decode()
    default_policy.allow_passwordless = True
    default_policy.save()
    assert 'name="without_password"' in employee_client.get(REQUEST).content.decode()


def test_request_again_preselects_the_device(employee_client, employee, device, make_device):
    make_device(employee, hostname="other-box")
    page = employee_client.get(REQUEST, {"device": str(device.public_id)}).content.decode()
    assert f'value="{device.public_id}" checked' in page


# ---------------------------------------------------------------------------------------------
# Detail and row
# ---------------------------------------------------------------------------------------------
def test_detail_shows_the_audit_timeline(employee_client, employee, device):
    from requests_app import services

    elevation = services.elevation_request(requester=employee, device=device, minutes=60, reason="Update drivers")
    page = employee_client.get(detail_url(elevation)).content.decode()
    assert "Timeline" in page
    assert "Requested" in page and "Approved by policy" in page
    assert "by you" in page
    assert "Update drivers" in page


def test_detail_htmx_poll_returns_the_live_region_and_stops_once_ended(
    employee_client, employee, device, make_elevation, hx
):
    elevation = make_elevation(employee, device, state=State.GRANTING)
    response = employee_client.get(detail_url(elevation), **hx("elevation-live"))
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<div id="elevation-live"')
    elevation.state = State.REVOKED
    elevation.save()
    assert employee_client.get(detail_url(elevation), **hx("elevation-live")).status_code == 286


def test_row_poll_keeps_going_while_changing_and_stops_with_286_once_ended(
    employee_client, employee, device, make_elevation, hx
):
    elevation = make_elevation(employee, device, state=State.GRANTING)
    response = employee_client.get(row_url(elevation), **hx(f"elevation-{elevation.public_id}"))
    assert response.status_code == 200
    assert 'hx-trigger="every 2s"' in response.content.decode()
    elevation.state = State.ACTIVE
    elevation.save()
    response = employee_client.get(row_url(elevation), **hx(f"elevation-{elevation.public_id}"))
    assert response.status_code == 200
    assert "countdown-ended" in response.content.decode()
    elevation.state = State.EXPIRED
    elevation.save()
    response = employee_client.get(row_url(elevation), **hx(f"elevation-{elevation.public_id}"))
    assert response.status_code == 286
    assert "hx-trigger" not in response.content.decode()
    assert "Expired" in response.content.decode()


def test_row_without_htmx_redirects_to_the_detail_page(employee_client, employee, device, make_elevation):
    elevation = make_elevation(employee, device)
    response = employee_client.get(row_url(elevation))
    assert response.status_code == 302
    assert response["Location"] == detail_url(elevation)


def test_auditor_may_read_but_is_offered_no_actions(auditor_client, employee, device, make_elevation):
    elevation = make_elevation(employee, device)
    page = auditor_client.get(detail_url(elevation)).content.decode()
    assert "erin-laptop" in page
    assert "Extend" not in page and "Revoke" not in page


@pytest.mark.parametrize("view", ["detail", "row", "extend", "revoke"])
def test_outsider_gets_404_for_someone_elses_elevation(outsider_client, employee, device, make_elevation, view, hx):
    elevation = make_elevation(employee, device)
    url = reverse(f"requests_app:{view}", args=[elevation.public_id])
    if view in ("extend", "revoke"):
        response = outsider_client.post(url, {"minutes": 15}, **hx())
    else:
        response = outsider_client.get(url, **hx())
    assert response.status_code == 404
    elevation.refresh_from_db()
    assert elevation.state == State.ACTIVE and elevation.extensions == 0


@pytest.mark.parametrize(
    ("method", "name", "with_id"),
    [
        ("post", "my_elevations", False),
        ("put", "request", False),
        ("post", "detail", True),
        ("post", "row", True),
        ("get", "extend", True),
        ("get", "revoke", True),
    ],
)
def test_wrong_method_is_405(employee_client, employee, device, make_elevation, method, name, with_id):
    args = [make_elevation(employee, device).public_id] if with_id else []
    response = getattr(employee_client, method)(reverse(f"requests_app:{name}", args=args))
    assert response.status_code == 405


def test_the_request_form_says_when_approval_is_needed(employee_client, device, default_policy):
    assert "Granted right away, no approval needed." in employee_client.get(REQUEST).content.decode()
    default_policy.requires_approval = True
    default_policy.auto_approve_up_to_minutes = 60
    default_policy.save()
    page = employee_client.get(REQUEST).content.decode()
    assert "Up to 1 h is granted right away; longer needs approval." in page


def test_request_page_says_which_devices_already_have_a_live_elevation(
    employee_client, employee, device, make_elevation
):
    make_elevation(employee, device)
    assert "Already requested here: asking again adds time to it" in employee_client.get(REQUEST).content.decode()
