"""Notifications: from a lifecycle event to deliveries, and each delivery out by e-mail, Slack or
Jira comment.

`announce()` turns one event into `Delivery` rows (one per channel and recipient, keyed so an
event announced twice still makes one message) and queues them; `deliver()` sends one row,
claiming it first so a duplicate task is a no-op, and answers the seconds until a retry. Both
run in Celery: a lifecycle change only enqueues, so a slow mail server or Slack never holds up
a grant.
"""

from __future__ import annotations

import functools
import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q

from requests_app import permissions
from requests_app.clock import now
from requests_app.execution import backoff_seconds
from requests_app.integrations import messages
from requests_app.integrations.conf import setting
from requests_app.integrations.models import (
    DEFAULT_EMAIL_EVENTS,
    Delivery,
    JiraIntake,
    NotificationPreference,
    SlackChannel,
)
from requests_app.integrations.slack import post_message
from requests_app.integrations.slack_app import posts as slack_posts
from requests_app.integrations.slack_app.identity import current_app as current_slack_app
from requests_app.lifecycle import State
from requests_app.models import Elevation, User
from requests_app.providers.base import ProviderError

log = logging.getLogger(__name__)

# Events the Jira issue behind an elevation is told about.
JIRA_EVENTS = {"granted", "extended", "revoked", "expired", "failed", "denied"}
# Events that may recur on one elevation: the expiry they were about tells them apart.
PER_EXPIRY_EVENTS = {"extended", "expiring_soon"}
DELIVERY_LEASE = timedelta(minutes=5)


def event_for(from_state: str, to_state: str, action: str | None) -> str | None:
    """The notification event of a lifecycle change, if it has one."""
    if action == "elevation.extended":
        return "extended"
    if to_state == from_state:
        return None
    if to_state == State.PENDING_APPROVAL:
        return "approval_needed"
    if to_state == State.ACTIVE:
        return "granted"
    if to_state == State.REVOKED:
        return "revoked"
    if to_state == State.EXPIRED and from_state == State.REVOKING:
        return "expired"
    if to_state == State.FAILED:
        return "failed"
    if to_state == State.DENIED:
        return "denied"
    return None


# -- who hears about what --------------------------------------------------------------------


def preference_of(user: User) -> NotificationPreference:
    return NotificationPreference.objects.filter(user=user).first() or NotificationPreference(
        user=user, email_events=list(DEFAULT_EMAIL_EVENTS)
    )


def approvers_for(elevation: Elevation) -> list[User]:
    """Everyone `permissions.may_approve` would accept for this elevation."""
    rules = permissions.policy_of(elevation)
    perm = Permission.objects.filter(codename="approve_elevation", content_type__app_label="requests_app")
    candidates = User.objects.filter(is_active=True).filter(
        Q(is_superuser=True) | Q(groups__permissions__in=perm) | Q(user_permissions__in=perm)
    )
    if rules.approver_group_id:
        candidates = candidates | User.objects.filter(is_active=True, groups=rules.approver_group_id)
    if rules.approval_by_manager and elevation.beneficiary.manager_id:
        candidates = candidates | User.objects.filter(pk=elevation.beneficiary.manager_id)
    return [user for user in candidates.distinct() if permissions.may_approve(user, elevation)]


def admins() -> list[User]:
    return list(User.objects.filter(is_active=True).filter(Q(is_superuser=True) | Q(groups__name="admin")).distinct())


def people_for(event: str, elevation: Elevation) -> list[User]:
    if event == "approval_needed":
        return approvers_for(elevation)
    people = [elevation.beneficiary]
    if elevation.requester_id != elevation.beneficiary_id:
        people.append(elevation.requester)
    return people


# -- announce: an event becomes deliveries ------------------------------------------------------


def announce(event: str, elevation_id: int) -> list[int]:
    """Create the deliveries of one event and queue them. Returns the ids queued."""
    elevation = (
        Elevation.objects.select_related("beneficiary", "requester", "device", "policy").filter(pk=elevation_id).first()
    )
    if elevation is None:
        return []
    moment = elevation.expires_at.isoformat() if event in PER_EXPIRY_EVENTS else ""
    prefix = f"{event}:{elevation.pk}:{moment}"
    common = {"event": event, "elevation": elevation}
    ids = []
    for user in people_for(event, elevation):
        preference = preference_of(user)
        if event in preference.email_events and user.email:
            ids.append(
                create_delivery(f"{prefix}:email:{user.pk}", channel=Delivery.Channel.EMAIL, recipient=user, **common)
            )
        if event in preference.slack_events and preference.slack_webhook_url:
            ids.append(
                create_delivery(
                    f"{prefix}:slack:user:{user.pk}", channel=Delivery.Channel.SLACK, recipient=user, **common
                )
            )
    for channel in SlackChannel.objects.filter(enabled=True):
        if event in (channel.events or []):
            ids.append(
                create_delivery(
                    f"{prefix}:slack:{channel.pk}", channel=Delivery.Channel.SLACK, slack_channel=channel, **common
                )
            )
    if event in slack_posts.POSTING_EVENTS and current_slack_app() is not None:
        for user in people_for(event, elevation):
            key = f"{prefix}:slack_app:{user.pk}"
            ids.append(create_delivery(key, channel=Delivery.Channel.SLACK_APP, recipient=user, **common))
    if event in JIRA_EVENTS:
        for intake in JiraIntake.objects.filter(elevation=elevation, connection__enabled=True):
            ids.append(
                create_delivery(
                    f"{prefix}:jira:{intake.pk}", channel=Delivery.Channel.JIRA, jira_intake=intake, **common
                )
            )
    queue([i for i in ids if i])
    return [i for i in ids if i]


def announce_admin_alert(key: str, text: str, url: str = "") -> list[int]:
    """Tell admins by e-mail, and Slack channels that subscribed to admin alerts."""
    ids = []
    payload = {"text": text, "url": url}
    for user in admins():  # admins always get these by e-mail: they need acting on
        if user.email:
            ids.append(
                create_delivery(
                    f"admin_alert:{key}:email:{user.pk}",
                    event="admin_alert",
                    channel=Delivery.Channel.EMAIL,
                    recipient=user,
                    payload=payload,
                )
            )
    for channel in SlackChannel.objects.filter(enabled=True):
        if "admin_alert" in (channel.events or []):
            ids.append(
                create_delivery(
                    f"admin_alert:{key}:slack:{channel.pk}",
                    event="admin_alert",
                    channel=Delivery.Channel.SLACK,
                    slack_channel=channel,
                    payload=payload,
                )
            )
    queue([i for i in ids if i])
    return [i for i in ids if i]


def create_delivery(key: str, **fields) -> int | None:
    """Create the delivery unless it exists; the id of a row still to send, else None."""
    delivery, created = Delivery.objects.get_or_create(key=key[:255], defaults={**fields, "created_at": now()})
    return delivery.pk if created or delivery.status == Delivery.Status.PENDING else None


def queue(delivery_ids: list[int]) -> None:
    from requests_app.integrations import tasks

    for delivery_id in delivery_ids:
        transaction.on_commit(functools.partial(tasks.deliver.delay, delivery_id))


# -- deliver: one row out -------------------------------------------------------------------------


def deliver(delivery_id: int) -> float | None:
    """Send one delivery. Returns seconds until a retry, or None when done (sent or given up)."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    try:
        external_id = _send(delivery)
    except ProviderError as exc:
        return _failed(delivery, exc.message, permanent=exc.permanent, retry_after=exc.retry_after)
    except Exception as exc:  # SMTP and socket errors: retried like any transient failure
        log.warning("delivery %s failed: %s", delivery.pk, exc)
        return _failed(delivery, f"{type(exc).__name__}: {exc}", permanent=False)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.SENT, sent_at=now(), external_id=external_id or "", last_error=""
    )
    return None


def _claim(delivery_id: int) -> Delivery | None:
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None or delivery.status in (Delivery.Status.SENT, Delivery.Status.FAILED):
            return None
        claimed_at = delivery.claimed_at
        if (
            delivery.status == Delivery.Status.SENDING
            and claimed_at is not None
            and claimed_at > now() - DELIVERY_LEASE
        ):
            return None  # another worker is sending it right now
        delivery.status = Delivery.Status.SENDING
        delivery.claimed_at = now()
        delivery.attempts += 1
        delivery.save(update_fields=["status", "claimed_at", "attempts"])
    return Delivery.objects.select_related(
        "elevation__beneficiary",
        "elevation__requester",
        "elevation__device",
        "elevation__policy",
        "recipient",
        "slack_channel",
        "jira_intake__connection",
    ).get(pk=delivery_id)


def _failed(delivery: Delivery, message: str, *, permanent: bool, retry_after: float | None = None) -> float | None:
    if permanent or delivery.attempts >= setting("ELEVATE_NOTIFY_MAX_ATTEMPTS"):
        Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.FAILED, last_error=message)
        log.warning("delivery %s (%s) gave up: %s", delivery.pk, delivery.key, message)
        return None
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.PENDING, last_error=message)
    return backoff_seconds(delivery.attempts, retry_after)


def _rendered(delivery: Delivery) -> messages.Rendered:
    if delivery.event == "admin_alert":
        return messages.render_admin_alert(delivery.payload.get("text", ""), delivery.payload.get("url", ""))
    if delivery.event == "manager_digest":
        return messages.render_payload(delivery.payload)
    bind = delivery.recipient_id is not None
    return messages.render(delivery.event, delivery.elevation, recipient=delivery.recipient, bind_links=bind)


def _send(delivery: Delivery) -> str:
    if delivery.channel == Delivery.Channel.SLACK_APP:  # Block Kit of its own, updated in place later
        assert delivery.elevation is not None and delivery.recipient is not None  # one person, one elevation
        return slack_posts.deliver(delivery.event, delivery.elevation, delivery.recipient)
    rendered = _rendered(delivery)
    if delivery.channel == Delivery.Channel.EMAIL:
        assert delivery.recipient is not None  # e-mail deliveries are personal
        subject, body = rendered.email()
        EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [delivery.recipient.email]).send()
        return ""
    if delivery.channel == Delivery.Channel.SLACK:
        channel = delivery.slack_channel
        personal = channel is None  # an admin sets channels; anyone sets their own
        if channel is not None:
            url = channel.webhook_url
        else:
            assert delivery.recipient is not None  # a delivery goes to a channel or a person
            url = preference_of(delivery.recipient).slack_webhook_url
        if not url:
            raise ProviderError("no Slack webhook configured any more", permanent=True)
        post_message(url, rendered.slack(), untrusted=personal)
        return ""
    intake = delivery.jira_intake
    assert intake is not None  # the remaining channel is a Jira comment on its issue
    with intake.connection.client() as client:
        comment = client.add_comment(intake.issue_key, rendered.jira())
    return str(comment.get("id", ""))


def requeue_stale() -> int:
    """Beat: queue deliveries whose message was lost (pending for a while, or a dead claim)."""
    stale = now() - DELIVERY_LEASE
    ids = list(
        Delivery.objects.filter(
            Q(status=Delivery.Status.PENDING, created_at__lte=stale)
            | Q(status=Delivery.Status.SENDING, claimed_at__lte=stale)
        ).values_list("pk", flat=True)[:500]
    )
    from requests_app.integrations import tasks

    for delivery_id in ids:
        tasks.deliver.delay(delivery_id)
    return len(ids)


# -- reminders and warnings (beat) ---------------------------------------------------------------


def send_expiry_reminders() -> int:
    """Announce `expiring_soon` for active elevations within their policy's reminder window."""
    current = now()
    horizon = current + timedelta(hours=24)
    count = 0
    candidates = Elevation.objects.filter(state=State.ACTIVE, expires_at__gt=current, expires_at__lte=horizon)
    for elevation in candidates.select_related("policy", "beneficiary", "device"):
        minutes = permissions.policy_of(elevation).reminder_before_minutes
        if not minutes or elevation.expires_at - current > timedelta(minutes=minutes):
            continue
        key = f"expiring_soon:{elevation.pk}:{elevation.expires_at.isoformat()}:"
        if Delivery.objects.filter(key__startswith=key).exists():
            continue
        announce("expiring_soon", elevation.pk)
        count += 1
    return count


def warn_expiring_jira_tokens() -> int:
    """Warn admins about Jira API tokens that expire soon; again every week until replaced."""
    from requests_app import audit
    from requests_app.integrations.models import JiraConnection

    today = now().date()
    warned = 0
    for connection in JiraConnection.objects.filter(enabled=True, api_token_expires_on__isnull=False):
        days = connection.token_days_left(today)
        if days is None or days > setting("ELEVATE_JIRA_TOKEN_WARN_DAYS"):
            continue
        if connection.token_warned_on and connection.token_warned_on > today - timedelta(days=7):
            continue
        state = "has expired" if days < 0 else f"expires in {days} days"
        text = (
            f"The Jira API token of {connection.name} ({connection.email}) {state} "
            f"({connection.api_token_expires_on}). Create a new token at "
            "id.atlassian.com → Security → API tokens and enter it in the portal's admin."
        )
        announce_admin_alert(f"jira-token:{connection.pk}:{today.isoformat()}", text)
        audit.record("jira.token_expiry_warning", target=connection, reason=text)
        JiraConnection.objects.filter(pk=connection.pk).update(token_warned_on=today)
        warned += 1
    return warned
