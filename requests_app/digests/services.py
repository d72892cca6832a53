"""Sending the weekly digests: one keyed delivery per manager, week and channel (so a rerun of
the beat sends nothing twice), out through the notifications' delivery machinery."""

from __future__ import annotations

from django.db import transaction

from requests_app import audit
from requests_app.clock import now
from requests_app.digests.content import Week, digest_payload, slack_payload, team_elevations
from requests_app.integrations import notifications
from requests_app.integrations.models import Delivery
from requests_app.models import User


def managers() -> list[User]:
    return list(User.objects.filter(is_active=True, reports__isnull=False).distinct().order_by("pk"))


def digest_send(*, manager: User, week: Week) -> list[int]:
    """Queue this manager's digest for `week`; the ids of new deliveries ([] if sent before or
    there was nothing to tell)."""
    prefix = f"manager_digest:{manager.pk}:{week.start.date().isoformat()}"
    if Delivery.objects.filter(key__startswith=f"{prefix}:").exists():
        return []  # queued before; a delivery still pending is sent again by requeue_stale
    elevations = list(team_elevations(manager, week))
    if not elevations:
        return []
    payload = digest_payload(manager, week, elevations)
    common = {"event": "manager_digest", "recipient": manager}
    ids = []
    with transaction.atomic():
        if manager.email:
            ids.append(
                notifications.create_delivery(
                    f"{prefix}:email", channel=Delivery.Channel.EMAIL, payload=payload, **common
                )
            )
        if notifications.preference_of(manager).slack_webhook_url:
            slack = slack_payload(payload)
            ids.append(
                notifications.create_delivery(
                    f"{prefix}:slack", channel=Delivery.Channel.SLACK, payload=slack, **common
                )
            )
        queued = [i for i in ids if i is not None]
        if queued:
            audit.record(
                "digest.queued",
                target=manager,
                after={"week": week.start.date().isoformat(), "elevations": len(elevations), "deliveries": len(queued)},
            )
        notifications.queue(queued)
    return queued


def digests_send_weekly() -> int:
    """Beat: the last whole week's digest to every manager (idempotent per manager and week)."""
    week = Week.before(now())
    return sum(len(digest_send(manager=manager, week=week)) for manager in managers())
