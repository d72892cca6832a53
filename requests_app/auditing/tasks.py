"""The periodic chain verification and head anchoring (ELEVATE_EXTRA_BEAT "audit chain verify" and
"audit chain anchor")."""

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


@shared_task(name="requests_app.audit_anchor", ignore_result=True)
def audit_anchor() -> str:
    """Write the chain head outside the database (log, and the admin's file or webhook)."""
    from requests_app.auditing import anchor

    return anchor.publish_head()
