"""One live-update mechanism for every page (requests_app/live.py): regions poll while an
elevation changes, an ended one stops the polling and tells the lists, which reload."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from requests_app.lifecycle import State

pytestmark = pytest.mark.django_db

MY = reverse("requests_app:my_elevations")


def changed_event(response) -> bool:
    return "elevations-changed" in json.loads(response.headers.get("HX-Trigger-After-Settle", "{}"))


def test_a_polled_row_that_ended_stops_polling_and_tells_the_lists(
    employee_client, employee, device, make_elevation, hx
):
    elevation = make_elevation(employee, device, state=State.REVOKED)
    response = employee_client.get(reverse("requests_app:row", args=[elevation.public_id]), **hx("elevation-x"))
    assert response.status_code == 286 and changed_event(response)


def test_a_polled_row_still_changing_keeps_polling_quietly(employee_client, employee, device, make_elevation, hx):
    elevation = make_elevation(employee, device, state=State.GRANTING)
    response = employee_client.get(reverse("requests_app:row", args=[elevation.public_id]), **hx("elevation-x"))
    assert response.status_code == 200 and not changed_event(response)
    assert 'hx-trigger="every 2s"' in response.content.decode()


def test_the_live_list_reloads_with_history_and_the_forms_device_notes_out_of_band(
    employee_client, employee, device, make_elevation, hx
):
    ended = make_elevation(employee, device, state=State.REVOKED, reason="done with it")
    response = employee_client.get(MY, **hx("live-list"), HTTP_HX_CURRENT_URL="http://testserver/?page=1")
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="live-list"')
    assert f'id="elevation-{ended.public_id}"' not in body  # no longer current
    assert (
        '<section id="history" class="panel layout-history" aria-labelledby="history-title" hx-swap-oob="true"' in body
    )
    assert "done with it" in body  # ...but in History
    note = f'<span class="device-live" id="device-live-{device.public_id}" hx-swap-oob="true"></span>'
    assert note in body  # "Already requested here" cleared


def test_a_helpdesk_row_polls_its_own_url_and_stops_when_ended(
    helpdesk_client, helpdesk, employee, device, make_elevation, with_mfa, hx
):
    with_mfa(helpdesk)
    elevation = make_elevation(employee, device, state=State.GRANTING)
    url = reverse("helpdesk:row", args=[elevation.public_id])
    page = helpdesk_client.get(reverse("helpdesk:user", args=[employee.pk])).content.decode()
    assert f'hx-get="{url}" hx-trigger="every 2s"' in page
    response = helpdesk_client.get(url, **hx(f"hd-elevation-{elevation.public_id}"))
    assert response.status_code == 200 and response.content.decode().lstrip().startswith("<tr")
    elevation.state = State.REVOKED
    elevation.save(update_fields=["state"])
    response = helpdesk_client.get(url, **hx(f"hd-elevation-{elevation.public_id}"))
    assert response.status_code == 286 and changed_event(response)


def test_a_polled_helpdesk_row_keeps_its_panels_and_posts_back_to_the_page_it_sits_on(
    helpdesk_client, helpdesk, employee, device, make_elevation, with_mfa, hx
):
    with_mfa(helpdesk)
    elevation = make_elevation(employee, device, state=State.GRANTING)
    url = reverse("helpdesk:row", args=[elevation.public_id])
    page = reverse("helpdesk:user", args=[employee.pk])
    response = helpdesk_client.get(
        url, **hx(f"hd-elevation-{elevation.public_id}"), HTTP_HX_CURRENT_URL=f"http://testserver{page}?tab=live"
    )
    row = response.content.decode()
    assert f'hx-get="{url}" hx-trigger="every 2s" hx-swap="outerHTML"' in row
    assert 'data-action="extend"' in row and 'data-action="revoke"' in row
    assert row.count('name="csrfmiddlewaretoken" value="') == 2
    assert row.count(f'<input type="hidden" name="next" value="{page}?tab=live">') == 2


def test_a_helpdesk_row_without_htmx_goes_to_the_persons_page(
    helpdesk_client, helpdesk, employee, device, make_elevation, with_mfa
):
    with_mfa(helpdesk)
    elevation = make_elevation(employee, device, state=State.ACTIVE)
    response = helpdesk_client.get(reverse("helpdesk:row", args=[elevation.public_id]))
    assert response.status_code == 302 and response.url == reverse("helpdesk:user", args=[employee.pk])


def test_an_employee_cannot_poll_a_helpdesk_row(employee_client, employee, device, make_elevation, hx):
    elevation = make_elevation(employee, device, state=State.ACTIVE)
    response = employee_client.get(reverse("helpdesk:row", args=[elevation.public_id]), **hx("x"))
    assert response.status_code == 403
