"""Thin Celery tasks: they take ids and call the execution steps, which are idempotent.

A step returns the seconds until it wants to run again (a retry, or polling an asynchronous
grant); the task re-queues itself for then. The row's `next_attempt_at` says the same, so the
sweep re-drives it if this message is lost.
"""

from __future__ import annotations

from celery import shared_task

from requests_app import execution


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


@shared_task(name="requests_app.confirm_end")
def confirm_end(elevation_id: int) -> None:
    _again(confirm_end, elevation_id, execution.confirm_end_step(elevation_id))


@shared_task(name="requests_app.resume_revokes")
def resume_revokes() -> int:
    return execution.resume_revokes()


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
