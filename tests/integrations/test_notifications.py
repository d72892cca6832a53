"""Notifications: which events make which deliveries, and each delivery out over HTTP or e-mail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail

from requests_app import clock
from requests_app.integrations import notifications, receivers, tasks
from requests_app.integrations.models import Delivery, JiraIntake, NotificationPreference
from requests_app.lifecycle import State
from requests_app.models import Elevation

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    """Deliveries are driven by the test; queueing them records the ids instead."""
    queued: list[int] = []
    monkeypatch.setattr(tasks.deliver, "delay", queued.append)
    return queued


def make_elevation(device, user, *, state=State.ACTIVE, minutes=60, **fields) -> Elevation:
    current = clock.now()
    return Elevation.objects.create(
        requester=user,
        beneficiary=user,
        connection=device.connection,
        device=device,
        target_label=device.hostname,
        reason="install the printer driver",
        requested_minutes=minutes,
        total_minutes=minutes,
        starts_at=current,
        expires_at=current + timedelta(minutes=minutes),
        state=state,
        created_at=current,
        updated_at=current,
        **fields,
    )


@pytest.fixture
def elevation(device, employee):
    return make_elevation(device, employee)


def deliveries(**filters):
    return list(Delivery.objects.filter(**filters).order_by("pk"))


@pytest.mark.parametrize(
    ("from_state", "to_state", "action", "event"),
    [
        (State.REQUESTED, State.PENDING_APPROVAL, None, "approval_needed"),
        (State.GRANTING, State.ACTIVE, "elevation.granted", "granted"),
        (State.ACTIVE, State.ACTIVE, "elevation.extended", "extended"),
        (State.REVOKING, State.REVOKED, None, "revoked"),
        (State.REVOKING, State.EXPIRED, None, "expired"),
        (State.PENDING_APPROVAL, State.EXPIRED, "elevation.approval_timed_out", None),
        (State.GRANTING, State.FAILED, "elevation.failed", "failed"),
        (State.PENDING_APPROVAL, State.DENIED, None, "denied"),
        (State.APPROVED, State.GRANTING, None, None),
        (State.ACTIVE, State.REVOKING, "elevation.revoke_requested", None),
    ],
)
def test_lifecycle_changes_map_to_events(from_state, to_state, action, event):
    assert notifications.event_for(from_state, to_state, action) == event


def test_granted_goes_to_the_user_by_email_once(elevation, employee, _no_broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = notifications.announce("granted", elevation.pk)
    notifications.announce("granted", elevation.pk)

    assert len(first) == 1
    assert Delivery.objects.count() == 1  # the same event announced twice makes one delivery
    assert _no_broker == first  # queued after commit
    assert notifications.deliver(first[0]) is None
    [message] = mail.outbox
    assert message.to == [employee.email]
    assert "granted" in message.subject.lower()
    assert "erin-laptop" in message.body
    assert f"/elevations/{elevation.public_id}/" in message.body
    assert notifications.deliver(first[0]) is None  # a duplicate task sends nothing
    assert len(mail.outbox) == 1


def test_times_in_email_use_the_recipients_zone(elevation):
    [delivery_id] = notifications.announce("granted", elevation.pk)
    notifications.deliver(delivery_id)
    assert "CET" in mail.outbox[0].body or "CEST" in mail.outbox[0].body  # Erin is in Berlin


def test_preferences_turn_email_off_and_personal_slack_on(elevation, employee, slack, personal_webhooks_to_simulator):
    url = slack.add_webhook()
    NotificationPreference.objects.create(
        user=employee, email_events=[], slack_events=["granted"], slack_webhook_url=url
    )

    [delivery_id] = notifications.announce("granted", elevation.pk)
    notifications.deliver(delivery_id)

    assert mail.outbox == []
    [posted] = slack.messages(url)
    assert posted["blocks"][0]["text"]["text"] == "Temporary admin granted"


def test_slack_channel_gets_the_events_it_subscribed_to(elevation, slack, slack_channel):
    ids = notifications.announce("granted", elevation.pk)
    revoked = notifications.announce("revoked", elevation.pk)

    for delivery_id in ids + revoked:
        notifications.deliver(delivery_id)

    [posted] = slack.messages(slack_channel.webhook_url)
    button = posted["blocks"][3]["elements"][-1]
    assert button["url"].endswith(f"/elevations/{elevation.public_id}/")
    assert len(mail.outbox) == 2  # both events still reach the user by e-mail


def test_slack_rate_limit_is_retried_after_retry_after(elevation, slack, slack_channel):
    slack.add_fault(method="POST", path="^/services/", status=429, retry_after="2")
    [delivery_id] = deliveries_for_channel(notifications.announce("granted", elevation.pk), "slack")

    delay = notifications.deliver(delivery_id)

    assert delay >= 2
    assert Delivery.objects.get(pk=delivery_id).status == Delivery.Status.PENDING
    assert notifications.deliver(delivery_id) is None
    assert Delivery.objects.get(pk=delivery_id).status == Delivery.Status.SENT
    assert Delivery.objects.get(pk=delivery_id).attempts == 2


def test_revoked_webhook_fails_permanently(elevation, slack, slack_channel):
    slack.webhooks.clear()
    [delivery_id] = deliveries_for_channel(notifications.announce("granted", elevation.pk), "slack")

    assert notifications.deliver(delivery_id) is None

    delivery = Delivery.objects.get(pk=delivery_id)
    assert delivery.status == Delivery.Status.FAILED
    assert "no_service" in delivery.last_error or "not found" in delivery.last_error


def test_transient_errors_give_up_after_the_configured_attempts(elevation, slack, slack_channel, settings):
    settings.ELEVATE_NOTIFY_MAX_ATTEMPTS = 2
    slack.add_fault(method="POST", path="^/services/", status=500, times=None)
    [delivery_id] = deliveries_for_channel(notifications.announce("granted", elevation.pk), "slack")

    assert notifications.deliver(delivery_id) is not None
    assert notifications.deliver(delivery_id) is None

    assert Delivery.objects.get(pk=delivery_id).status == Delivery.Status.FAILED


def test_jira_issue_gets_a_comment(elevation, jira, jira_connection):
    jira.create_issue("IT-42", reporter="erin@example.com")
    JiraIntake.objects.create(
        connection=jira_connection, issue_key="IT-42", reporter_email="erin@example.com", elevation=elevation,
        outcome="created", received_at=clock.now(), last_call_at=clock.now(),
    )  # fmt: skip

    ids = deliveries_for_channel(notifications.announce("granted", elevation.pk), "jira")
    notifications.deliver(ids[0])

    [comment] = jira.comments("IT-42")
    text = comment["body"]["content"][0]["content"][0]["text"]
    assert text.startswith("Admin on erin-laptop is granted to erin@example.com until")
    assert Delivery.objects.get(pk=ids[0]).external_id == comment["id"]


def test_approval_needed_goes_to_approvers_with_their_own_links(device, employee, approver, helpdesk):
    elevation = make_elevation(device, employee, state=State.PENDING_APPROVAL)

    ids = notifications.announce("approval_needed", elevation.pk)
    for delivery_id in ids:
        notifications.deliver(delivery_id)

    assert [m.to for m in mail.outbox] == [[approver.email]]
    body = mail.outbox[0].body
    assert "Approve: http" in body
    assert "Deny: http" in body


def test_reminder_is_sent_once_inside_the_window_with_an_extend_link(device, employee, default_policy):
    default_policy.reminder_before_minutes = 10
    default_policy.save()
    elevation = make_elevation(device, employee, minutes=60, policy=default_policy)

    assert notifications.send_expiry_reminders() == 0
    with clock.travel(timedelta(minutes=51)):
        assert notifications.send_expiry_reminders() == 1
        assert notifications.send_expiry_reminders() == 0
        [delivery] = deliveries(event="expiring_soon")
        notifications.deliver(delivery.pk)

    assert "Extend by 15 min: http" in mail.outbox[0].body
    assert elevation.pk == delivery.elevation_id


def test_reminder_comes_again_after_an_extension(device, employee, default_policy):
    elevation = make_elevation(device, employee, minutes=60, policy=default_policy)
    with clock.travel(timedelta(minutes=55)):
        notifications.send_expiry_reminders()
        Elevation.objects.filter(pk=elevation.pk).update(expires_at=elevation.expires_at + timedelta(minutes=15))
        with clock.travel(timedelta(minutes=14)):
            assert notifications.send_expiry_reminders() == 1
    assert len(deliveries(event="expiring_soon")) == 2


def test_no_extend_link_once_extensions_are_used_up(device, employee, default_policy):
    elevation = make_elevation(device, employee, extensions=2, policy=default_policy)
    [delivery_id] = notifications.announce("expiring_soon", elevation.pk)
    notifications.deliver(delivery_id)
    assert "Extend by" not in mail.outbox[0].body


def test_jira_token_warning_reaches_admins_weekly(jira_connection, admin, employee, slack, slack_channel):
    jira_connection.api_token_expires_on = clock.now().date() + timedelta(days=10)
    jira_connection.save()

    assert notifications.warn_expiring_jira_tokens() == 1
    assert notifications.warn_expiring_jira_tokens() == 0
    for delivery in deliveries(event="admin_alert"):
        notifications.deliver(delivery.pk)

    assert [m.to for m in mail.outbox] == [[admin.email]]
    assert "expires in 10 days" in mail.outbox[0].body
    assert "expires in 10 days" in slack.messages(slack_channel.webhook_url)[0]["text"]
    with clock.travel(timedelta(days=8)):
        assert notifications.warn_expiring_jira_tokens() == 1


def test_far_off_token_expiry_is_not_warned(jira_connection, admin):
    jira_connection.api_token_expires_on = clock.now().date() + timedelta(days=200)
    jira_connection.save()
    assert notifications.warn_expiring_jira_tokens() == 0


def test_receiver_logs_and_swallows_a_broker_that_is_down(monkeypatch, elevation, caplog):
    attempts = []

    def broken(*args, **kwargs):
        attempts.append(args)
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.announce, "delay", broken)

    result = receivers.on_elevation_changed(
        sender=None, elevation_ids=[elevation.pk], from_state=State.GRANTING, to_state=State.ACTIVE, action=None
    )

    assert result is None and attempts == [("granted", [elevation.pk])]
    assert f"could not queue the granted notification of elevations [{elevation.pk}]" in caplog.text
    assert "broker down" in caplog.text


def test_receiver_queues_the_event(monkeypatch, elevation):
    sent = []
    monkeypatch.setattr(tasks.announce, "delay", lambda *args: sent.append(args))

    receivers.on_elevation_changed(
        sender=None, elevation_ids=[elevation.pk], from_state=State.REVOKING, to_state=State.EXPIRED, action=None
    )
    receivers.on_elevation_changed(
        sender=None, elevation_ids=[elevation.pk], from_state=State.APPROVED, to_state=State.GRANTING, action=None
    )

    assert sent == [("expired", [elevation.pk])]


def test_stale_pending_deliveries_are_queued_again(elevation, _no_broker):
    [delivery_id] = notifications.announce("granted", elevation.pk)
    assert notifications.requeue_stale() == 0
    with clock.travel(timedelta(minutes=6)):
        assert notifications.requeue_stale() == 1
    assert _no_broker == [delivery_id]


def deliveries_for_channel(ids, channel):
    return [d.pk for d in Delivery.objects.filter(pk__in=ids, channel=channel)]
