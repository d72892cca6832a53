"""Thin Celery tasks of the review queue (beat entry ELEVATE_EXTRA_BEAT["select missed reviews"])."""

from __future__ import annotations

from celery import shared_task

from requests_app import audit
from requests_app.reviews import services

WORKER = audit.RequestContext(label="worker")


@shared_task(name="reviews.select_for_ended", ignore_result=True)
def select_for_ended(elevation_ids: list[int]) -> int:
    with audit.acting_as(WORKER):
        return services.reviews_select_for(elevation_ids)


@shared_task(name="reviews.select_missed", ignore_result=True)
def select_missed() -> int:
    with audit.acting_as(WORKER):
        return services.reviews_select_missed()
