"""Connecting an employee's own SailPoint identity (authorization code + PKCE) through the portal's
pages, against the simulator over HTTP; disconnecting it as the employee or as an admin."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.core.cache import cache
from sailpoint_helpers import connect_identity

from requests_app import execution, services
from requests_app.integrations import messages
from requests_app.lifecycle import State
from requests_app.models import AuditEvent, Device, ProviderIdentity, UserAuthorization
from requests_app.providers.jumpcloud.sync import sync_user_devices_task

pytestmark = pytest.mark.django_db
PAGE = "/sailpoint/"


def start(client, connection):
    """POST connect: Elevate redirects the browser to the tenant's authorize page."""
    response = client.post(f"{PAGE}{connection.public_id}/connect/")
    assert response.status_code == 302
    return response.url


def authorize_at_sailpoint(sailpoint, url, email):
    """The tenant signs the browser in as `email` and redirects back with code and state.
    Returns (the redirect target, its query)."""
    sailpoint.sign_in_as(email)
    answer = httpx.get(url, follow_redirects=False)
    assert answer.status_code == 302
    location = answer.headers["location"]
    return location, {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_the_connect_button_sends_the_browser_to_authorize_with_pkce(sailpoint, connection, employee_client):
    url = start(employee_client, connection)

    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith(f"{sailpoint.base_url}/oauth/authorize?")
    assert query["client_id"] == "portal" and query["response_type"] == "code"
    assert query["redirect_uri"] == "http://127.0.0.1:8000/sailpoint/callback/"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert "code_verifier" not in url


def test_connecting_stores_the_identity_and_encrypted_tokens(sailpoint, connection, employee, employee_client):
    _, query = authorize_at_sailpoint(sailpoint, start(employee_client, connection), employee.email)

    response = employee_client.get(f"{PAGE}callback/", query, follow=True)

    authorization = UserAuthorization.objects.get(user=employee)
    assert authorization.subject_id == sailpoint.identity_id(employee.email)
    assert authorization.is_live and authorization.refresh_token
    assert ProviderIdentity.objects.get(user=employee, connection=connection).external_id == authorization.subject_id
    page = response.content.decode()
    assert "SailPoint connected" in page and "Disconnect SailPoint" in page
    assert authorization.refresh_token not in page and authorization.access_token not in page
    assert AuditEvent.objects.filter(action="sailpoint.connected", target_id=str(authorization.public_id)).exists()


def test_a_callback_with_another_state_is_refused_and_stores_nothing(sailpoint, connection, employee_client):
    _, query = authorize_at_sailpoint(sailpoint, start(employee_client, connection), "erin@example.com")

    response = employee_client.get(f"{PAGE}callback/", {**query, "state": "forged"}, follow=True)

    assert "not the one Elevate started" in response.content.decode()
    assert not UserAuthorization.objects.exists()


def test_a_code_without_its_pkce_verifier_is_refused_by_the_simulator(sailpoint, connection, employee):
    from requests_app.providers.sailpoint import services as sailpoint_services

    url, pending = sailpoint_services.sailpoint_connect_start(connection=connection)
    _, query = authorize_at_sailpoint(sailpoint, url, employee.email)
    pending["verifier"] = "not-the-verifier-that-made-the-challenge-000000000"

    with pytest.raises(services.PortalError, match="PKCE verification failed"):
        sailpoint_services.sailpoint_connect_complete(
            user=employee, pending=pending, state=query["state"], code=query["code"]
        )


def test_an_identity_connected_to_another_account_is_refused(sailpoint, connection, employee, outsider):
    connect_identity(sailpoint, employee, connection)
    sailpoint.identities[outsider.email] = sailpoint.identity_id(employee.email)  # signs in as Erin

    with pytest.raises(services.PortalError, match="already connected to another Elevate account"):
        connect_identity(sailpoint, outsider, connection)

    assert not UserAuthorization.objects.filter(user=outsider).exists()


def test_a_denied_authorization_says_so(sailpoint, connection, employee_client):
    start(employee_client, connection)
    state = employee_client.session["sailpoint_oauth"]["state"]

    response = employee_client.get(
        f"{PAGE}callback/",
        {"state": state, "error": "access_denied", "error_description": "User denied access"},
        follow=True,
    )

    assert "SailPoint did not connect your identity (User denied access)" in response.content.decode()


def test_the_employee_disconnects_and_the_page_prompts_to_connect_again(
    sailpoint, connection, employee, employee_client
):
    authorization = connect_identity(sailpoint, employee, connection)

    response = employee_client.post(f"{PAGE}authorizations/{authorization.public_id}/disconnect/", follow=True)

    authorization.refresh_from_db()
    assert authorization.revoked_at is not None and authorization.refresh_token == ""
    assert not ProviderIdentity.objects.filter(user=employee, connection=connection).exists()
    assert "Connect SailPoint" in response.content.decode()
    assert AuditEvent.objects.filter(action="sailpoint.disconnected").count() == 1


def test_another_employee_cannot_disconnect_it(sailpoint, connection, employee, outsider_client):
    authorization = connect_identity(sailpoint, employee, connection)

    response = outsider_client.post(f"{PAGE}authorizations/{authorization.public_id}/disconnect/")

    assert response.status_code == 404
    assert UserAuthorization.objects.get(pk=authorization.pk).is_live


def test_an_admin_revokes_an_employees_connection(sailpoint, connection, employee, admin, admin_client, staff_mfa):
    authorization = connect_identity(sailpoint, employee, connection)

    admin_client.post(f"{PAGE}authorizations/{authorization.public_id}/disconnect/", {"reason": "left the team"})

    authorization.refresh_from_db()
    assert (authorization.revoked_by, authorization.revoke_reason) == (admin, "left the team")
    page = admin_client.get("/admin/requests_app/userauthorization/").content.decode()
    assert employee.email in page and "refresh" not in page.lower().replace("refreshed", "")


def test_the_admin_list_action_revokes(sailpoint, connection, employee, admin_client, staff_mfa):
    authorization = connect_identity(sailpoint, employee, connection)

    admin_client.post(
        "/admin/requests_app/userauthorization/",
        {"action": "revoke_authorizations", "_selected_action": [authorization.pk]},
    )

    assert not UserAuthorization.objects.get(pk=authorization.pk).is_live


def test_wrong_methods_are_405(connection, employee_client):
    assert employee_client.get(f"{PAGE}{connection.public_id}/connect/").status_code == 405
    assert employee_client.post(PAGE).status_code == 405


def test_anonymous_is_sent_to_sign_in(client, connection):
    assert client.get(PAGE).status_code == 302


def test_the_request_page_prompts_an_employee_who_never_connected(sailpoint, connection, employee, employee_client):
    cache.clear()
    sync_user_devices_task(employee.pk)

    page = employee_client.get("/request/").content.decode()

    assert "Connect SailPoint on the SailPoint page (/sailpoint/) for SailPoint" in page
    assert '<a class="btn btn-primary" href="/sailpoint/">Connect SailPoint</a>' in page


def test_the_connect_link_goes_once_the_employee_connected(sailpoint, connection, employee, employee_client):
    connect_identity(sailpoint, employee, connection)

    assert 'href="/sailpoint/">Connect SailPoint' not in employee_client.get("/request/").content.decode()


def test_connecting_lists_the_employees_jit_connections_as_devices(sailpoint, connection, employee):
    sailpoint.add_connection(identity=employee.email, entitlement="Local administrators on ERIN-MBP")
    sailpoint.add_connection(identity="omar@example.com", entitlement="Local administrators on OMAR-PC")
    connect_identity(sailpoint, employee, connection)

    assert sync_user_devices_task(employee.pk) == 1

    hostnames = list(Device.objects.filter(users=employee).values_list("hostname", flat=True))
    assert hostnames == ["Local administrators on ERIN-MBP (Corporate AD)"]


def test_a_refusal_reaches_the_portal_and_jira_in_sailpoints_words(
    sailpoint, connection, employee, default_policy, django_capture_on_commit_callbacks
):
    sailpoint.add_connection(identity=employee.email)
    connect_identity(sailpoint, employee, connection)
    sync_user_devices_task(employee.pk)
    device = Device.objects.get(users=employee)
    body = {"messages": [{"text": "Activation refused."}], "causes": [{"text": "Source is in maintenance"}]}
    sailpoint.add_fault(method="POST", path="/activate$", status=400, body=body)
    with django_capture_on_commit_callbacks(execute=False):
        elevation = services.elevation_request(requester=employee, device=device, minutes=60, reason="printer driver")

    execution.grant_step(elevation.pk)

    elevation.refresh_from_db()
    assert elevation.state == State.FAILED
    assert "SailPoint says: Activation refused. Source is in maintenance." in elevation.last_error
    comment = messages.render("failed", elevation).text
    assert "SailPoint says: Activation refused. Source is in maintenance." in comment and "{" not in comment
