"""The Celery app and every beat schedule, in one place."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("elevate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _django_connection_rules(task=None, **kwargs: object) -> None:
    """Connections in tasks follow Django's rules, as in web requests (CONN_MAX_AGE, health check).

    Celery's Django fix-up closes every connection before and after each task unless
    CELERY_DB_REUSE_MAX is set (settings.py sets it), so each task opened a fresh PostgreSQL
    connection before its first query: more than a whole broker round trip, in front of every
    grant. Eager runs (in-process, maybe inside a test's transaction) are left alone, as the fix-up does.
    """
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


@worker_ready.connect
def _take_back_revokes(sender=None, **kwargs: object) -> None:
    """A worker serving the revoke queue has started (after a crash, a deploy): revokes a killed
    worker left in flight are driven again now, not when their lease runs out."""
    queues = getattr(getattr(sender, "app", app).amqp.queues, "consume_from", None) or {}
    if not queues or "revoke" in queues:
        app.send_task("requests_app.resume_revokes")


@app.on_after_finalize.connect
def setup_periodic_tasks(sender: Celery, **kwargs: object) -> None:
    from django.conf import settings

    # The sweep is the source of truth for due work (grants to start, expiries, stuck steps);
    # on_commit enqueueing and ETA tasks are only the fast path.
    sender.add_periodic_task(
        float(settings.ELEVATE_SWEEP_SECONDS), sender.signature("requests_app.sweep"), name="sweep"
    )
    sender.add_periodic_task(
        float(settings.ELEVATE_RECONCILE_SECONDS),
        sender.signature("requests_app.reconcile"),
        name="reconcile with providers",
    )
    sender.add_periodic_task(900.0, sender.signature("requests_app.sync_all_devices"), name="device sync")
    for name, (seconds, task) in getattr(settings, "ELEVATE_EXTRA_BEAT", {}).items():
        sender.add_periodic_task(float(seconds), sender.signature(task), name=name)


@app.task(name="portal.ping", ignore_result=False)
def ping(value: str = "pong") -> str:
    """A bare round trip, used by readiness checks, tests and the benchmarks' baseline."""
    return value
