"""JumpCloudDeviceProvider against JumpCloudSimulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from requests_app.providers.base import ProviderError
from requests_app.providers.jumpcloud.client import DEVICE_ADMIN_OPERATION_ID
from requests_app.providers.jumpcloud.provider import (
    JumpCloudDeviceProvider,
    JumpCloudGroupProvider,
)
from requests_app.providers.registry import provider_for


def test_registry_builds_both_jumpcloud_providers(jumpcloud, make_connection):
    assert isinstance(provider_for(make_connection(jumpcloud)), JumpCloudDeviceProvider)
    group_connection = make_connection(jumpcloud, kind="jumpcloud_group")
    assert isinstance(provider_for(group_connection), JumpCloudGroupProvider)


def test_grant_creates_the_access_request_the_contract_describes(jumpcloud, org, device_provider, device_request):
    request = device_request(org.jane, org.mac)

    result = device_provider.grant(request)

    record = jumpcloud.access_request(result.reference)
    assert result.confirmed and result.expires_at == request.expires_at
    assert record["accessState"] == "granted"
    assert record["requestorId"] == org.jane and record["resourceId"] == org.mac
    assert record["resourceType"] == "device"
    assert record["operationId"] == DEVICE_ADMIN_OPERATION_ID
    assert json.loads(base64.b64decode(record["additionalAttributes"])) == {
        "sudo": {"enabled": True, "withoutPassword": False}
    }
    assert record["remarks"].startswith("install a printer driver [elevate ")
    assert record["expiry"] == request.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_grant_sends_the_api_key_and_org_headers(jumpcloud, org, make_connection, device_request):
    provider = JumpCloudDeviceProvider(make_connection(jumpcloud, org_id=""))
    jumpcloud.require_org_id = True

    with pytest.raises(ProviderError, match="organization id") as caught:
        provider.grant(device_request(org.jane, org.mac))

    assert caught.value.permanent


def test_status_reads_the_live_request(org, device_provider, device_request):
    request = device_request(org.jane, org.mac)
    reference = device_provider.grant(request).reference

    status = device_provider.status(reference)

    assert status.state == "active" and status.is_live
    assert status.expires_at == request.expires_at.replace(microsecond=0)


def test_extend_moves_the_expiry(jumpcloud, org, device_provider, device_request):
    reference = device_provider.grant(device_request(org.jane, org.mac)).reference
    later = datetime.now(UTC) + timedelta(hours=3)

    result = device_provider.extend(reference, later)

    assert result.expires_at == later
    assert device_provider.status(reference).expires_at == later.replace(microsecond=0)
    assert jumpcloud.access_request(reference)["version"] == 1


def test_extend_of_a_finished_request_fails_permanently(org, device_provider, device_request):
    reference = device_provider.grant(device_request(org.jane, org.mac)).reference
    device_provider.revoke(reference)

    with pytest.raises(ProviderError, match="revoked") as caught:
        device_provider.extend(reference, datetime.now(UTC) + timedelta(hours=3))

    assert caught.value.permanent


def test_revoke_ends_the_request(jumpcloud, org, device_provider, device_request):
    reference = device_provider.grant(device_request(org.jane, org.mac)).reference

    device_provider.revoke(reference)

    assert jumpcloud.access_request(reference)["accessState"] == "revoked"
    status = device_provider.status(reference)
    assert status.state == "ended" and status.detail == "revoked"


def test_revoke_of_a_finished_request_counts_as_done(jumpcloud, org, device_provider, device_request):
    reference = device_provider.grant(device_request(org.jane, org.mac)).reference
    device_provider.revoke(reference)

    device_provider.revoke(reference)  # JumpCloud answers 404: already gone is done
    device_provider.revoke("f" * 24)  # never existed: also nothing left to do

    assert jumpcloud.calls("POST", "/revoke$")[-2:] == [
        ("POST", f"/api/v2/accessrequests/{reference}/revoke", 404),
        ("POST", f"/api/v2/accessrequests/{'f' * 24}/revoke", 404),
    ]


def test_request_expires_at_expiry_on_its_own(jumpcloud, org, device_provider, device_request):
    request = device_request(org.jane, org.mac, minutes=30)
    reference = device_provider.grant(request).reference

    jumpcloud.advance(30 * 60 + 1)

    status = device_provider.status(reference)
    assert status.state == "ended" and status.detail == "expired"
    device_provider.revoke(reference)  # the sweep revoking afterwards is harmless


def test_request_expires_in_real_time_without_being_asked(jumpcloud, org, device_provider, device_request):
    request = device_request(org.jane, org.mac)
    request = type(request)(**{**request.__dict__, "expires_at": datetime.now(UTC) + timedelta(seconds=1)})
    reference = device_provider.grant(request).reference
    calls_before = len(jumpcloud.log)

    time.sleep(1.6)

    assert len(jumpcloud.log) == calls_before  # nobody asked; the simulator expired it itself
    assert jumpcloud.access_request(reference)["accessState"] == "expired"


def test_rate_limit_is_transient_with_retry_after(jumpcloud, org, device_provider, device_request):
    jumpcloud.add_fault(method="POST", path="/accessrequests$", status=429, retry_after="7")

    with pytest.raises(ProviderError) as caught:
        device_provider.grant(device_request(org.jane, org.mac))

    assert not caught.value.permanent
    assert caught.value.retry_after == 7.0 and caught.value.status_code == 429
    assert jumpcloud.live_requests(org.jane, org.mac) == []
    # Until Retry-After has passed, the connection is paused: the next call is not even sent.
    with pytest.raises(ProviderError) as paused:
        device_provider.grant(device_request(org.jane, org.mac))
    assert paused.value.gated and paused.value.retry_after > 5
    assert len(jumpcloud.calls("POST", "/accessrequests$")) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_transient(jumpcloud, org, device_provider, device_request, status):
    jumpcloud.add_fault(path="/accessrequests", status=status)

    with pytest.raises(ProviderError) as caught:
        device_provider.grant(device_request(org.jane, org.mac))

    assert not caught.value.permanent and caught.value.status_code == status


def test_dropped_connection_is_transient(jumpcloud, org, device_provider, device_request):
    jumpcloud.add_fault(method="POST", path="/accessrequests$", close=True)

    with pytest.raises(ProviderError, match="connection to the provider broke") as caught:
        device_provider.grant(device_request(org.jane, org.mac))

    assert not caught.value.permanent
    assert caught.value.may_have_applied  # sent, then dropped: JumpCloud may have created it


def test_timeout_is_transient_and_the_retry_finds_the_grant_instead_of_granting_twice(
    jumpcloud, org, make_connection, device_request
):
    provider = JumpCloudDeviceProvider(make_connection(jumpcloud, timeout=0.3))
    request = device_request(org.jane, org.mac)
    # The server is slow but still creates the request after the client has given up.
    jumpcloud.add_fault(method="POST", path="/accessrequests$", delay=0.8)

    with pytest.raises(ProviderError, match="did not answer in time") as caught:
        provider.grant(request)
    assert not caught.value.permanent
    time.sleep(0.7)

    found = provider.find_grant(request)
    again = provider.grant(request)  # a retry that skipped find_grant: JumpCloud says 409

    live = jumpcloud.live_requests(org.jane, org.mac)
    assert len(live) == 1
    assert found.reference == again.reference == live[0]["accessId"]
    assert found.expires_at == request.expires_at  # not the whole-second copy: no needless extend


def test_find_grant_ignores_requests_made_for_other_elevations(org, device_provider, device_request):
    device_provider.grant(device_request(org.jane, org.mac, key="other-elevation"))

    assert device_provider.find_grant(device_request(org.jane, org.mac)) is None


def test_find_grant_without_a_list_endpoint_finds_nothing(jumpcloud, org, device_provider, device_request):
    jumpcloud.list_endpoint = False
    device_provider.grant(device_request(org.jane, org.mac))

    assert device_provider.find_grant(device_request(org.jane, org.mac)) is None


def test_find_grant_falls_back_when_the_list_refuses_the_filters(jumpcloud, org, device_provider, device_request):
    jumpcloud.add_fault(method="GET", path="/accessrequests$", status=400, times=None)

    assert device_provider.find_grant(device_request(org.jane, org.mac)) is None


def test_find_grant_raises_transient_errors_rather_than_risk_a_second_grant(
    jumpcloud, org, device_provider, device_request
):
    jumpcloud.add_fault(method="GET", path="/accessrequests$", status=503)

    with pytest.raises(ProviderError) as caught:
        device_provider.find_grant(device_request(org.jane, org.mac))

    assert not caught.value.permanent


def test_bad_api_key_is_permanent_and_says_what_to_do(jumpcloud, org, make_connection, device_request):
    provider = JumpCloudDeviceProvider(make_connection(jumpcloud, secret="wrong-key-123"))

    with pytest.raises(ProviderError) as caught:
        provider.grant(device_request(org.jane, org.mac))

    assert caught.value.permanent and caught.value.status_code == 401
    assert "API key" in caught.value.message and "wrong-key-123" not in caught.value.message


def test_read_only_key_is_permanent_and_names_the_missing_role(jumpcloud, org, make_connection, device_request):
    provider = JumpCloudDeviceProvider(make_connection(jumpcloud, secret="read-only-key"))

    with pytest.raises(ProviderError, match="writable role") as caught:
        provider.grant(device_request(org.jane, org.mac))

    assert caught.value.permanent and caught.value.status_code == 403
    assert "read-only-key" not in caught.value.message


def test_validation_error_names_the_field(org, device_provider, device_request):
    with pytest.raises(ProviderError) as caught:
        device_provider.grant(device_request(org.jane, org.mac, minutes=-5))

    assert caught.value.permanent and caught.value.status_code == 400
    assert "expiry (the end of the window)" in caught.value.message
    assert "must be in the future" in caught.value.message


def test_validation_error_names_the_operation_id(jumpcloud, org, make_connection, device_request):
    provider = JumpCloudDeviceProvider(make_connection(jumpcloud, operation_id="nope"))

    with pytest.raises(ProviderError, match="field operationId"):
        provider.grant(device_request(org.jane, org.mac))


def test_wrong_org_id_is_not_mistaken_for_already_revoked(
    jumpcloud, org, make_connection, device_provider, device_request
):
    reference = device_provider.grant(device_request(org.jane, org.mac)).reference
    provider = JumpCloudDeviceProvider(make_connection(jumpcloud, org_id="a" * 24))

    with pytest.raises(ProviderError, match="organization id") as caught:
        provider.revoke(reference)

    assert caught.value.permanent
    assert jumpcloud.access_request(reference)["accessState"] == "granted"


def test_preflight_refuses_a_user_with_sudo_through_a_group(jumpcloud, org, device_provider, device_request):
    with pytest.raises(ProviderError, match="through the JumpCloud user group server-admins") as caught:
        device_provider.preflight(device_request(org.bob, org.server))

    assert caught.value.permanent
    assert jumpcloud.calls("POST") == []


def test_jumpcloud_itself_refuses_a_grant_on_top_of_group_sudo(org, device_provider, device_request):
    with pytest.raises(ProviderError, match="through a user group") as caught:
        device_provider.grant(device_request(org.bob, org.server))

    assert caught.value.permanent


def test_preflight_notes_windows_sign_out(org, device_provider, device_request):
    notes = device_provider.preflight(device_request(org.jane, org.windows))

    assert len(notes) == 1 and "sign out" in notes[0] and "JANE-WIN" in notes[0]
    assert device_provider.preflight(device_request(org.jane, org.mac)) == []


def test_preflight_refuses_a_device_no_longer_bound(jumpcloud, org, device_provider, device_request):
    jumpcloud.unbind(org.jane, org.mac)

    with pytest.raises(ProviderError, match="not bound to your JumpCloud account"):
        device_provider.preflight(device_request(org.jane, org.mac))


def test_lookup_user_finds_the_id_by_email(jumpcloud, org, device_provider):
    assert device_provider.lookup_user("jane@example.com") == org.jane
    # The v1 filter is case sensitive; the provider tries the lower-case form too.
    assert device_provider.lookup_user("Jane@Example.com") == org.jane


def test_lookup_user_with_no_match_says_so(device_provider):
    with pytest.raises(ProviderError) as caught:
        device_provider.lookup_user("nobody@example.com")

    assert caught.value.permanent
    assert "No JumpCloud user has the e-mail address nobody@example.com" in caught.value.message


def test_lookup_user_refuses_a_suspended_account(jumpcloud, device_provider):
    jumpcloud.add_user("gone@example.com", suspended=True, state="SUSPENDED")

    with pytest.raises(ProviderError, match="suspended"):
        device_provider.lookup_user("gone@example.com")


def test_list_devices_returns_the_bound_systems(jumpcloud, org, device_provider):
    devices = device_provider.list_devices(org.jane)

    assert [(d.external_id, d.hostname, d.os_family) for d in devices] == [
        (org.mac, "JANE-MBP", "macos"),
        (org.windows, "JANE-WIN", "windows"),
    ]
    assert devices[0].os == "Mac OS X 14.5" and devices[0].last_contact_at is not None
    server = device_provider.list_devices(org.bob)
    assert [(d.hostname, d.groups) for d in server] == [("build-01", (org.servers,))]


def test_list_devices_pages_through_many_systems(jumpcloud, org, device_provider, monkeypatch):
    monkeypatch.setattr("requests_app.providers.jumpcloud.client.PAGE_SIZE", 4)
    for number in range(9):
        jumpcloud.bind(org.jane, jumpcloud.add_system(f"LAB-{number:03d}"))

    assert len(device_provider.list_devices(org.jane)) == 11
    assert len(jumpcloud.calls("GET", "/users/.*/systems$")) == 3


def test_a_removed_device_disappears_from_the_list(jumpcloud, org, device_provider):
    jumpcloud.remove_system(org.windows)

    assert [d.hostname for d in device_provider.list_devices(org.jane)] == ["JANE-MBP"]


def test_test_connection_reports_what_works(jumpcloud, org, device_provider):
    checks = device_provider.test_connection()

    assert [(c.name, c.ok) for c in checks] == [
        ("API key and organization (v1 users)", True),
        ("Graph API (v2 user groups)", True),
        ("Access requests (write role)", True),
    ]
    assert "2 users" in checks[0].detail
    assert jumpcloud.access_requests == {}  # the write probe changed nothing


def test_test_connection_with_a_read_only_key_shows_the_write_check_failing(jumpcloud, org, make_connection):
    checks = JumpCloudDeviceProvider(make_connection(jumpcloud, secret="read-only-key")).test_connection()

    assert [c.ok for c in checks] == [True, True, False]
    assert "writable role" in checks[2].detail
    assert all("read-only-key" not in c.detail for c in checks)


def test_test_connection_with_a_bad_key_fails_every_check_without_echoing_it(jumpcloud, make_connection):
    checks = JumpCloudDeviceProvider(make_connection(jumpcloud, secret="sekrit-value")).test_connection()

    assert [c.ok for c in checks] == [False, False, False]
    assert all("sekrit-value" not in c.detail for c in checks)
    assert "API key" in checks[0].detail


def test_extension_after_jumpcloud_expired_the_request_grants_anew(jumpcloud, org, device_provider, device_request):
    request = device_request(org.jane, org.mac, minutes=30)
    old = device_provider.grant(request).reference
    jumpcloud.advance(30 * 60 + 1)
    later = datetime.now(UTC) + timedelta(hours=2)

    result = device_provider.extend(old, later)
    again = device_provider.extend(old, later)  # a retried extension finds the renewal

    assert result.reference != old and again.reference == result.reference
    live = jumpcloud.live_requests(org.jane, org.mac)
    assert [r["accessId"] for r in live] == [result.reference]
    assert live[0]["remarks"] == f"install a printer driver [elevate {request.idempotency_key}]"


def test_test_connection_with_an_unknown_org_id_says_so_in_every_check(jumpcloud, make_connection):
    checks = JumpCloudDeviceProvider(make_connection(jumpcloud, org_id="b" * 24)).test_connection()

    assert [c.ok for c in checks] == [False, False, False]
    assert all("organization id" in c.detail for c in checks)


def test_a_nonsense_timeout_option_is_a_permanent_error(jumpcloud, make_connection):
    with pytest.raises(ProviderError, match=r"options\.timeout") as caught:
        JumpCloudDeviceProvider(make_connection(jumpcloud, timeout="soon"))

    assert caught.value.permanent
