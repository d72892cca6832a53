"""Issue 18 items 1-3 against JumpCloudSimulator over HTTP: addresses in any case, sudo from every
path, pre-flights that cannot run, and labels that never block an elevation."""

from __future__ import annotations

import httpx
import pytest
from allauth.socialaccount.models import SocialAccount
from django.core.cache import cache

from requests_app.models import Device, ProviderConnection, ProviderIdentity
from requests_app.providers.base import ProviderError
from requests_app.providers.jumpcloud.provider import JumpCloudDeviceProvider, JumpCloudGroupProvider
from requests_app.providers.jumpcloud.services import group_elevation_request
from requests_app.providers.jumpcloud.sync import sync_user_devices_task

SUDO = {"sudo": {"enabled": True, "withoutPassword": False}}


# -- item 1: the address in any case --------------------------------------------------------------
def test_the_v1_filter_of_the_simulator_is_case_sensitive(jumpcloud):
    jumpcloud.add_user("Alex.Mixed@Example.com")

    response = httpx.get(
        f"{jumpcloud.base_url}/api/systemusers",
        params={"filter": "email:$eq:alex.mixed@example.com"},
        headers={"x-api-key": "test-api-key"},
    )

    assert response.json() == {"totalCount": 0, "results": []}


def test_a_user_stored_with_capitals_is_found_from_the_lower_case_address(jumpcloud, device_provider):
    alex = jumpcloud.add_user("Alex.Mixed@Example.com")

    assert device_provider.lookup_user("alex.mixed@example.com") == alex
    assert jumpcloud.calls("POST", "^/api/search/systemusers$")


def test_the_address_as_sent_is_tried_first_and_needs_no_search(jumpcloud, device_provider):
    alex = jumpcloud.add_user("Alex.Mixed@Example.com")

    assert device_provider.lookup_user("Alex.Mixed@Example.com") == alex
    assert jumpcloud.calls("POST", "^/api/search/systemusers$") == []


def test_a_search_hit_on_a_longer_address_is_not_taken_for_the_user(jumpcloud, device_provider):
    jumpcloud.add_user("alex.mixed@example.com.au")

    with pytest.raises(ProviderError, match="No JumpCloud user has the e-mail address") as caught:
        device_provider.lookup_user("alex.mixed@example.com")

    assert caught.value.permanent


def test_without_a_search_endpoint_the_lower_case_address_is_tried(jumpcloud, device_provider):
    jumpcloud.user_search_endpoint = False
    alex = jumpcloud.add_user("alex.mixed@example.com")

    assert device_provider.lookup_user("Alex.Mixed@Example.com") == alex
    assert ("POST", "/api/search/systemusers", 404) in jumpcloud.calls()


@pytest.fixture
def device_connection(jumpcloud, db):
    return ProviderConnection.objects.create(
        name="JumpCloud devices", kind="jumpcloud", base_url=jumpcloud.base_url, secret="test-api-key"
    )


def test_sign_in_sync_finds_the_user_by_the_address_the_identity_provider_sent(jumpcloud, employee, device_connection):
    SocialAccount.objects.create(
        user=employee, provider="openid_connect", uid="erin", extra_data={"userinfo": {"email": "Erin@Example.com"}}
    )
    erin = jumpcloud.add_user("Erin@Example.com")
    jumpcloud.bind(erin, jumpcloud.add_system("ERIN-MBP"))

    assert sync_user_devices_task(employee.pk) == 1

    assert ProviderIdentity.objects.get(user=employee).external_id == erin
    assert list(Device.objects.filter(users=employee).values_list("hostname", flat=True)) == ["ERIN-MBP"]
    first_lookup = jumpcloud.calls("GET", "^/api/systemusers$")[0]
    assert first_lookup[2] == 200 and jumpcloud.calls("POST", "search") == []


def test_the_request_page_says_when_no_jumpcloud_user_matches(jumpcloud, employee, employee_client, device_connection):
    cache.clear()
    jumpcloud.add_user("someone.else@example.com")

    assert sync_user_devices_task(employee.pk) == 0
    page = employee_client.get("/request/").content.decode()

    assert "No JumpCloud user has the e-mail address erin@example.com" in page
    assert "JumpCloud devices" in page


def test_the_message_goes_once_the_user_is_found(jumpcloud, employee, employee_client, device_connection):
    cache.clear()
    sync_user_devices_task(employee.pk)
    jumpcloud.add_user("ERIN@example.com")

    sync_user_devices_task(employee.pk)

    assert "No JumpCloud user" not in employee_client.get("/request/").content.decode()


# -- item 2: sudo from every path, pre-flights that cannot run -------------------------------------
@pytest.mark.parametrize("sudo_on_hops", [True, False], ids=["hops-carry-sudo", "only-compiled-attributes"])
def test_group_sudo_is_found_when_the_user_is_also_bound_directly(
    jumpcloud, org, device_provider, device_request, sudo_on_hops
):
    jumpcloud.sudo_on_hops = sudo_on_hops
    jumpcloud.bind(org.bob, org.server)  # a direct binding beside the group path

    with pytest.raises(ProviderError, match="through the JumpCloud user group server-admins") as caught:
        device_provider.preflight(device_request(org.bob, org.server))

    assert caught.value.permanent


def test_a_direct_sudo_binding_is_noted_not_refused(jumpcloud, org, device_provider, device_request):
    jumpcloud.bind(org.jane, org.mac, SUDO)

    notes = device_provider.preflight(device_request(org.jane, org.mac))

    assert any("already has admin rights on JANE-MBP permanently" in note for note in notes)


@pytest.mark.parametrize("status", [429, 503])
def test_a_device_preflight_that_cannot_run_raises_a_transient_error(
    jumpcloud, org, device_provider, device_request, status
):
    jumpcloud.add_fault(method="GET", path="/systems$", status=status, retry_after="2")

    with pytest.raises(ProviderError) as caught:
        device_provider.preflight(device_request(org.jane, org.mac))

    assert not caught.value.permanent and caught.value.retry_after == 2


def test_a_group_preflight_that_cannot_run_raises_a_transient_error(jumpcloud, org, group_provider, group_request):
    jumpcloud.add_fault(method="GET", path="/associations$", status=502)

    with pytest.raises(ProviderError) as caught:
        group_provider.preflight(group_request(org.admins, device_group_id=org.servers))

    assert not caught.value.permanent


def test_preflight_changes_nothing_and_answers_the_same_twice(jumpcloud, org, device_provider, device_request):
    request = device_request(org.jane, org.windows)

    first, second = device_provider.preflight(request), device_provider.preflight(request)

    assert first == second
    assert [c for c in jumpcloud.calls() if c[0] != "GET"] == []


# -- item 3: a label never blocks association mode -------------------------------------------------
@pytest.fixture
def group_connection(jumpcloud, db):
    return ProviderConnection.objects.create(
        name="JumpCloud groups", kind="jumpcloud_group", base_url=jumpcloud.base_url, secret="test-api-key"
    )


def test_association_mode_starts_when_the_device_group_cannot_be_read(
    jumpcloud, helpdesk, group_connection, default_policy
):
    jumpcloud.system_group_endpoint = False  # outside the contract notes: a tenant may answer 404
    cache.clear()
    engineering = jumpcloud.add_group("engineering")
    servers = jumpcloud.add_system_group("linux-servers", [jumpcloud.add_system("build-02")])
    jumpcloud.associate(engineering, "system_group", servers)

    elevation = group_elevation_request(
        requester=helpdesk,
        connection=group_connection,
        group_id=engineering,
        device_group_id=servers,
        minutes=60,
        reason="incident 9: patch",
    )

    assert elevation.target_label == f"engineering on {servers}"
    assert elevation.target_options == {"device_group_id": servers}


def test_the_last_device_group_name_seen_stands_in_when_it_cannot_be_read(jumpcloud, org, make_connection):
    cache.clear()
    provider = JumpCloudGroupProvider(make_connection(jumpcloud, kind="jumpcloud_group"))
    assert provider.group_label(org.admins, org.servers) == "server-admins on linux-servers"

    jumpcloud.add_fault(method="GET", path="/systemgroups/", status=503, times=None)

    assert provider.group_label(org.admins, org.servers) == "server-admins on linux-servers"


def test_a_user_group_name_that_cannot_be_read_does_not_stop_a_device_refusal(
    jumpcloud, org, make_connection, device_request
):
    cache.clear()
    jumpcloud.add_fault(method="GET", path="^/api/v2/usergroups/", status=404, times=None)
    provider = JumpCloudDeviceProvider(make_connection(jumpcloud))

    with pytest.raises(ProviderError, match=f"user group {org.admins}") as caught:
        provider.preflight(device_request(org.bob, org.server))

    assert caught.value.permanent
