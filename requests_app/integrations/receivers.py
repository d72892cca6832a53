"""Lifecycle signals → Celery. Receivers only enqueue, and never let a failure escape: the
change they hear about has already committed, and a broken broker must not break the caller."""

from __future__ import annotations

import logging

from django.conf import settings
from django.dispatch import receiver
from django.urls import reverse

from requests_app.signals import elevation_alert, elevation_changed

log = logging.getLogger(__name__)


@receiver(elevation_changed, dispatch_uid="integrations.on_elevation_changed")
def on_elevation_changed(sender, elevation_ids, from_state, to_state, action=None, **kwargs):
    from requests_app.integrations import tasks
    from requests_app.integrations.notifications import event_for

    event = event_for(from_state, to_state, action)
    if event is None:
        return
    try:
        # One message for a batch (10,000 expiries in a minute are some 200 messages, not 10,000).
        tasks.announce.delay(event, elevation_ids)
    except Exception:  # the broker is down: log, the lifecycle goes on
        log.exception("could not queue the %s notification of elevations %s", event, elevation_ids)


@receiver(elevation_alert, dispatch_uid="integrations.on_elevation_alert")
def on_elevation_alert(sender, elevation_id, message, **kwargs):
    from requests_app.integrations import tasks
    from requests_app.models import Elevation

    public_id = Elevation.objects.filter(pk=elevation_id).values_list("public_id", flat=True).first()
    url = settings.ELEVATE_BASE_URL + reverse("requests_app:detail", args=[public_id]) if public_id else ""
    text = f"Revoking an elevation keeps failing and needs a person: {message}"
    try:
        tasks.admin_alert.delay(f"revoke:{elevation_id}", text, url)
    except Exception:
        log.exception("could not queue the admin alert for elevation %s", elevation_id)
