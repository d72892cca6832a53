"""`manage.py audit_verify` and the checkpoint: every kind of tampering is found, and where."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from requests_app import audit
from requests_app.auditing import verify
from requests_app.clock import travel
from requests_app.models import AuditChainHead, AuditCheckpoint, AuditEvent


def run_verify(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("audit_verify", *args, stdout=out)
    return out.getvalue()


def test_an_intact_chain_verifies_and_exits_zero(chain):
    audit.record("test.event", before={"x": 1.5}, after={"nested": {"b": [1, "two"]}}, reason="é ✓")
    head = AuditChainHead.objects.get()
    out = run_verify("--batch-size", "7")
    assert f"Chain intact: {head.seq} events checked" in out
    checkpoint = AuditCheckpoint.objects.get()
    assert (checkpoint.verified_seq, checkpoint.broken_seq) == (head.seq, None)
    assert checkpoint.verified_hash == AuditChainHead.objects.get().hash


def test_events_written_by_the_app_verify(employee_client, employee, device):
    from requests_app import services

    services.elevation_request(requester=employee, device=device, minutes=60, reason="Install the printer driver")
    response = employee_client.get("/")
    assert response.status_code == 200
    assert verify.verify_chain().ok


def test_a_row_altered_by_a_superuser_bypassing_the_trigger_is_found(chain, tamper):
    tamper("UPDATE requests_app_auditevent SET actor_label = 'someone-else' WHERE seq = 17")
    with pytest.raises(CommandError, match=r"broken at #17: content was altered") as caught:
        run_verify()
    assert caught.value.returncode == 1
    checkpoint = AuditCheckpoint.objects.get()
    assert (checkpoint.verified_seq, checkpoint.broken_seq) == (16, 17)
    assert AuditEvent.objects.filter(action="audit.chain_broken").count() == 1


def test_a_row_altered_with_the_trigger_disabled_is_found(chain):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE requests_app_auditevent DISABLE TRIGGER audit_event_append_only")
        cursor.execute("UPDATE requests_app_auditevent SET reason = 'nothing to see' WHERE seq = 3")
        cursor.execute("ALTER TABLE requests_app_auditevent ENABLE TRIGGER audit_event_append_only")
    report = verify.verify_chain()
    assert (report.ok, report.broken_seq, report.verified_seq) == (False, 3, 2)


def test_a_rewritten_row_with_a_recomputed_hash_breaks_the_next_link(chain, tamper):
    event = AuditEvent.objects.get(seq=20)
    event.reason = "rewritten"
    forged = audit.event_hash(event)
    tamper("UPDATE requests_app_auditevent SET reason = 'rewritten', hash = %s WHERE seq = 20", [forged])
    report = verify.verify_chain()
    assert report.broken_seq == 21
    assert "prev_hash" in report.problem


def test_a_deleted_row_is_found_as_a_gap(chain, tamper):
    tamper("DELETE FROM requests_app_auditevent WHERE seq IN (30, 31)")
    report = verify.verify_chain()
    assert report.broken_seq == 30
    assert "#30 to #31 missing" in report.problem


def test_deleting_the_newest_events_is_found_against_the_head(chain, tamper):
    head = AuditChainHead.objects.get()
    tamper("DELETE FROM requests_app_auditevent WHERE seq > 45")
    report = verify.verify_chain()
    assert (report.broken_seq, report.verified_seq) == (46, 45)
    assert f"head is #{head.seq}" in report.problem


def test_incremental_runs_start_at_the_checkpoint_and_check_its_anchor(chain, tamper):
    assert verify.verify_and_checkpoint().ok
    head_seq, _ = chain(10)
    report = verify.verify_and_checkpoint()
    assert (report.ok, report.checked, report.verified_seq) == (True, 10, head_seq)
    tamper("UPDATE requests_app_auditevent SET reason = 'x' WHERE seq = %s", [head_seq])
    report = verify.verify_and_checkpoint()
    assert (report.ok, report.broken_seq) == (False, head_seq)
    assert "last verified event was altered" in report.problem


def test_a_full_walk_runs_once_a_day_even_when_incremental(chain, tamper):
    assert verify.verify_and_checkpoint().ok
    tamper("UPDATE requests_app_auditevent SET reason = 'x' WHERE seq = 5")
    assert verify.verify_and_checkpoint().ok  # incremental: nothing new to check
    with travel(__import__("datetime").timedelta(hours=25)):
        report = verify.verify_and_checkpoint()
    assert report.broken_seq == 5


def test_the_periodic_task_is_registered_and_scheduled(settings, chain):
    from portal.celery import app
    from requests_app.auditing.tasks import audit_verify

    assert "requests_app.audit_verify" in app.tasks
    head = AuditChainHead.objects.get()
    assert audit_verify() == {"ok": True, "verified_seq": head.seq, "broken_seq": None}
    assert "requests_app.audit_verify" in {task for _, task in settings.ELEVATE_EXTRA_BEAT.values()}


@pytest.mark.worker
def test_a_real_worker_runs_the_periodic_verify(worker):
    from helpers import wait_for
    from portal.celery import app

    audit.record("test.event")
    app.send_task("requests_app.audit_verify")
    head = AuditChainHead.objects.get()
    checkpoint = wait_for(
        lambda: AuditCheckpoint.objects.filter(verified_seq=head.seq).first(), timeout=30, message="the checkpoint"
    )
    assert checkpoint.broken_seq is None and checkpoint.verified_hash == head.hash
