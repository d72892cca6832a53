"""The periodic chain verification (beat entry ELEVATE_EXTRA_BEAT["audit chain verify"])."""

from __future__ import annotations

from celery import shared_task

from requests_app import audit


@shared_task(name="requests_app.audit_verify", ignore_result=True)
def audit_verify() -> dict:
    """Advance the verified-up-to checkpoint (a full walk once a day, see verify_and_checkpoint)."""
    from requests_app.auditing import verify

    with audit.acting_as(audit.RequestContext(label="worker")):
        report = verify.verify_and_checkpoint()
    return {"ok": report.ok, "verified_seq": report.verified_seq, "broken_seq": report.broken_seq}
