"""Thin Celery tasks of the integrations: they take ids and call `notifications`.

A delivery that wants a retry re-queues itself with a countdown (like the core's steps); the
`requeue_stale` beat catches any message that was lost on the way.
"""

from __future__ import annotations

from celery import shared_task

from requests_app.integrations import notifications


@shared_task(name="integrations.announce")
def announce(event: str, elevation_ids: list[int]) -> int:
    return sum(len(notifications.announce(event, elevation_id)) for elevation_id in elevation_ids)


@shared_task(name="integrations.deliver")
def deliver(delivery_id: int) -> None:
    delay = notifications.deliver(delivery_id)
    if delay is not None:
        deliver.apply_async(args=[delivery_id], countdown=delay)


@shared_task(name="integrations.admin_alert")
def admin_alert(key: str, text: str, url: str = "") -> int:
    return len(notifications.announce_admin_alert(key, text, url))


@shared_task(name="integrations.send_expiry_reminders")
def send_expiry_reminders() -> int:
    return notifications.send_expiry_reminders()


@shared_task(name="integrations.warn_expiring_jira_tokens")
def warn_expiring_jira_tokens() -> int:
    return notifications.warn_expiring_jira_tokens()


@shared_task(name="integrations.requeue_stale")
def requeue_stale() -> int:
    return notifications.requeue_stale()
