"""Thin Celery task of the evidence pack."""

from __future__ import annotations

from celery import shared_task

from requests_app import audit
from requests_app.evidence.building import pack_build


@shared_task(name="evidence.build_pack", ignore_result=True)
def build_pack(pack_id: int) -> None:
    with audit.acting_as(audit.RequestContext(label="worker")):
        pack_build(pack_id)
