"""The worker-side steps, run in-process: idempotent, retrying, never granting twice."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from requests_app import clock, execution, services
from requests_app.lifecycle import State
from requests_app.models import AuditEvent, Elevation, ProviderIdentity
from requests_app.providers.base import GrantResult, GrantStatus


@pytest.fixture
def approved(scripted, employee):
    return services.elevation_request(requester=employee, device=scripted.device, minutes=60, reason="debugging")


def reload(elevation):
    return Elevation.objects.get(pk=elevation.pk)


def grant_calls(scripted):
    return [c for c in scripted.CALLS if c[0] == "grant"]


def test_grant_step_activates_and_stores_the_reference(scripted, approved):
    assert execution.grant_step(approved.pk) is None
    elevation = reload(approved)
    assert elevation.state == State.ACTIVE
    assert elevation.provider_ref == "g1" or elevation.provider_ref.startswith("g")
    assert elevation.provider_expires_at == elevation.expires_at
    assert elevation.next_attempt_at is None


def test_the_grant_reads_the_users_provider_id_with_the_row(scripted, approved, employee):
    """The request looked the user up; the step finds that id in its one read, not a query of its own."""
    with CaptureQueriesContext(connection) as queries:
        execution.grant_step(approved.pk)
    identity_reads = [q["sql"] for q in queries if q["sql"].startswith('SELECT "requests_app_provideridentity"')]
    assert identity_reads == []
    (row_read,) = [q["sql"] for q in queries if q["sql"].startswith('SELECT "requests_app_elevation"."id"')]
    assert "provideridentity" in row_read and 'FOR UPDATE OF "requests_app_elevation"' in row_read
    assert [c[1].user_external_id for c in grant_calls(scripted)] == [f"user:{employee.email}"]


def test_a_grant_for_a_user_never_looked_up_asks_the_provider_first(scripted, approved, employee):
    ProviderIdentity.objects.filter(user=employee).delete()
    execution.grant_step(approved.pk)
    assert [c[1].user_external_id for c in grant_calls(scripted)] == [f"user:{employee.email}"]
    assert ProviderIdentity.objects.get(user=employee).external_id == f"user:{employee.email}"  # cached again
    assert reload(approved).state == State.ACTIVE


def test_a_duplicate_grant_delivery_is_a_noop(scripted, approved):
    execution.grant_step(approved.pk)
    execution.grant_step(approved.pk)
    assert len(grant_calls(scripted)) == 1
    assert reload(approved).state == State.ACTIVE


def test_a_grant_lost_before_its_reference_was_stored_is_found_not_repeated(scripted, approved):
    # The provider granted, then the worker died before committing the reference.
    execution.grant_step(approved.pk)
    Elevation.objects.filter(pk=approved.pk).update(state=State.GRANTING, provider_ref="")
    execution.grant_step(approved.pk)
    assert len(grant_calls(scripted)) == 1
    assert reload(approved).state == State.ACTIVE


def test_a_transient_error_retries_with_backoff_and_records_it(scripted, approved, settings):
    settings.ELEVATE_RETRY_BASE_SECONDS = 4
    scripted.SCRIPT["grant"].append(scripted.transient("HTTP 503"))
    delay = execution.grant_step(approved.pk)
    assert 2 <= delay <= 4
    elevation = reload(approved)
    assert (elevation.state, elevation.attempts) == (State.GRANTING, 1)
    assert "503" in elevation.last_error
    assert elevation.next_attempt_at > clock.now()
    assert execution.grant_step(approved.pk) is None
    assert reload(approved).state == State.ACTIVE


def test_a_429_waits_at_least_its_retry_after(scripted, approved):
    scripted.SCRIPT["grant"].append(scripted.transient("HTTP 429", retry_after=42))
    assert execution.grant_step(approved.pk) >= 42


def test_a_permanent_error_fails_at_once_with_the_reason(scripted, approved):
    scripted.SCRIPT["grant"].append(scripted.permanent("the API key lacks a writable role"))
    assert execution.grant_step(approved.pk) is None
    elevation = reload(approved)
    assert elevation.state == State.FAILED
    assert "writable role" in elevation.last_error
    assert AuditEvent.objects.filter(elevation=elevation, action="elevation.failed").exists()


def test_after_the_last_retry_the_grant_fails(scripted, approved, settings):
    settings.ELEVATE_GRANT_MAX_ATTEMPTS = 3
    scripted.SCRIPT["grant"].extend([scripted.transient(), scripted.transient(), scripted.transient()])
    for _ in range(3):
        execution.grant_step(approved.pk)
    elevation = reload(approved)
    assert elevation.state == State.FAILED
    assert "gave up after 3 attempts" in elevation.last_error


def test_an_asynchronous_grant_stays_granting_until_confirmed(scripted, approved):
    scripted.SCRIPT["grant"].append(GrantResult("async-1", confirmed=False))
    scripted.SCRIPT["status"].append(GrantStatus("pending"))
    assert execution.grant_step(approved.pk) == execution.CONFIRM_POLL.total_seconds()
    assert reload(approved).state == State.GRANTING
    assert execution.grant_step(approved.pk) == execution.CONFIRM_POLL.total_seconds()
    scripted.SCRIPT["status"].append(GrantStatus("active"))
    assert execution.grant_step(approved.pk) is None
    elevation = reload(approved)
    assert (elevation.state, elevation.provider_ref) == (State.ACTIVE, "async-1")


def test_a_scheduled_grant_waits_for_its_start(scripted, employee):
    later = clock.now() + timedelta(hours=1)
    elevation = services.elevation_request(
        requester=employee, device=scripted.device, minutes=60, reason="maintenance window", starts_at=later
    )
    execution.grant_step(elevation.pk)
    assert reload(elevation).state == State.APPROVED
    assert execution.due_work(clock.now())["grant"] == []
    with clock.travel(timedelta(hours=1, seconds=1)):
        assert execution.due_work(clock.now())["grant"] == [elevation.pk]
        execution.grant_step(elevation.pk)
    assert reload(elevation).state == State.ACTIVE


class TestRevokeAndExpire:
    @pytest.fixture
    def active(self, scripted, approved):
        execution.grant_step(approved.pk)
        return reload(approved)

    def test_revoke_ends_the_grant_at_the_provider(self, scripted, active, employee):
        services.elevation_revoke(elevation=active, actor=employee)
        assert reload(active).state == State.REVOKING
        execution.revoke_step(active.pk)
        assert reload(active).state == State.REVOKED
        assert scripted.GRANTS[active.provider_ref]["live"] is False

    def test_expiry_needs_no_user_action(self, scripted, active):
        execution.revoke_step(active.pk)
        assert reload(active).state == State.ACTIVE  # not due yet
        with clock.travel(timedelta(minutes=61)):
            assert execution.due_work(clock.now())["revoke"] == [active.pk]
            execution.revoke_step(active.pk)
        elevation = reload(active)
        assert elevation.state == State.EXPIRED
        assert scripted.GRANTS[active.provider_ref]["live"] is False
        actions = list(AuditEvent.objects.filter(elevation=elevation).values_list("action", flat=True))
        assert actions[-2:] == ["elevation.expiring", "elevation.expired"]

    def test_a_grant_already_gone_at_the_provider_counts_as_revoked(self, scripted, active, employee):
        scripted.GRANTS[active.provider_ref]["live"] = False
        services.elevation_revoke(elevation=active, actor=employee)
        execution.revoke_step(active.pk)
        assert reload(active).state == State.REVOKED

    def test_a_failing_revoke_is_retried_alerts_helpdesk_and_is_never_marked_revoked(
        self, scripted, active, employee, settings
    ):
        settings.ELEVATE_REVOKE_ALERT_ATTEMPTS = 2
        scripted.SCRIPT["revoke"].extend([scripted.transient(), scripted.permanent("403"), scripted.transient()])
        services.elevation_revoke(elevation=active, actor=employee)
        for _ in range(3):
            assert execution.revoke_step(active.pk) > 0
            assert reload(active).state == State.REVOKING
        elevation = reload(active)
        assert elevation.alerted_at is not None
        assert AuditEvent.objects.filter(elevation=elevation, action="elevation.revoke_alert").count() == 1
        assert execution.revoke_step(active.pk) is None
        assert reload(active).state == State.REVOKED

    def test_a_revoke_the_provider_keeps_failing_goes_again_within_a_second_a_refused_one_backs_off(
        self, scripted, active, employee
    ):
        """5xx and timeouts are the provider's trouble (its connection pauses everyone after a run of
        them), so the revoke goes with the next wave; only a refusal of this revoke backs off."""
        scripted.SCRIPT["revoke"].extend([scripted.transient()] * 5 + [scripted.permanent("409")] * 4)
        services.elevation_revoke(elevation=active, actor=employee)
        transient = [execution.revoke_step(active.pk) for _ in range(5)]
        refused = [execution.revoke_step(active.pk) for _ in range(4)]
        assert all(0.5 <= delay <= 1.0 for delay in transient), transient
        assert max(refused) > 1.0, refused
        assert reload(active).state == State.REVOKING
        assert execution.revoke_step(active.pk) is None
        assert reload(active).state == State.REVOKED

    def test_a_second_delivery_sends_nothing_while_the_first_is_calling(self, scripted, active, employee, monkeypatch):
        """The sweep (or a redelivered message) drives a revoke whose step is calling right now."""
        services.elevation_revoke(elevation=active, actor=employee)
        revoke, revokes, second_delivery = scripted.ScriptedProvider.revoke, [], []

        def revoke_while_a_second_delivery_runs(provider, reference):
            revokes.append(reference)
            if len(revokes) == 1:
                second_delivery.append(execution.revoke_step(active.pk))
            return revoke(provider, reference)

        monkeypatch.setattr(scripted.ScriptedProvider, "revoke", revoke_while_a_second_delivery_runs)
        assert execution.revoke_step(active.pk) is None
        assert second_delivery == [None]
        assert revokes == [active.provider_ref]
        elevation = reload(active)
        assert elevation.state == State.REVOKED and elevation.revoke_claimed_until is None

    def test_a_restarted_revoke_worker_takes_back_revokes_a_killed_one_was_calling(
        self, scripted, active, employee, monkeypatch
    ):
        services.elevation_revoke(elevation=active, actor=employee)
        killed_mid_call = clock.now() + execution.revoke_lease()
        Elevation.objects.filter(pk=active.pk).update(
            revoke_claimed_until=killed_mid_call, next_attempt_at=killed_mid_call
        )
        assert execution.revoke_step(active.pk) is None  # the claim holds: nothing is sent...
        assert not [call for call in scripted.CALLS if call[0] == "revoke"]
        queued = []
        monkeypatch.setattr(execution.queueing, "revoke", queued.append)

        assert execution.resume_revokes() == 1  # ...until the restarted worker takes it back
        assert queued == [active.pk]
        assert execution.revoke_step(active.pk) is None
        assert reload(active).state == State.REVOKED

    def test_a_revoke_asked_while_the_broker_is_down_is_logged_in_a_line_and_left_to_the_sweep(
        self, scripted, active, employee, monkeypatch, caplog, django_capture_on_commit_callbacks
    ):
        from kombu.exceptions import OperationalError

        from portal.celery import app

        def broker_down(*args, **kwargs):
            raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

        monkeypatch.setattr(app.tasks["requests_app.revoke"], "delay", broker_down)
        with django_capture_on_commit_callbacks(execute=True):
            services.elevation_revoke(elevation=active, actor=employee)

        assert reload(active).state == State.REVOKING
        assert active.pk in execution.due_work(clock.now())["revoke"]
        (record,) = [r for r in caplog.records if r.name == "requests_app.queueing"]
        assert record.levelname == "WARNING" and record.exc_info is None
        assert "could not queue revoke of" in record.getMessage() and "Connection refused" in record.getMessage()

    def test_revoked_while_granting_finds_and_revokes_what_was_granted(self, scripted, approved, employee):
        execution.grant_step(approved.pk)
        Elevation.objects.filter(pk=approved.pk).update(state=State.GRANTING, provider_ref="")
        services.elevation_revoke(elevation=reload(approved), actor=employee)
        execution.revoke_step(approved.pk)
        assert reload(approved).state == State.REVOKED
        assert not any(grant["live"] for grant in scripted.GRANTS.values())


class TestExtensionsReachTheProvider:
    def test_an_extension_of_an_active_grant_is_pushed(self, scripted, approved, employee):
        execution.grant_step(approved.pk)
        services.elevation_extend(elevation=reload(approved), actor=employee, minutes=15)
        execution.sync_expiry_step(approved.pk)
        elevation = reload(approved)
        assert elevation.provider_expires_at == elevation.expires_at
        assert scripted.GRANTS[elevation.provider_ref]["expires_at"] == elevation.expires_at

    def test_an_extension_made_while_granting_is_pushed_after_activation(self, scripted, approved, employee):
        claimed = execution._claim_grant(approved.pk)
        services.elevation_extend(elevation=reload(approved), actor=employee, minutes=15)
        # The claiming step goes on with the row as it reads it now.
        claimed.refresh_from_db()
        execution._grant_outcome(claimed, *execution._grant_at_provider(claimed))
        elevation = reload(approved)
        # The grant went out with the new expiry already, so nothing is left to push.
        assert elevation.provider_expires_at == elevation.expires_at


class TestSweep:
    def test_the_sweep_drives_a_grant_whose_message_was_lost(self, scripted, approved, monkeypatch):
        from requests_app import tasks

        sent = []
        monkeypatch.setattr(tasks.grant, "delay", sent.append)
        counts = execution.sweep()
        assert counts["grant"] == 1
        assert sent == [approved.pk]
        # Leased: the next sweep does not send it again while the step may still be running.
        assert execution.sweep()["grant"] == 0

    def test_a_step_stuck_past_its_lease_is_driven_again(self, scripted, approved, monkeypatch):
        from requests_app import tasks

        sent = []
        monkeypatch.setattr(tasks.grant, "delay", sent.append)
        execution._claim_grant(approved.pk)  # the worker claimed it, then died
        assert execution.sweep()["grant"] == 0
        with clock.travel(execution.step_lease() + timedelta(seconds=1)):
            assert execution.sweep()["grant"] == 1
        assert sent == [approved.pk]

    def test_undecided_requests_expire(self, scripted, employee, default_policy):
        default_policy.requires_approval = True
        default_policy.approval_timeout_minutes = 30
        default_policy.save()
        elevation = services.elevation_request(
            requester=employee, device=scripted.device, minutes=60, reason="needs approval"
        )
        assert elevation.state == State.PENDING_APPROVAL
        with clock.travel(timedelta(minutes=31)):
            assert execution.sweep()["undecided"] == 1
        assert reload(elevation).state == State.EXPIRED

    def test_the_sweep_records_a_heartbeat(self, db):
        from requests_app.selectors import sweep_heartbeat_age

        assert sweep_heartbeat_age() is None
        execution.sweep()
        assert sweep_heartbeat_age() < 5


def test_the_reconciler_flags_a_grant_still_live_after_it_ended_here(scripted, approved, employee):
    execution.grant_step(approved.pk)
    elevation = reload(approved)
    Elevation.objects.filter(pk=elevation.pk).update(state=State.REVOKED, ended_at=clock.now())
    counts = execution.reconcile()
    assert counts["drift"] == 1
    assert "still granted" in reload(elevation).drift
    assert scripted.GRANTS[elevation.provider_ref]["live"] is False  # revoked again at once


def test_backoff_grows_and_has_jitter(settings):
    settings.ELEVATE_RETRY_BASE_SECONDS = 2
    settings.ELEVATE_RETRY_MAX_SECONDS = 100
    delays = [execution.backoff_seconds(5) for _ in range(50)]
    assert all(1 <= d <= 32 for d in delays)
    assert len(set(delays)) > 40
    assert execution.backoff_seconds(20) <= 100


def test_an_extension_for_a_grant_gone_at_the_provider_is_flagged_not_retried(scripted, approved, employee):
    execution.grant_step(approved.pk)
    elevation = reload(approved)
    del scripted.GRANTS[elevation.provider_ref]
    services.elevation_extend(elevation=elevation, actor=employee, minutes=15)
    assert execution.sync_expiry_step(approved.pk) is None
    elevation = reload(approved)
    assert "no longer exists at the provider" in elevation.drift
    assert elevation.next_attempt_at is None
    assert AuditEvent.objects.filter(elevation=elevation, action="elevation.drift").exists()


def test_the_reconciler_leaves_a_shared_target_alone_while_a_newer_elevation_holds_it(scripted, approved, employee):
    execution.grant_step(approved.pk)
    ended = reload(approved)
    Elevation.objects.filter(pk=ended.pk).update(state=State.EXPIRED, ended_at=clock.now())
    # A newer live elevation on the same target shares the provider's grant (as group sudo does).
    newer = services.elevation_request(requester=employee, device=scripted.device, minutes=15, reason="again")
    Elevation.objects.filter(pk=newer.pk).update(state=State.ACTIVE, provider_ref=ended.provider_ref)
    assert execution.reconcile()["drift"] == 0
    assert scripted.GRANTS[ended.provider_ref]["live"] is True
