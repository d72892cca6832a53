"""The Celery app and every beat schedule, in one place."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("elevate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


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
