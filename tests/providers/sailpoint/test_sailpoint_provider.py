"""SailPointProvider against SailPointSimulator over real HTTP on 127.0.0.1, acting with the
beneficiary's own token (authorization code + refresh token)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sailpoint_helpers import connect_identity

from helpers import make_persona
from requests_app.models import UserAuthorization
from requests_app.providers.base import GrantRequest, ProviderError
from requests_app.providers.registry import provider_for
from requests_app.providers.sailpoint.client import SailPointClient
from requests_app.providers.sailpoint.oauth import UserTokens
from requests_app.providers.sailpoint.provider import ActivationReference, SailPointProvider


def grant_request(authorization, connection_id: str, minutes: int = 60) -> GrantRequest:
    return GrantRequest(
        idempotency_key="0b7f8f0e-0000-4000-8000-000000000001",
        user_external_id=authorization.subject_id,
        target_external_id=connection_id,
        target_kind="device",
        expires_at=datetime.now(UTC) + timedelta(minutes=minutes),
        reason="install a printer driver",
    )


@pytest.fixture
def jane_request(jane_authorization, jane_connection):
    def make(minutes: int = 60, connection_id: str | None = None) -> GrantRequest:
        return grant_request(jane_authorization, jane_connection if connection_id is None else connection_id, minutes)

    return make


def test_registry_builds_the_sailpoint_provider(connection):
    assert isinstance(provider_for(connection), SailPointProvider)


# -- the grant lifecycle in Jane's own context ---------------------------------------------------
def test_grant_is_unconfirmed_until_history_shows_it_provisioned(sailpoint, provider, jane_request):
    sailpoint.activation_delay = 30.0

    result = provider.grant(jane_request(60))

    assert result.confirmed is False
    assert provider.status(result.reference).state == "pending"
    sailpoint.advance(31)
    status = provider.status(result.reference)
    assert status.state == "active"
    assert status.expires_at == result.expires_at


def test_grant_asks_for_whole_minutes_and_records_whose_it_is(sailpoint, provider, jane_request, jane_authorization):
    result = provider.grant(jane_request(90))

    activation = sailpoint.activations[-1]
    assert activation["periodMins"] == 90
    ref = ActivationReference.parse(result.reference)
    assert ref.identity_id == jane_authorization.subject_id == sailpoint.identity_id("jane@example.com")
    assert ref.activation_id == activation["activationId"]
    assert abs((result.expires_at - datetime.now(UTC)).total_seconds() - 90 * 60) < 5


def test_activation_completes_on_its_own_at_the_end(sailpoint, provider, jane_request):
    result = provider.grant(jane_request(5))
    assert provider.status(result.reference).state == "active"

    sailpoint.advance(5 * 60 + 1)

    status = provider.status(result.reference)
    assert (status.state, status.detail) == ("ended", "COMPLETE")


def test_extend_adds_the_missing_minutes_and_returns_the_new_reference(sailpoint, provider, jane_request):
    result = provider.grant(jane_request(30))

    extended = provider.extend(result.reference, result.expires_at + timedelta(minutes=45))

    assert sailpoint.activations[-1]["periodMins"] == 75
    assert extended.expires_at == result.expires_at + timedelta(minutes=45)
    assert ActivationReference.parse(extended.reference).ends_at == extended.expires_at
    sailpoint.advance(31 * 60)
    assert provider.status(extended.reference).state == "active"


def test_extend_to_an_earlier_end_calls_nothing(sailpoint, provider, jane_request):
    result = provider.grant(jane_request())

    again = provider.extend(result.reference, result.expires_at - timedelta(minutes=5))

    assert again.reference == result.reference
    assert sailpoint.calls("POST", "/extend$") == []


def test_extend_after_the_end_is_a_permanent_error(sailpoint, provider, jane_request):
    result = provider.grant(jane_request(1))
    sailpoint.advance(120)

    with pytest.raises(ProviderError, match="already ended") as caught:
        provider.extend(result.reference, result.expires_at + timedelta(minutes=10))

    assert caught.value.permanent


# -- item 4: ownership --------------------------------------------------------------------------
def test_another_identitys_connection_is_refused_with_sailpoints_words(sailpoint, provider, jane_authorization):
    omars = sailpoint.add_connection(identity="omar@example.com")

    with pytest.raises(ProviderError) as caught:
        provider.grant(grant_request(jane_authorization, omars))

    assert caught.value.permanent and caught.value.status_code == 403
    assert f"Entitlement connection {omars} belongs to another identity." in caught.value.message
    assert "API key" not in caught.value.message
    assert sailpoint.activations == []


def test_each_employee_activates_with_their_own_token(sailpoint, connection, provider, jane_request):
    omar = make_persona("omar@example.com", "employee")
    omars = sailpoint.add_connection(identity=omar.email)
    omar_authorization = connect_identity(sailpoint, omar, connection)

    provider.grant(jane_request())
    provider.grant(grant_request(omar_authorization, omars))

    owners = [sailpoint.connections[a["connectionId"]]["identity"] for a in sailpoint.activations]
    assert owners == ["jane@example.com", "omar@example.com"]


def test_list_devices_offers_the_employees_own_jit_connections(sailpoint, provider, jane_connection, jane):
    sailpoint.add_connection(identity="omar@example.com", entitlement="Local administrators on OMAR-PC")

    devices = provider.list_devices(provider.lookup_user(jane.email))

    assert [(d.external_id, d.hostname) for d in devices] == [
        (jane_connection, "Local administrators on JANE-MBP (Corporate AD)")
    ]
    assert sailpoint.calls("GET", "^/entitlement-connections/v1/current-identity$")


def test_lookup_of_an_employee_who_never_connected_prompts_to_connect(connection, sailpoint):
    with pytest.raises(ProviderError, match=r"Connect SailPoint on the SailPoint page \(/sailpoint/\)") as caught:
        connection.provider.lookup_user("omar@example.com")

    assert caught.value.permanent


def test_a_revoked_connection_prompts_to_connect_again(provider, jane_request, jane_authorization, jane):
    from requests_app.providers.sailpoint.services import user_authorization_revoke

    user_authorization_revoke(authorization=jane_authorization, actor=jane)

    with pytest.raises(ProviderError, match=r"Your SailPoint connection was revoked\. Connect SailPoint"):
        provider.grant(jane_request())
    with pytest.raises(ProviderError, match="revoked"):
        provider.lookup_user(jane.email)


# -- tokens: renewed before use, rotated, refused -------------------------------------------------
def test_the_stored_access_token_is_used_until_shortly_before_it_expires(sailpoint, provider, jane_request):
    result = provider.grant(jane_request())
    provider.status(result.reference)

    assert len(sailpoint.calls("POST", "^/oauth/token$")) == 1  # only the code exchange


def test_an_access_token_about_to_expire_is_renewed_before_use(sailpoint, provider, jane_request, jane_authorization):
    UserAuthorization.objects.filter(pk=jane_authorization.pk).update(access_expires_at=datetime.now(UTC))
    old_refresh = jane_authorization.refresh_token

    provider.grant(jane_request())

    stored = UserAuthorization.objects.get(pk=jane_authorization.pk)
    assert len(sailpoint.calls("POST", "^/oauth/token$")) == 2
    assert stored.refresh_token != old_refresh  # the simulator rotates it: the new one is kept
    assert stored.refreshed_at is not None
    assert ("POST", "/jit-activations/v1/activate", 401) not in sailpoint.calls()


def test_a_rotated_refresh_token_survives_a_rolled_back_transaction(
    sailpoint, provider, jane_request, jane_authorization
):
    from django.db import transaction

    UserAuthorization.objects.filter(pk=jane_authorization.pk).update(access_expires_at=datetime.now(UTC))
    with pytest.raises(RuntimeError), transaction.atomic():
        provider.grant(jane_request())  # renews (SailPoint rotates the refresh token) and activates
        raise RuntimeError("the grant step failed after the call: its writes roll back")
    stored = UserAuthorization.objects.get(pk=jane_authorization.pk)
    assert stored.refresh_token == jane_authorization.refresh_token  # the old, spent one

    assert provider.status(provider.find_grant(jane_request()).reference).state == "active"
    assert sailpoint.calls("POST", "^/oauth/token$")[-1][2] == 200


def test_a_token_refused_with_401_is_renewed_once(sailpoint, provider, jane_request):
    result = provider.grant(jane_request())
    sailpoint.expire_tokens()

    assert provider.status(result.reference).state == "active"
    assert ("GET", "/jit-activation-history/v1/current-identity", 401) in sailpoint.calls()


def test_a_refresh_token_revoked_at_sailpoint_prompts_to_connect_again(sailpoint, provider, jane_request):
    sailpoint.revoke_refresh_tokens("jane@example.com")

    with pytest.raises(ProviderError, match="SailPoint no longer accepts your connection") as caught:
        provider.grant(jane_request())

    assert caught.value.permanent
    assert sailpoint.activations == []


def test_tokens_are_encrypted_at_rest(jane_authorization):
    from django.db import connection as db

    with db.cursor() as cursor:
        cursor.execute(
            "SELECT refresh_token, access_token FROM requests_app_userauthorization WHERE id = %s",
            [jane_authorization.pk],
        )
        stored_refresh, stored_access = cursor.fetchone()

    assert jane_authorization.refresh_token not in stored_refresh
    assert jane_authorization.access_token not in stored_access


# -- item 5: revoke is done when the history says REVOKED ---------------------------------------
def test_revoke_is_not_done_while_sailpoint_deprovisions(sailpoint, provider, jane_request):
    sailpoint.deprovision_delay = 30.0
    result = provider.grant(jane_request())

    assert provider.revoke(result.reference) is False
    assert provider.revoke(result.reference) is False  # still DEPROVISIONING: no second signal
    assert sailpoint.calls("POST", "/deactivate$") == [("POST", "/jit-activations/v1/deactivate", 202)]

    sailpoint.advance(31)

    assert provider.revoke(result.reference) is True
    assert len(sailpoint.calls("POST", "/deactivate$")) == 1
    assert provider.status(result.reference).detail == "REVOKED"


@pytest.mark.parametrize("not_running_status", [404, 400])
def test_revoke_of_a_workflow_that_no_longer_runs_is_done(sailpoint, provider, jane_request, not_running_status):
    sailpoint.not_running_status = not_running_status
    sailpoint.history_enabled = False  # forces the deactivate call instead of the history check
    result = provider.grant(jane_request(1))
    sailpoint.advance(61)

    assert provider.revoke(result.reference) is True
    assert sailpoint.calls("POST", "/deactivate$")[-1][2] == not_running_status


def test_revoke_without_history_is_confirmed_by_the_next_deactivate(sailpoint, provider, jane_request):
    sailpoint.deprovision_delay = 30.0
    result = provider.grant(jane_request())
    sailpoint.history_enabled = False

    assert provider.revoke(result.reference) is False
    assert provider.revoke(result.reference) is True


def test_revoke_never_stops_a_newer_activation_of_the_same_connection(sailpoint, provider, jane_request):
    old = provider.grant(jane_request(1))
    sailpoint.advance(61)
    new = provider.grant(jane_request(60))

    assert provider.revoke(old.reference) is True

    assert sailpoint.calls("POST", "/deactivate$") == []
    assert provider.status(new.reference).state == "active"


def test_find_grant_recovers_an_activation_whose_answer_was_lost(sailpoint, provider, jane_request):
    sailpoint.add_fault(method="POST", path="/activate$", delay=1.5)
    request = jane_request()
    client = SailPointClient(sailpoint.base_url, _tokens(provider, request), timeout=httpx.Timeout(0.5))
    with pytest.raises(ProviderError, match="did not answer in time"):
        client.activate(request.target_external_id, 60)
    time.sleep(1.2)  # the simulator finishes the activation the client gave up on

    found = provider.find_grant(request)

    assert found is not None
    assert ActivationReference.parse(found.reference).activation_id == sailpoint.activations[-1]["activationId"]


def _tokens(provider, request):
    return UserTokens.for_identity(provider.connection, request.user_external_id)


def test_a_second_grant_for_a_running_activation_adopts_it(sailpoint, provider, jane_request):
    first = provider.grant(jane_request())

    again = provider.grant(jane_request())

    assert ActivationReference.parse(again.reference).activation_id == (
        ActivationReference.parse(first.reference).activation_id
    )
    assert len(sailpoint.activations) == 1


def test_workflow_that_fails_before_granting_is_a_permanent_error(sailpoint, provider, jane_authorization):
    broken = sailpoint.add_connection(identity="jane@example.com", fail_with="Upstream provisioning failed (503)")
    result = provider.grant(grant_request(jane_authorization, broken))

    with pytest.raises(ProviderError, match="Upstream provisioning failed") as caught:
        provider.status(result.reference)

    assert caught.value.permanent


# -- item 6: SailPoint's own words ----------------------------------------------------------------
def test_error_messages_and_causes_are_shown_not_raw_json(sailpoint, provider, jane_request):
    body = {
        "detailCode": "400.1 Bad Request Content",
        "trackingId": "b21b1f7ce4da4d639f2c62a57171b427",
        "messages": [{"locale": "en-US", "localeOrigin": "DEFAULT", "text": "The request was not valid."}],
        "causes": [{"locale": "en-US", "localeOrigin": "DEFAULT", "text": "Connection is not JIT eligible"}],
    }
    sailpoint.add_fault(method="POST", path="/activate$", status=400, body=body)

    with pytest.raises(ProviderError) as caught:
        provider.grant(jane_request())

    assert caught.value.message == (
        "SailPoint activate: SailPoint says: The request was not valid. Connection is not JIT eligible. "
        "(HTTP 400, tracking id b21b1f7ce4da4d639f2c62a57171b427)"
    )
    assert "{" not in caught.value.message and caught.value.permanent


def test_a_server_error_dto_is_transient_and_readable(sailpoint, provider, jane_request):
    body = {"detailCode": "500.0 Internal Fault", "messages": [{"text": "An internal fault occurred."}]}
    sailpoint.add_fault(method="POST", path="/activate$", status=500, body=body, retry_after="4")

    with pytest.raises(ProviderError, match=r"SailPoint says: An internal fault occurred\.") as caught:
        provider.grant(jane_request())

    assert not caught.value.permanent and caught.value.retry_after == 4.0


def test_rate_limit_is_transient_with_retry_after(sailpoint, provider, jane_request):
    sailpoint.add_fault(
        method="POST", path="/activate$", status=429, retry_after="7", body={"message": " Rate Limit Exceeded "}
    )

    with pytest.raises(ProviderError) as caught:
        provider.grant(jane_request())

    assert not caught.value.permanent and caught.value.retry_after == 7.0


def test_dropped_connection_is_transient(sailpoint, provider, jane_request):
    sailpoint.add_fault(method="POST", path="/activate$", close=True)

    with pytest.raises(ProviderError) as caught:
        provider.grant(jane_request())

    assert not caught.value.permanent


def test_unknown_connection_is_a_permanent_400_in_sailpoints_words(provider, jane_request):
    with pytest.raises(ProviderError, match=r"SailPoint says: Entitlement connection \S+ was not found\.") as caught:
        provider.grant(jane_request(connection_id="00000000-0000-4000-8000-000000000000"))

    assert caught.value.permanent


# -- pre-flight, configuration ---------------------------------------------------------------------
def test_preflight_refuses_periods_over_the_configured_maximum(connection, provider, jane_request):
    connection.options = {"max_activation_minutes": 120}

    with pytest.raises(ProviderError):
        connection.provider.preflight(jane_request(180))
    assert connection.provider.preflight(jane_request(60)) == []


def test_preflight_refuses_an_entitlement_connection_that_is_not_the_employees(
    sailpoint, provider, jane_authorization, jane_request
):
    omars = sailpoint.add_connection(identity="omar@example.com")

    with pytest.raises(ProviderError, match="not one of your own JIT connections") as caught:
        provider.preflight(grant_request(jane_authorization, omars))

    assert caught.value.permanent
    assert provider.preflight(jane_request()) == []
    assert sailpoint.calls("POST", "^/jit-activations/") == []


@pytest.mark.parametrize("status", [429, 503])
def test_a_preflight_that_cannot_run_raises_a_transient_error(sailpoint, provider, jane_request, status):
    sailpoint.add_fault(method="GET", path="^/entitlement-connections/", status=status, retry_after="3")

    with pytest.raises(ProviderError) as caught:
        provider.preflight(jane_request())

    assert not caught.value.permanent and caught.value.retry_after == 3.0


def test_preflight_of_an_employee_without_tokens_prompts_to_connect(connection, provider, jane_request):
    request = jane_request()
    UserAuthorization.objects.update(refresh_token="", revoked_at=datetime.now(UTC))

    with pytest.raises(ProviderError, match="Connect SailPoint"):
        connection.provider.preflight(request)


def test_missing_experimental_header_is_refused_by_the_simulator(sailpoint, provider, jane_request):
    request = jane_request()
    client = SailPointClient(sailpoint.base_url, _tokens(provider, request))
    client._http.headers.pop("X-SailPoint-Experimental")

    with pytest.raises(ProviderError) as caught:
        client.activate(request.target_external_id, 10)

    assert caught.value.status_code == 400


def test_test_connection_checks_the_oauth_client(connection, jane_authorization):
    checks = connection.provider.test_connection()
    assert [(c.name, c.ok) for c in checks] == [("OAuth client", True), ("connected employees", True)]
    assert checks[1].detail == "1 connected"

    connection.secret = "nope"
    assert not connection.provider.test_connection()[0].ok


def test_without_history_access_grants_cannot_be_confirmed_and_say_why(sailpoint, provider, jane_request):
    result = provider.grant(jane_request())
    sailpoint.history_enabled = False

    with pytest.raises(ProviderError, match="idn:jit-activation-history-self:read") as caught:
        provider.status(result.reference)

    assert caught.value.permanent


def test_trusting_accepted_activations_confirms_without_history(sailpoint, connection, provider, jane_request):
    connection.options = {"trust_accepted_activations": True}
    result = connection.provider.grant(jane_request(5))
    sailpoint.history_enabled = False

    assert connection.provider.status(result.reference).state == "active"
    sailpoint.advance(301)
    assert connection.provider.revoke(result.reference) is True  # deactivate answers 404 now
