"""Requesting, extending and revoking from the portal: htmx and plain posts, refusals, CSRF."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from requests_app.clock import now
from requests_app.lifecycle import State
from requests_app.models import Elevation
from requests_app.providers.base import ProviderError
from requests_app.providers.demo.provider import DemoProvider

pytestmark = pytest.mark.django_db

MY = reverse("requests_app:my_elevations")
REQUEST = reverse("requests_app:request")


def extend_url(elevation) -> str:
    return reverse("requests_app:extend", args=[elevation.public_id])


def revoke_url(elevation) -> str:
    return reverse("requests_app:revoke", args=[elevation.public_id])


def request_data(device, **overrides) -> dict:
    return {"device": str(device.public_id), "minutes": "60", "reason": "Install the VPN client", **overrides}


# ---------------------------------------------------------------------------------------------
# Request
# ---------------------------------------------------------------------------------------------
def test_plain_post_requests_admin_queues_the_grant_and_redirects(
    employee_client, employee, device, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = employee_client.post(REQUEST, request_data(device, ticket_ref="IT-42"))
    assert response.status_code == 302
    assert response["Location"] == MY
    elevation = Elevation.objects.get(beneficiary=employee)
    assert (elevation.state, elevation.requested_minutes, elevation.ticket_ref) == (State.APPROVED, 60, "IT-42")
    assert callbacks, "the grant is queued after commit"
    page = employee_client.get(MY).content.decode()
    assert "Admin rights on erin-laptop are on their way." in page


def test_htmx_post_returns_a_fresh_form_and_the_live_list_out_of_band(employee_client, employee, device, hx):
    response = employee_client.post(REQUEST, request_data(device), **hx("request-form"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert body.lstrip().startswith('<section id="request-form"')
    assert "are on their way" in body
    elevation = Elevation.objects.get(beneficiary=employee)
    assert '<section id="live-list" class="panel layout-live" aria-labelledby="live-title" hx-swap-oob="true">' in body
    assert f'id="elevation-{elevation.public_id}"' in body
    assert 'hx-trigger="every 2s"' in body  # queued: it keeps polling until active


def test_custom_duration_within_the_maximum_is_accepted(employee_client, employee, device):
    employee_client.post(REQUEST, request_data(device, minutes="custom", custom_minutes="45"))
    assert Elevation.objects.get(beneficiary=employee).requested_minutes == 45


def test_missing_reason_is_shown_next_to_the_field(employee_client, device, hx):
    response = employee_client.post(REQUEST, request_data(device, reason=""), **hx("request-form"))
    assert response.status_code == 200  # htmx swaps 2xx only
    body = response.content.decode()
    assert '<ul class="field-errors" id="id_reason-error"><li>Say why you need admin rights.</li></ul>' in body
    assert 'aria-invalid="true"' in body
    assert not Elevation.objects.exists()


def test_invalid_plain_post_rerenders_the_request_page_with_inline_errors(employee_client, device):
    response = employee_client.post(REQUEST, request_data(device, minutes="custom", custom_minutes="500"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" in body
    assert 'id="id_custom_minutes-error"' in body
    assert "longer than the 4 h this policy allows" in body
    assert 'value="500"' in body  # what the user typed is kept
    assert not Elevation.objects.exists()


def test_custom_without_a_number_asks_for_one(employee_client, device):
    body = employee_client.post(REQUEST, request_data(device, minutes="custom")).content.decode()
    assert "Enter how many minutes you need." in body


def test_someone_elses_device_is_refused(employee_client, device, make_device, outsider):
    other = make_device(outsider, hostname="oscar-pc")
    body = employee_client.post(REQUEST, request_data(other)).content.decode()
    assert "Pick one of your own devices." in body
    assert not Elevation.objects.exists()


def test_without_password_is_refused_by_the_server_where_policy_forbids_it(employee_client, device):
    body = employee_client.post(REQUEST, request_data(device, without_password="on")).content.decode()
    assert "does not allow sudo without a password" in body
    assert not Elevation.objects.exists()


def test_without_password_is_granted_where_policy_allows_it(employee_client, employee, device, default_policy):
    default_policy.allow_passwordless = True
    default_policy.save()
    employee_client.post(REQUEST, request_data(device, without_password="on"))
    assert Elevation.objects.get(beneficiary=employee).without_password


# ---------------------------------------------------------------------------------------------
# Extend
# ---------------------------------------------------------------------------------------------
def test_htmx_extend_swaps_the_row_with_the_new_expiry(employee_client, employee, device, make_elevation, hx):
    elevation = make_elevation(employee, device)
    before = elevation.expires_at
    response = employee_client.post(extend_url(elevation), {"minutes": "15"}, **hx(f"elevation-{elevation.public_id}"))
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<article id="elevation-{elevation.public_id}"')
    assert "Extended by 15 min." in body
    elevation.refresh_from_db()
    assert (elevation.expires_at - before).total_seconds() == 15 * 60
    assert elevation.extensions == 1


def test_plain_extend_redirects_back_with_a_message(employee_client, employee, device, make_elevation):
    elevation = make_elevation(employee, device)
    response = employee_client.post(extend_url(elevation), {"minutes": "60"})
    assert response.status_code == 302 and response["Location"] == MY
    assert "Extended by 1 h." in employee_client.get(MY).content.decode()


def test_extend_from_the_detail_page_swaps_the_detail_region_and_returns_there(
    employee_client, employee, device, make_elevation, hx
):
    elevation = make_elevation(employee, device)
    detail = reverse("requests_app:detail", args=[elevation.public_id])
    body = employee_client.post(extend_url(elevation), {"minutes": "15"}, **hx("elevation-live")).content.decode()
    assert body.lstrip().startswith('<div id="elevation-live"')
    assert "Extended" in body and "Timeline" in body
    response = employee_client.post(extend_url(elevation), {"minutes": "15", "next": detail})
    assert response["Location"] == detail
    response = employee_client.post(extend_url(elevation), {"minutes": "15", "next": "https://evil.example/"})
    assert response["Location"] == MY


def test_extend_by_an_increment_the_policy_does_not_offer_is_refused(
    employee_client, employee, device, make_elevation, hx
):
    elevation = make_elevation(employee, device)
    body = employee_client.post(extend_url(elevation), {"minutes": "999"}, **hx()).content.decode()
    assert "That extension is not offered for this elevation." in body
    elevation.refresh_from_db()
    assert elevation.extensions == 0


def test_extend_is_not_offered_and_is_refused_once_the_extensions_are_used_up(
    employee_client, employee, device, make_elevation, hx
):
    elevation = make_elevation(employee, device, extensions=2)  # the default policy allows 2
    page = employee_client.get(MY).content.decode()
    assert "Add time" not in page
    assert "Yes, revoke now" in page
    body = employee_client.post(extend_url(elevation), {"minutes": "15"}, **hx()).content.decode()
    assert "cannot be extended any further" in body
    elevation.refresh_from_db()
    assert elevation.extensions == 2


def test_only_increments_that_fit_the_total_are_offered(employee_client, employee, device, make_elevation):
    make_elevation(employee, device, minutes=240, total_minutes=450)  # 30 of 480 left
    page = employee_client.get(MY).content.decode()
    assert "+15 min" in page and "+1 h" not in page


# ---------------------------------------------------------------------------------------------
# Revoke
# ---------------------------------------------------------------------------------------------
def test_htmx_revoke_swaps_the_row_to_revoking_and_queues_the_revoke(
    employee_client, employee, device, make_elevation, hx, django_capture_on_commit_callbacks
):
    elevation = make_elevation(employee, device)
    with django_capture_on_commit_callbacks() as callbacks:
        response = employee_client.post(
            revoke_url(elevation), {"reason": "done"}, **hx(f"elevation-{elevation.public_id}")
        )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Revoking admin rights…" in body
    assert 'hx-trigger="every 2s"' in body  # polls until revoked
    assert "Yes, revoke now" not in body
    elevation.refresh_from_db()
    assert elevation.state == State.REVOKING
    assert callbacks


def test_revoking_a_queued_request_cancels_it(employee_client, employee, device, make_elevation, hx):
    elevation = make_elevation(employee, device, state=State.PENDING_APPROVAL)
    body = employee_client.post(revoke_url(elevation), **hx(f"elevation-{elevation.public_id}")).content.decode()
    assert "Request cancelled." in body
    elevation.refresh_from_db()
    assert elevation.state == State.CANCELLED


def test_revoke_of_an_ended_elevation_is_refused(employee_client, employee, device, make_elevation, hx):
    elevation = make_elevation(employee, device, state=State.EXPIRED)
    body = employee_client.post(revoke_url(elevation), **hx(f"elevation-{elevation.public_id}")).content.decode()
    assert "cannot be revoked" in body
    elevation.refresh_from_db()
    assert elevation.state == State.EXPIRED


def test_auditor_who_can_see_an_elevation_still_cannot_change_it(auditor_client, employee, device, make_elevation, hx):
    elevation = make_elevation(employee, device)
    assert auditor_client.post(revoke_url(elevation), **hx()).status_code == 403
    assert auditor_client.post(extend_url(elevation), {"minutes": "15"}).status_code == 403
    elevation.refresh_from_db()
    assert (elevation.state, elevation.extensions) == (State.ACTIVE, 0)


# ---------------------------------------------------------------------------------------------
# CSRF on htmx posts
# ---------------------------------------------------------------------------------------------
def test_htmx_posts_need_the_csrf_token(employee, device, make_elevation):
    client = Client(enforce_csrf_checks=True)
    client.force_login(employee)
    elevation = make_elevation(employee, device)
    headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": f"elevation-{elevation.public_id}"}
    assert client.post(revoke_url(elevation), **headers).status_code == 403
    assert client.post(REQUEST, request_data(device), **headers).status_code == 403
    elevation.refresh_from_db()
    assert elevation.state == State.ACTIVE

    client.get(MY)  # sets the csrftoken cookie; base.html sends it in hx-headers
    token = client.cookies["csrftoken"].value
    response = client.post(revoke_url(elevation), HTTP_X_CSRFTOKEN=token, **headers)
    assert response.status_code == 200
    elevation.refresh_from_db()
    assert elevation.state == State.REVOKING


def test_pages_put_the_csrf_token_in_htmx_headers(employee_client, device):
    page = employee_client.get(MY).content.decode()
    assert '<body hx-headers=\'{"X-CSRFToken": "' in page


def test_helpdesk_acting_on_someone_elses_elevation_must_give_a_reason(
    helpdesk_client, employee, device, make_elevation, hx, staff_mfa
):
    elevation = make_elevation(employee, device)
    page = helpdesk_client.get(reverse("requests_app:detail", args=[elevation.public_id])).content.decode()
    assert "Reason (required: this is not your elevation)" in page
    body = helpdesk_client.post(revoke_url(elevation), **hx("elevation-live")).content.decode()
    assert "Say why" in body
    elevation.refresh_from_db()
    assert elevation.state == State.ACTIVE
    helpdesk_client.post(revoke_url(elevation), {"reason": "Offboarding"}, **hx("elevation-live"))
    elevation.refresh_from_db()
    assert elevation.state == State.REVOKING


def test_helpdesk_without_mfa_is_sent_to_set_it_up_before_acting_on_someone_elses_elevation(
    helpdesk_client, helpdesk, employee, device, make_elevation, hx
):
    elevation = make_elevation(employee, device)
    setup = reverse("mfa_index")
    for url, data in (
        (revoke_url(elevation), {"reason": "Offboarding"}),
        (extend_url(elevation), {"minutes": "15", "reason": "Still installing"}),
    ):
        assert helpdesk_client.post(url, data)["Location"] == setup
        assert helpdesk_client.post(url, data, **hx("elevation-live"))["HX-Redirect"] == setup
    elevation.refresh_from_db()
    assert (elevation.state, elevation.extensions) == (State.ACTIVE, 0)
    assert not elevation.events.filter(actor=helpdesk).exists()  # nothing done, nothing recorded


def test_helpdesk_without_mfa_still_acts_on_their_own_elevation(helpdesk_client, helpdesk, make_device, make_elevation):
    own = make_elevation(helpdesk, make_device(helpdesk))
    response = helpdesk_client.post(revoke_url(own), {"reason": ""})
    assert response["Location"] != reverse("mfa_index")
    own.refresh_from_db()
    assert own.state == State.REVOKING


def test_a_request_that_needs_approval_says_so_and_waits(employee_client, employee, device, default_policy, hx):
    default_policy.requires_approval = True
    default_policy.save()
    body = employee_client.post(REQUEST, request_data(device), **hx("request-form")).content.decode()
    assert "is waiting for approval" in body
    assert "Awaiting approval" in body
    assert 'hx-trigger="every 10s"' in body
    assert Elevation.objects.get(beneficiary=employee).state == State.PENDING_APPROVAL


def test_a_user_unknown_to_the_provider_is_told_so_above_the_form(employee_client, device, monkeypatch, hx):
    def no_such_user(self, email):
        raise ProviderError("no user with that e-mail", permanent=True)

    monkeypatch.setattr(DemoProvider, "lookup_user", no_such_user)
    body = employee_client.post(REQUEST, request_data(device), **hx("request-form")).content.decode()
    assert '<div class="form-error" role="alert"' in body
    assert "No account for erin@example.com was found on Demo" in body
    assert not Elevation.objects.exists()


def test_a_scheduled_elevation_polls_slowly(employee_client, employee, device, make_elevation):
    make_elevation(employee, device, state=State.APPROVED, starts_at=now() + timedelta(hours=2))
    page = employee_client.get(MY).content.decode()
    assert 'hx-trigger="every 30s"' in page
    assert "Scheduled" in page
