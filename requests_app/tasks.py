"""Thin Celery tasks: they take ids and call the execution steps, which are idempotent.

A step returns the seconds until it wants to run again (a retry, or polling an asynchronous
grant); the task re-queues itself for then. The row's `next_attempt_at` says the same, so the
sweep re-drives it if this message is lost.
"""

from __future__ import annotations

import math
import threading

from celery import shared_task
from django.conf import settings

from requests_app import execution
from requests_app.clock import now


def _again(task, elevation_id: int, delay: float | None) -> None:
    if delay is not None:
        task.apply_async(args=[elevation_id], countdown=delay)


@shared_task(name="requests_app.grant")
def grant(elevation_id: int) -> None:
    _again(grant, elevation_id, execution.grant_step(elevation_id))


@shared_task(name="requests_app.revoke")
def revoke(elevation_id: int) -> None:
    _again(revoke, elevation_id, execution.revoke_step(elevation_id))


@shared_task(name="requests_app.sync_expiry")
def sync_expiry(elevation_id: int) -> None:
    _again(sync_expiry, elevation_id, execution.sync_expiry_step(elevation_id))


@shared_task(name="requests_app.sweep")
def sweep() -> dict[str, int]:
    return execution.sweep()


@shared_task(name="requests_app.reconcile")
def reconcile() -> dict[str, int]:
    return execution.reconcile()


@shared_task(name="requests_app.sync_all_devices")
def sync_all_devices() -> int:
    from requests_app.devices import sync_all

    return sync_all()


@shared_task(name="requests_app.expire_due")
def expire_due() -> int:
    return execution.expire_due()


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


def schedule_expiry_run(expires_at) -> bool:
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
    expire_due.apply_async(countdown=max(0.0, tick * EXPIRY_TICK_SECONDS - at))
    with _queued_ticks_lock:
        _queued_ticks[tick] = at  # only once sent: a failed publish is tried again by the next sweep
    return True
