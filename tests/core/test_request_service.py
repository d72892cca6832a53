"""Requesting admin: server-side validation against policy; bad input changes nothing."""

from datetime import timedelta

import pytest

from requests_app import clock, services
from requests_app.errors import NotAllowed, PolicyViolation, ProviderUnavailable, SecondFactorRequired
from requests_app.lifecycle import State
from requests_app.models import AuditEvent, Elevation, Policy


def request(employee, device, **overrides):
    arguments = {"requester": employee, "device": device, "minutes": 60, "reason": "install a debugger"}
    return services.elevation_request(**{**arguments, **overrides})


def test_a_request_within_policy_is_approved_and_its_grant_queued_after_commit(
    employee, device, django_capture_on_commit_callbacks, monkeypatch
):
    from requests_app import tasks

    queued = []
    monkeypatch.setattr(tasks.grant, "delay", queued.append)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        elevation = request(employee, device)
        assert queued == []  # nothing reaches the broker before the commit
    for callback in callbacks:
        callback()
    assert queued == [elevation.pk]
    assert elevation.state == State.APPROVED
    assert elevation.beneficiary == employee
    assert elevation.expires_at - elevation.starts_at == timedelta(minutes=60)
    actions = list(AuditEvent.objects.filter(elevation=elevation).values_list("action", flat=True))
    assert actions == ["elevation.requested", "elevation.auto_approved"]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"minutes": 600}, "minutes", "longer than the 4 h this policy allows"),
        ({"minutes": 0}, "minutes", "Choose how long"),
        ({"reason": "   "}, "reason", "Say why"),
        ({"reason": "x" * 1001}, "reason", "under 1000 characters"),
        ({"without_password": True}, "without_password", "does not allow sudo without a password"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_changes_nothing(employee, device, overrides, field, message):
    events = AuditEvent.objects.count()
    with pytest.raises(PolicyViolation) as refused:
        request(employee, device, **overrides)
    assert refused.value.field == field
    assert message in refused.value.message
    assert Elevation.objects.count() == 0
    assert AuditEvent.objects.count() == events


def test_a_start_in_the_past_is_refused(employee, device):
    with pytest.raises(PolicyViolation, match="in the past"):
        request(employee, device, starts_at=clock.now() - timedelta(hours=1))


def test_someone_elses_device_is_refused(outsider, device):
    with pytest.raises(NotAllowed, match="not one of"):
        request(outsider, device)
    assert Elevation.objects.count() == 0


def test_a_removed_device_cannot_be_requested(employee, device):
    device.removed_at = clock.now()
    device.save()
    with pytest.raises(ProviderUnavailable, match="no longer listed"):
        request(employee, device)


def test_an_employee_cannot_request_for_someone_else(employee, outsider, device):
    with pytest.raises(NotAllowed):
        request(outsider, device, beneficiary=employee)


def test_helpdesk_requests_on_behalf_the_beneficiary_gets_it(helpdesk, employee, device):
    elevation = request(helpdesk, device, beneficiary=employee)
    assert (elevation.requester, elevation.beneficiary) == (helpdesk, employee)


def test_asking_again_for_a_live_device_extends_instead_of_a_second_grant(employee, device):
    first = request(employee, device, minutes=60)
    again = request(employee, device, minutes=15)
    assert again.pk == first.pk
    assert Elevation.objects.count() == 1
    again.refresh_from_db()
    assert again.expires_at == first.expires_at + timedelta(minutes=15)
    assert again.extensions == 1


def test_the_database_refuses_a_second_live_elevation_for_the_same_device(employee, device):
    from django.db import IntegrityError, transaction

    first = request(employee, device)
    with pytest.raises(IntegrityError), transaction.atomic():
        Elevation.objects.create(
            requester=employee,
            beneficiary=employee,
            connection=device.connection,
            device=device,
            reason="dup",
            requested_minutes=5,
            starts_at=first.starts_at,
            expires_at=first.expires_at,
            created_at=first.created_at,
            updated_at=first.updated_at,
            state=State.APPROVED,
        )


def test_policy_needing_approval_parks_the_request(employee, device, default_policy):
    Policy.objects.filter(pk=default_policy.pk).update(requires_approval=True, auto_approve_up_to_minutes=15)
    short = request(employee, device, minutes=15)
    assert short.state == State.APPROVED
    services.elevation_revoke(elevation=short, actor=employee)
    long = request(employee, device, minutes=60)
    assert long.state == State.PENDING_APPROVAL
    assert long.decide_by is not None


def test_weekly_cap_counts_elevated_hours(employee, device, make_device, default_policy):
    Policy.objects.filter(pk=default_policy.pk).update(weekly_cap_hours=5)
    request(employee, device, minutes=240)
    other = make_device(employee)
    with pytest.raises(PolicyViolation, match="weekly limit of 5 elevated hours"):
        request(employee, other, minutes=120)
    assert Elevation.objects.count() == 1


def test_scheduled_start_too_far_ahead_is_refused(employee, device, default_policy):
    Policy.objects.filter(pk=default_policy.pk).update(max_schedule_ahead_hours=24)
    with pytest.raises(PolicyViolation, match="at most 24 hours ahead"):
        request(employee, device, starts_at=clock.now() + timedelta(days=3))
    scheduled = request(employee, device, starts_at=clock.now() + timedelta(hours=2))
    assert scheduled.expires_at == scheduled.starts_at + timedelta(minutes=60)


def test_overrides_for_a_device_group_win_over_the_default(employee, make_device, default_policy):
    Policy.objects.create(
        name="Servers",
        device_group="servers",
        allowed_durations=[15],
        max_duration_minutes=15,
        max_total_minutes=30,
        priority=10,
    )
    server = make_device(employee, groups=["servers"])
    with pytest.raises(PolicyViolation, match="longer than the 15 min"):
        request(employee, server, minutes=60)


class TestExtend:
    def test_extension_limits_are_enforced(self, employee, device):
        elevation = request(employee, device, minutes=240)
        services.elevation_extend(elevation=elevation, actor=employee, minutes=60)
        services.elevation_extend(elevation=elevation, actor=employee, minutes=60)
        with pytest.raises(PolicyViolation, match="already extended 2 times"):
            services.elevation_extend(elevation=elevation, actor=employee, minutes=15)

    def test_the_total_cannot_exceed_the_policy_maximum(self, employee, device):
        elevation = request(employee, device, minutes=240)
        services.elevation_extend(elevation=elevation, actor=employee, minutes=180)
        with pytest.raises(PolicyViolation, match="8 h total"):
            services.elevation_extend(elevation=elevation, actor=employee, minutes=120)
        elevation.refresh_from_db()
        assert elevation.total_minutes == 420

    def test_helpdesk_must_give_a_reason_to_extend_someone_elses(self, employee, helpdesk, device, with_mfa):
        with_mfa(helpdesk)
        elevation = request(employee, device)
        with pytest.raises(PolicyViolation, match="Say why"):
            services.elevation_extend(elevation=elevation, actor=helpdesk, minutes=15)
        services.elevation_extend(elevation=elevation, actor=helpdesk, minutes=15, reason="ticket 42")

    def test_helpdesk_without_mfa_cannot_extend_someone_elses(self, employee, helpdesk, device):
        elevation = request(employee, device)
        with pytest.raises(SecondFactorRequired):
            services.elevation_extend(elevation=elevation, actor=helpdesk, minutes=15, reason="ticket 42")
        elevation.refresh_from_db()
        assert elevation.extensions == 0

    def test_another_employee_cannot_extend(self, employee, outsider, device):
        elevation = request(employee, device)
        with pytest.raises(NotAllowed):
            services.elevation_extend(elevation=elevation, actor=outsider, minutes=15)


def test_revoking_before_the_grant_cancels(employee, device):
    elevation = request(employee, device)
    services.elevation_revoke(elevation=elevation, actor=employee)
    assert elevation.state == State.CANCELLED
    with pytest.raises(PolicyViolation, match="cannot be revoked"):
        services.elevation_revoke(elevation=elevation, actor=employee)


@pytest.mark.django_db(transaction=True)
def test_a_request_made_while_the_broker_is_down_is_kept_and_left_to_the_sweep(employee, device, monkeypatch):
    from kombu.exceptions import OperationalError

    from requests_app import execution, tasks

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.grant, "delay", broker_down)
    elevation = request(employee, device)  # the fast-path publish fails after commit
    assert Elevation.objects.get(pk=elevation.pk).state == State.APPROVED
    assert execution.due_work(clock.now())["grant"] == [elevation.pk]
