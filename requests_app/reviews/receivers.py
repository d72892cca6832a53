"""An elevation ended → the worker decides whether it is reviewed. Only enqueues, and never lets
a failure escape (the end has committed; the beat sweep decides what a lost message missed)."""

from __future__ import annotations

import logging

from django.dispatch import receiver

from requests_app.lifecycle import TERMINAL_STATES
from requests_app.reviews import tasks
from requests_app.signals import elevation_changed

log = logging.getLogger(__name__)


@receiver(elevation_changed, dispatch_uid="reviews.on_elevation_ended")
def on_elevation_ended(sender, elevation_ids, from_state, to_state, **kwargs):
    if to_state not in TERMINAL_STATES:
        return
    try:
        tasks.select_for_ended.delay(list(elevation_ids))
    except Exception:
        log.exception("could not queue the review selection of elevations %s", elevation_ids)
