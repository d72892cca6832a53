"""SailPointProvider against SailPointSimulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import types
from datetime import UTC, datetime, timedelta

import pytest
from sailpoint_helpers import CLIENT_ID, CLIENT_SECRET

from requests_app.providers.base import GrantRequest, ProviderError
from requests_app.providers.registry import provider_for
from requests_app.providers.sailpoint.client import SailPointClient, clear_token_cache
from requests_app.providers.sailpoint.provider import ActivationReference, SailPointProvider


@pytest.fixture
def jane_connection(sailpoint):
    return sailpoint.add_connection(identity="jane@example.com")


def make_connection(sailpoint, **options):
    return types.SimpleNamespace(
        kind="sailpoint",
        name="SailPoint test tenant",
        base_url=sailpoint.base_url,
        org_id="",
        client_id=CLIENT_ID,
        secret=CLIENT_SECRET,
        options=options,
    )


@pytest.fixture
def provider(sailpoint):
    return SailPointProvider(make_connection(sailpoint))


def grant_request(connection_id: str, minutes: int = 60) -> GrantRequest:
    return GrantRequest(
        idempotency_key="0b7f8f0e-0000-4000-8000-000000000001",
        user_external_id="jane@example.com",
        target_external_id=connection_id,
        target_kind="device",
        expires_at=datetime.now(UTC) + timedelta(minutes=minutes),
        reason="install a printer driver",
    )


def test_registry_builds_the_sailpoint_provider(sailpoint):
    assert isinstance(provider_for(make_connection(sailpoint)), SailPointProvider)


def test_grant_is_unconfirmed_until_history_shows_it_provisioned(sailpoint, jane_connection):
    sailpoint.activation_delay = 30.0
    provider = SailPointProvider(make_connection(sailpoint))

    result = provider.grant(grant_request(jane_connection, minutes=60))

    assert result.confirmed is False
    assert provider.status(result.reference).state == "pending"
    sailpoint.advance(31)
    status = provider.status(result.reference)
    assert status.state == "active"
    assert status.expires_at == result.expires_at


def test_grant_asks_for_whole_minutes_and_records_the_end(sailpoint, provider, jane_connection):
    result = provider.grant(grant_request(jane_connection, minutes=90))

    activation = sailpoint.activations[-1]
    assert activation["periodMins"] == 90
    ref = ActivationReference.parse(result.reference)
    assert ref.connection_id == jane_connection
    assert ref.activation_id == activation["activationId"]
    assert abs((result.expires_at - datetime.now(UTC)).total_seconds() - 90 * 60) < 5


def test_activation_completes_on_its_own_at_the_end(sailpoint, provider, jane_connection):
    result = provider.grant(grant_request(jane_connection, minutes=5))
    assert provider.status(result.reference).state == "active"

    sailpoint.advance(5 * 60 + 1)

    status = provider.status(result.reference)
    assert status.state == "ended"
    assert status.detail == "COMPLETE"


def test_extend_adds_the_missing_minutes_and_returns_the_new_reference(sailpoint, provider, jane_connection):
    result = provider.grant(grant_request(jane_connection, minutes=30))

    extended = provider.extend(result.reference, result.expires_at + timedelta(minutes=45))

    assert sailpoint.activations[-1]["periodMins"] == 75
    assert extended.expires_at == result.expires_at + timedelta(minutes=45)
    assert ActivationReference.parse(extended.reference).ends_at == extended.expires_at
    sailpoint.advance(31 * 60)
    assert provider.status(extended.reference).state == "active"


def test_extend_to_an_earlier_end_calls_nothing(sailpoint, provider, jane_connection):
    result = provider.grant(grant_request(jane_connection))

    again = provider.extend(result.reference, result.expires_at - timedelta(minutes=5))

    assert again.reference == result.reference
    assert sailpoint.calls("POST", "/extend$") == []


def test_extend_after_the_end_is_a_permanent_error(sailpoint, provider, jane_connection):
    result = provider.grant(grant_request(jane_connection, minutes=1))
    sailpoint.advance(120)

    with pytest.raises(ProviderError) as caught:
        provider.extend(result.reference, result.expires_at + timedelta(minutes=10))

    assert caught.value.permanent
    assert "already ended" in caught.value.message


def test_revoke_deactivates_the_running_workflow(sailpoint, provider, jane_connection):
    result = provider.grant(grant_request(jane_connection))

    provider.revoke(result.reference)

    assert sailpoint.calls("POST", "/deactivate$") == [("POST", "/jit-activations/v1/deactivate", 202)]
    status = provider.status(result.reference)
    assert status.state == "ended"
    assert status.detail == "REVOKED"


@pytest.mark.parametrize("not_running_status", [404, 400])
def test_revoke_of_a_completed_workflow_counts_as_revoked(sailpoint, provider, jane_connection, not_running_status):
    sailpoint.not_running_status = not_running_status
    sailpoint.history_enabled = False  # forces the deactivate call instead of the history check
    result = provider.grant(grant_request(jane_connection, minutes=1))
    sailpoint.advance(61)

    provider.revoke(result.reference)  # no error

    assert sailpoint.calls("POST", "/deactivate$")[-1][2] == not_running_status


def test_revoke_never_stops_a_newer_activation_of_the_same_connection(sailpoint, provider, jane_connection):
    old = provider.grant(grant_request(jane_connection, minutes=1))
    sailpoint.advance(61)
    new = provider.grant(grant_request(jane_connection, minutes=60))

    provider.revoke(old.reference)

    assert sailpoint.calls("POST", "/deactivate$") == []
    assert provider.status(new.reference).state == "active"


def test_workflow_that_fails_before_granting_is_a_permanent_error(sailpoint, provider):
    broken = sailpoint.add_connection(fail_with="Upstream provisioning failed (503)")
    result = provider.grant(grant_request(broken))

    with pytest.raises(ProviderError) as caught:
        provider.status(result.reference)

    assert caught.value.permanent
    assert "Upstream provisioning failed" in caught.value.message


def test_second_activation_while_one_runs_is_refused_permanently(sailpoint, provider, jane_connection):
    provider.grant(grant_request(jane_connection))

    with pytest.raises(ProviderError) as caught:
        provider.grant(grant_request(jane_connection))

    assert caught.value.permanent
    assert caught.value.status_code == 400
    assert "already running" in caught.value.message


def test_find_grant_recovers_a_running_activation(sailpoint, provider, jane_connection):
    request = grant_request(jane_connection)
    made = provider.grant(request)

    found = provider.find_grant(request)

    assert found is not None
    assert ActivationReference.parse(found.reference).activation_id == (
        ActivationReference.parse(made.reference).activation_id
    )


def test_find_grant_without_history_access_returns_none(sailpoint, provider, jane_connection):
    sailpoint.history_enabled = False
    assert provider.find_grant(grant_request(jane_connection)) is None


def test_token_is_cached_between_calls(sailpoint, provider, jane_connection):
    result = provider.grant(grant_request(jane_connection))
    provider.status(result.reference)
    provider.status(result.reference)

    assert len(sailpoint.calls("POST", "^/oauth/token$")) == 1


def test_token_is_refreshed_shortly_before_it_expires(sailpoint, provider, jane_connection):
    sailpoint.token_ttl = 1  # a fifth of a second of margin: the cache refreshes after 0.8 s
    result = provider.grant(grant_request(jane_connection))
    clear_token_cache()
    provider.status(result.reference)
    import time

    time.sleep(0.9)
    provider.status(result.reference)

    assert len(sailpoint.calls("POST", "^/oauth/token$")) == 3


def test_revoked_token_is_replaced_once_on_401(sailpoint, provider, jane_connection):
    result = provider.grant(grant_request(jane_connection))
    sailpoint.expire_tokens()

    assert provider.status(result.reference).state == "active"
    assert ("GET", "/jit-activation-history/v1", 401) in sailpoint.calls()


def test_bad_client_secret_is_permanent_and_never_logged(sailpoint, jane_connection, caplog):
    connection = make_connection(sailpoint)
    connection.secret = "wrong-secret"
    provider = SailPointProvider(connection)

    with pytest.raises(ProviderError) as caught:
        provider.grant(grant_request(jane_connection))

    assert caught.value.permanent
    assert caught.value.status_code == 401
    assert "wrong-secret" not in caught.value.message
    assert "wrong-secret" not in caplog.text
    assert "wrong-secret" not in repr(provider.client())


def test_rate_limit_is_transient_with_retry_after(sailpoint, provider, jane_connection):
    sailpoint.add_fault(
        method="POST", path="/activate$", status=429, retry_after="7", body={"message": " Rate Limit Exceeded "}
    )

    with pytest.raises(ProviderError) as caught:
        provider.grant(grant_request(jane_connection))

    assert not caught.value.permanent
    assert caught.value.retry_after == 7.0


def test_server_error_is_transient(sailpoint, provider, jane_connection):
    sailpoint.add_fault(method="POST", path="/activate$", status=500)

    with pytest.raises(ProviderError) as caught:
        provider.grant(grant_request(jane_connection))

    assert not caught.value.permanent


def test_forbidden_is_permanent(sailpoint, provider, jane_connection):
    sailpoint.add_fault(method="POST", path="/activate$", status=403)

    with pytest.raises(ProviderError) as caught:
        provider.grant(grant_request(jane_connection))

    assert caught.value.permanent


def test_dropped_connection_is_transient(sailpoint, provider, jane_connection):
    sailpoint.add_fault(method="POST", path="/activate$", close=True)

    with pytest.raises(ProviderError) as caught:
        provider.grant(grant_request(jane_connection))

    assert not caught.value.permanent


def test_unknown_connection_is_a_permanent_400(sailpoint, provider):
    with pytest.raises(ProviderError) as caught:
        provider.grant(grant_request("00000000-0000-4000-8000-000000000000"))

    assert caught.value.permanent
    assert "was not found" in caught.value.message


def test_preflight_refuses_periods_over_the_configured_maximum(sailpoint, jane_connection):
    provider = SailPointProvider(make_connection(sailpoint, max_activation_minutes=120))

    with pytest.raises(ProviderError):
        provider.preflight(grant_request(jane_connection, minutes=180))
    assert provider.preflight(grant_request(jane_connection, minutes=60)) == []


def test_grant_without_any_connection_id_is_permanent(sailpoint, provider):
    with pytest.raises(ProviderError) as caught:
        provider.grant(grant_request(""))
    assert caught.value.permanent


def test_connection_option_is_the_fallback_target(sailpoint, jane_connection):
    provider = SailPointProvider(make_connection(sailpoint, connection_id=jane_connection))

    result = provider.grant(grant_request(""))

    assert ActivationReference.parse(result.reference).connection_id == jane_connection


def test_missing_experimental_header_is_refused_by_the_simulator(sailpoint, jane_connection):
    client = SailPointClient(sailpoint.base_url, CLIENT_ID, CLIENT_SECRET)
    client._http.headers.pop("X-SailPoint-Experimental")

    with pytest.raises(ProviderError) as caught:
        client.activate(jane_connection, 10)

    assert caught.value.status_code == 400


def test_list_devices_offers_the_users_entitlement_connections(sailpoint):
    provider = SailPointProvider(
        make_connection(
            sailpoint,
            entitlement_connections=[
                {"id": "c1", "name": "Admin on JDOE-MBP", "users": ["Jane@example.com"]},
                {"id": "c2", "name": "Admin on OMAR-PC", "users": ["omar@example.com"]},
                {"id": "c3", "name": "Shared lab admin"},
            ],
        )
    )

    devices = provider.list_devices(provider.lookup_user("jane@example.com"))

    assert [d.external_id for d in devices] == ["c1", "c3"]


def test_test_connection_reports_sign_in(sailpoint, jane_connection):
    good = SailPointProvider(make_connection(sailpoint, connection_id=jane_connection))
    bad_connection = make_connection(sailpoint)
    bad_connection.secret = "nope"

    assert all(check.ok for check in good.test_connection())
    assert not SailPointProvider(bad_connection).test_connection()[0].ok


def test_without_history_access_grants_cannot_be_confirmed_and_say_why(sailpoint, provider, jane_connection):
    result = provider.grant(grant_request(jane_connection))
    sailpoint.history_enabled = False

    with pytest.raises(ProviderError) as caught:
        provider.status(result.reference)

    assert caught.value.permanent
    assert "idn:jit-activation-history:read" in caught.value.message


def test_trusting_accepted_activations_confirms_without_history(sailpoint, jane_connection):
    provider = SailPointProvider(make_connection(sailpoint, trust_accepted_activations=True))
    result = provider.grant(grant_request(jane_connection, minutes=5))
    sailpoint.history_enabled = False

    assert provider.status(result.reference).state == "active"
    sailpoint.advance(301)
    provider.revoke(result.reference)  # deactivate answers 404 now: counted as revoked
