"""Never an unknown live grant: every way a grant can go wrong ends with nothing left at the provider."""

import threading
from datetime import timedelta

import pytest

from requests_app import clock, execution, services
from requests_app.lifecycle import State
from requests_app.models import AuditEvent, Elevation
from requests_app.providers.base import GrantResult, ProviderError


@pytest.fixture
def approved(scripted, employee):
    return services.elevation_request(requester=employee, device=scripted.device, minutes=60, reason="debugging")


def reload(elevation):
    return Elevation.objects.get(pk=elevation.pk)


def live_grants(scripted):
    return [ref for ref, grant in scripted.GRANTS.items() if grant["live"]]


def test_a_grant_whose_answer_came_too_late_is_found_not_made_twice(scripted, approved, monkeypatch):
    original = scripted.ScriptedProvider.grant
    calls = []

    def grant(self, request):
        calls.append(request)
        if len(calls) == 1:
            scripted.GRANTS["late-1"] = {"key": request.idempotency_key, "live": True, "expires_at": request.expires_at}
            raise ProviderError("grant: the provider did not answer in time", may_have_applied=True)
        return original(self, request)

    monkeypatch.setattr(scripted.ScriptedProvider, "grant", grant)
    assert execution.grant_step(approved.pk) > 0
    assert reload(approved).possibly_granted
    with clock.travel(timedelta(minutes=5)):
        execution.grant_step(approved.pk)
    elevation = reload(approved)
    assert (elevation.state, elevation.provider_ref) == (State.ACTIVE, "late-1")
    assert len(calls) == 1, "the grant was looked for, not made again"


def test_giving_up_after_a_late_answer_revokes_what_the_provider_made(scripted, approved, monkeypatch, settings):
    settings.ELEVATE_GRANT_MAX_ATTEMPTS = 1

    def grant(self, request):
        scripted.GRANTS["late-1"] = {"key": request.idempotency_key, "live": True, "expires_at": request.expires_at}
        raise ProviderError("grant: the provider did not answer in time", may_have_applied=True)

    monkeypatch.setattr(scripted.ScriptedProvider, "grant", grant)
    execution.grant_step(approved.pk)
    elevation = reload(approved)
    assert (elevation.state, elevation.end_state) == (State.REVOKING, State.FAILED)
    assert live_grants(scripted) == ["late-1"]
    assert execution.revoke_step(approved.pk) is None
    elevation = reload(approved)
    assert elevation.state == State.FAILED
    assert "did not answer in time" in elevation.last_error
    assert live_grants(scripted) == []
    actions = list(AuditEvent.objects.filter(elevation=elevation).values_list("action", flat=True))
    assert "elevation.grant_abandoned" in actions and actions[-1] == "elevation.failed"


def test_a_clear_refusal_fails_at_once_without_a_search(scripted, approved):
    scripted.SCRIPT["grant"].append(scripted.permanent("the API key lacks a writable role"))
    execution.grant_step(approved.pk)
    elevation = reload(approved)
    assert (elevation.state, elevation.possibly_granted) == (State.FAILED, False)
    assert not [c for c in scripted.CALLS if c[0] == "find_grant"]


def test_an_accepted_grant_whose_polls_are_rate_limited_is_deactivated_when_its_window_ends(scripted, approved):
    scripted.SCRIPT["grant"].append(GrantResult("async-1", confirmed=False))
    scripted.GRANTS["async-1"] = {"key": str(approved.public_id), "live": True, "expires_at": approved.expires_at}
    assert execution.grant_step(approved.pk) == execution.CONFIRM_POLL.total_seconds()
    for _ in range(10):  # more polls than grant attempts: none of them counts as one
        scripted.SCRIPT["status"].append(ProviderError("status: rate limited (HTTP 429)", status_code=429))
        execution.grant_step(approved.pk)
        Elevation.objects.filter(pk=approved.pk).update(grant_claimed_until=None)
    elevation = reload(approved)
    assert (elevation.state, elevation.attempts) == (State.GRANTING, 0)
    with clock.travel(timedelta(minutes=61)):
        assert execution.grant_step(approved.pk) is None
        elevation = reload(approved)
        assert (elevation.state, elevation.end_state) == (State.REVOKING, State.FAILED)
        assert "before its end time" in elevation.last_error
        execution.revoke_step(approved.pk)
    assert reload(approved).state == State.FAILED
    assert live_grants(scripted) == []


def test_a_window_that_passed_while_queued_fails_with_a_clear_reason_and_no_call(scripted, approved):
    with clock.travel(timedelta(minutes=61)):
        assert execution.grant_step(approved.pk) is None
    elevation = reload(approved)
    assert elevation.state == State.FAILED
    assert elevation.last_error == "the provider could not grant this before its end time"
    assert scripted.CALLS == []


def test_a_revoke_while_the_grant_call_runs_waits_for_its_answer_then_removes_it(scripted, approved, employee):
    claimed = execution._claim_grant(approved.pk)  # a worker is now calling the provider
    services.elevation_revoke(elevation=reload(approved), actor=employee)
    assert reload(approved).state == State.REVOKING
    assert execution.revoke_step(approved.pk) > 0, "the revoke waits for the grant call in flight"
    assert not [c for c in scripted.CALLS if c[0] in ("revoke", "find_grant")]
    # The grant call answers: it was made. The step finds the row revoked and hands over.
    execution._grant_outcome(claimed, *execution._grant_at_provider(claimed))
    assert live_grants(scripted)
    assert execution.revoke_step(approved.pk) is None
    elevation = reload(approved)
    assert elevation.state == State.REVOKED
    assert live_grants(scripted) == []


def in_thread(function):
    """Run `function` in a thread with its own database connection, closed at the end."""
    from django.db import connection

    def run(*args, **kwargs):
        try:
            function(*args, **kwargs)
        finally:
            connection.close()

    return run


@pytest.mark.django_db(transaction=True)
def test_a_persons_revoke_never_waits_on_a_provider_call(scripted, employee, default_policy, monkeypatch):
    elevation = services.elevation_request(requester=employee, device=scripted.device, minutes=60, reason="x")
    inside, release = threading.Event(), threading.Event()
    original = scripted.ScriptedProvider.grant

    def slow_grant(self, request):
        inside.set()
        release.wait(20)
        return original(self, request)

    monkeypatch.setattr(scripted.ScriptedProvider, "grant", slow_grant)
    worker = threading.Thread(target=in_thread(execution.grant_step), args=(elevation.pk,))
    worker.start()
    try:
        assert inside.wait(10)
        revoked = threading.Thread(
            target=in_thread(services.elevation_revoke), kwargs={"elevation": elevation, "actor": employee}
        )
        revoked.start()
        revoked.join(3)
        assert not revoked.is_alive(), "the revoke waited for the provider call"
        assert reload(elevation).state == State.REVOKING
    finally:
        release.set()
        worker.join(20)
    assert execution.revoke_step(elevation.pk) is None
    assert reload(elevation).state == State.REVOKED
    assert live_grants(scripted) == []
