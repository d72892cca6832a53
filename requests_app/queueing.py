"""Queueing worker steps, for the layers below the task module (services, execution).

`tasks.py` imports the execution steps it runs, so the steps and the services cannot import it
back: they queue work here, by the task's registered name, through Celery's own registry (the
same task objects, so eager mode and tests that watch `.delay` behave as before).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError

from portal.celery import app
from requests_app.clock import now

log = logging.getLogger(__name__)


def after_commit(queue_step: Callable[..., None], *args) -> None:
    """Queue a step once the caller's transaction commits. A broker that is unreachable then is
    said in one line, not a traceback: the change has committed, the row says when it is due,
    and the sweep drives it once the broker is back."""

    def send() -> None:
        try:
            queue_step(*args)
        except OperationalError as exc:
            what = ", ".join(map(str, args))
            log.warning(
                "could not queue %s of %s: the broker is unreachable (%s); the sweep will",
                queue_step.__name__,
                what,
                exc,
            )

    transaction.on_commit(send, robust=True)


def _task(name: str):
    # Registered when Django starts (apps.py imports tasks.py), in web and worker processes alike.
    return app.tasks[name]


def grant(elevation_id: int) -> None:
    _task("requests_app.grant").delay(elevation_id)


def revoke(elevation_id: int) -> None:
    _task("requests_app.revoke").delay(elevation_id)


def confirm_end(elevation_id: int) -> None:
    _task("requests_app.confirm_end").delay(elevation_id)


def sync_expiry(elevation_id: int) -> None:
    _task("requests_app.sync_expiry").delay(elevation_id)


def expire_due(countdown: float | None = None) -> None:
    _task("requests_app.expire_due").apply_async(countdown=countdown)


def schedule_expiry(elevation) -> None:
    """Fast path for expiry: an expiry run due at the elevation's expiry, when that is near enough.

    Far-off expiries are left to the sweep, which schedules them the same way as they come near
    (execution.schedule_upcoming_expiries): Redis may redeliver or lose long-ETA messages.
    """
    seconds = (elevation.expires_at - now()).total_seconds()
    if seconds <= settings.ELEVATE_MAX_ETA_SECONDS:
        schedule_expiry_run(elevation.expires_at)


# Expiries due within one tick share one run of expire_due (which takes every due row, in batches).
EXPIRY_TICK_SECONDS = 0.25
_queued_ticks: dict[int, float] = {}
_queued_ticks_lock = threading.Lock()  # the provider workers run a thread pool


def schedule_expiry_run(expires_at: datetime) -> bool:
    """Queue expire_due for the tick boundary at or just after `expires_at`, once per process.

    True if queued. Another process may queue the same tick too; the extra run finds nothing due.
    """
    tick = math.ceil(expires_at.timestamp() / EXPIRY_TICK_SECONDS)
    at = now().timestamp()
    with _queued_ticks_lock:
        if tick in _queued_ticks:
            return False
        for old in [t for t, queued_at in _queued_ticks.items() if queued_at < at - 3600]:
            del _queued_ticks[old]
    expire_due(countdown=max(0.0, tick * EXPIRY_TICK_SECONDS - at))
    with _queued_ticks_lock:
        _queued_ticks[tick] = at  # only once sent: a failed publish is tried again by the next sweep
    return True
