"""Every lifecycle change of an elevation with Slack messages updates them in place (queued:
the change has committed; a broken broker must not break the caller)."""

from __future__ import annotations

import logging

from django.dispatch import receiver

from requests_app.integrations.slack_app import tasks
from requests_app.integrations.slack_app.models import SlackPost
from requests_app.signals import elevation_changed

log = logging.getLogger(__name__)


@receiver(elevation_changed, dispatch_uid="integrations.slack_app.refresh")
def refresh_slack_messages(sender, elevation_ids, **kwargs):
    try:
        with_posts = list(
            SlackPost.objects.filter(elevation_id__in=elevation_ids).values_list("elevation_id", flat=True).distinct()
        )
        for elevation_id in with_posts:
            tasks.refresh.delay(elevation_id)
    except Exception:
        log.exception("could not queue the Slack refresh of elevations %s", elevation_ids)
