"""The helpdesk page that elevates a JumpCloud user group."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from django.urls import reverse

from requests_app.lifecycle import State
from requests_app.models import Elevation, ProviderConnection

URL = "/helpdesk/jumpcloud/groups/elevate/"


@pytest.fixture
def group_connection(jumpcloud, db):
    return ProviderConnection.objects.create(
        name="JumpCloud groups", kind="jumpcloud_group", base_url=jumpcloud.base_url, secret="test-api-key"
    )


@pytest.fixture
def engineering(jumpcloud):
    return jumpcloud.add_group("engineering", attributes={"sambaEnabled": True})


@pytest.fixture
def staff_client(helpdesk, helpdesk_client):
    Authenticator.objects.create(user=helpdesk, type=Authenticator.Type.TOTP, data={})  # staff pages need MFA
    return helpdesk_client


def test_url_name_resolves():
    assert reverse("jumpcloud:group_elevation") == URL


def test_helpdesk_sees_the_form_with_the_groups_to_pick(staff_client, group_connection, engineering):
    response = staff_client.get(URL)

    assert response.status_code == 200
    assert f'<option value="{engineering}">engineering</option>' in response.content.decode()


def test_helpdesk_elevates_a_group(
    staff_client, helpdesk, group_connection, engineering, default_policy, django_capture_on_commit_callbacks
):
    data = {"connection": group_connection.pk, "group_id": engineering, "minutes": 60, "reason": "incident 7"}
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = staff_client.post(URL, data)

    elevation = Elevation.objects.get()
    assert response.status_code == 302 and response.url == f"/elevations/{elevation.public_id}/"
    assert (elevation.target_label, elevation.state, elevation.requester) == ("engineering", State.APPROVED, helpdesk)
    assert len(callbacks) >= 1  # the grant is queued after commit


def test_a_refused_group_shows_the_reason_on_the_form(jumpcloud, staff_client, group_connection, default_policy):
    admins = jumpcloud.add_group("it-admins", attributes={"sudo": {"enabled": True, "withoutPassword": False}})

    response = staff_client.post(
        URL, {"connection": group_connection.pk, "group_id": admins, "minutes": 60, "reason": "x"}
    )

    assert response.status_code == 200
    assert "already has sudo" in response.content.decode()
    assert not Elevation.objects.exists()


def test_employees_are_refused(employee_client, group_connection):
    assert employee_client.get(URL).status_code == 403


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get(URL)

    assert response.status_code == 302 and "login" in response.url


def test_wrong_method_is_405(staff_client, group_connection):
    assert staff_client.put(URL).status_code == 405
