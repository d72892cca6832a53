"""Beat entry ELEVATE_EXTRA_BEAT["manager digests"]: runs every few hours, sends once a week."""

from __future__ import annotations

from celery import shared_task

from requests_app import audit
from requests_app.digests import services


@shared_task(name="digests.send_weekly", ignore_result=True)
def send_weekly() -> int:
    with audit.acting_as(audit.RequestContext(label="worker")):
        return services.digests_send_weekly()
