"""An elevation that ended holding admin → its attestation is opened in the worker. Only
enqueues and never lets a failure escape (the end has committed; the beat sweep catches a miss)."""

from __future__ import annotations

import logging

from django.dispatch import receiver

from requests_app.attestation import tasks
from requests_app.attestation.selectors import ENDED_WITH_ADMIN
from requests_app.signals import elevation_changed

log = logging.getLogger(__name__)


@receiver(elevation_changed, dispatch_uid="attestation.on_elevation_ended")
def on_elevation_ended(sender, elevation_ids, from_state, to_state, **kwargs):
    if to_state not in ENDED_WITH_ADMIN:
        return
    try:
        tasks.open_for_ended.delay(list(elevation_ids))
    except Exception:
        log.exception("could not queue the attestations of elevations %s", elevation_ids)
