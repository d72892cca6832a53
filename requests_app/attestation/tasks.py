"""Thin Celery tasks of attestation (beat entry ELEVATE_EXTRA_BEAT["open missed attestations"])."""

from __future__ import annotations

from celery import shared_task

from requests_app import audit
from requests_app.attestation import services

WORKER = audit.RequestContext(label="worker")


@shared_task(name="attestation.open_for_ended", ignore_result=True)
def open_for_ended(elevation_ids: list[int]) -> int:
    with audit.acting_as(WORKER):
        return services.attestations_open_for(elevation_ids)


@shared_task(name="attestation.open_missed", ignore_result=True)
def open_missed() -> int:
    with audit.acting_as(WORKER):
        return services.attestations_open_missed()
