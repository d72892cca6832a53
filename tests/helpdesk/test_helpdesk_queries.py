"""The console's queries do not grow with the number of live elevations or search hits."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from requests_app import services

pytestmark = pytest.mark.usefixtures("staff_mfa")


def queries_for(client, url, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params).status_code == 200
    return len(captured)


def test_console_queries_are_constant(helpdesk_client, employee, make_device, default_policy):
    def add_live():
        device = make_device(employee)
        services.elevation_request(requester=employee, device=device, minutes=60, reason="work")

    add_live()
    one = queries_for(helpdesk_client, reverse("helpdesk:console"), q="host")
    for _ in range(4):
        add_live()
    assert queries_for(helpdesk_client, reverse("helpdesk:console"), q="host") == one


def test_user_page_queries_are_constant(helpdesk_client, employee, make_device, default_policy):
    services.elevation_request(requester=employee, device=make_device(employee), minutes=60, reason="work")
    one = queries_for(helpdesk_client, reverse("helpdesk:user", args=[employee.pk]))
    for _ in range(3):
        services.elevation_request(requester=employee, device=make_device(employee), minutes=60, reason="work")
    assert queries_for(helpdesk_client, reverse("helpdesk:user", args=[employee.pk])) == one
