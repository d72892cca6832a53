"""The evidence pack: asked for by auditors, built in the worker into a ZIP whose every file is
in its SHA-256 manifest, with the event export, the tables, a control map and a PDF summary."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tempfile
import zipfile
from datetime import timedelta

import pytest

from requests_app.auditing.export import read_jsonl
from requests_app.clock import now
from requests_app.errors import NotAllowed, PolicyViolation
from requests_app.evidence import builder, building, pdf, services
from requests_app.models import AuditEvent, EvidencePack

FILES = {
    "summary.pdf",
    "events.csv",
    "events.jsonl",
    "elevations.csv",
    "break_glass.csv",
    "reviews.csv",
    "failed_revokes_and_drift.csv",
    "policy_changes.csv",
    "control_map.csv",
    "MANIFEST.sha256",
}


def ask(auditor, days_back=7, **overrides):
    today = now().date()
    arguments = {"requested_by": auditor, "date_from": today - timedelta(days=days_back), "date_to": today}
    return services.pack_request(**{**arguments, **overrides})


def built_zip(pack) -> zipfile.ZipFile:
    pack.refresh_from_db()
    return zipfile.ZipFile(pack.file.open("rb"))


def table(archive, name) -> list[dict]:
    return list(csv.DictReader(io.StringIO(archive.read(name).decode())))


def test_asking_stores_the_pack_audits_it_and_queues_the_build_after_commit(
    auditor, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(services.tasks.build_pack, "delay", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        pack = ask(auditor)
    assert queued == [pack.pk]
    assert pack.status == EvidencePack.Status.QUEUED
    assert AuditEvent.objects.get(action="evidence.requested").actor == auditor


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"date_to": now().date() - timedelta(days=30)}, "ends before it starts"),
        ({"date_from": now().date() - timedelta(days=400)}, "at most 366 days"),
        ({"date_from": now().date() + timedelta(days=3), "date_to": now().date() + timedelta(days=4)}, "future"),
    ],
)
def test_a_bad_period_is_refused_and_changes_nothing(auditor, overrides, message):
    with pytest.raises(PolicyViolation, match=message):
        ask(auditor, **overrides)
    assert not EvidencePack.objects.exists() and not AuditEvent.objects.filter(action__startswith="evidence.").exists()


def test_only_auditors_ask_for_a_pack(helpdesk):
    with pytest.raises(NotAllowed):
        ask(helpdesk)


def test_the_pack_holds_every_file_and_its_manifest_matches(auditor, history):
    pack = building.pack_build(ask(auditor).pk)
    assert pack.status == EvidencePack.Status.DONE and pack.progress == 100
    archive = built_zip(pack)
    assert set(archive.namelist()) == FILES
    manifest = archive.read("MANIFEST.sha256").decode()
    sums = dict(reversed(line.split("  ")) for line in manifest.splitlines())
    assert set(sums) == FILES - {"MANIFEST.sha256"}
    for name, digest in sums.items():
        assert hashlib.sha256(archive.read(name)).hexdigest() == digest, name
    assert pack.manifest_sha256 == hashlib.sha256(manifest.encode()).hexdigest()
    assert pack.sha256 == hashlib.sha256(pack.file.open("rb").read()).hexdigest()


def test_the_event_export_verifies_event_by_event_up_to_the_recorded_head(auditor, history):
    pack = building.pack_build(ask(auditor).pk)
    archive = built_zip(pack)
    count, trailer = read_jsonl(archive.read("events.jsonl").decode().splitlines(keepends=True))
    assert count > 5 and trailer["chain_head"] == {"seq": pack.chain_head_seq, "hash": pack.chain_head_hash}
    csv_lines = archive.read("events.csv").decode().splitlines()
    assert csv_lines[-1].startswith(f"# chain_head seq={pack.chain_head_seq} hash={pack.chain_head_hash}")


def test_the_tables_hold_approvals_attestations_reviews_and_failures(auditor, history):
    archive = built_zip(building.pack_build(ask(auditor).pk))
    elevations = {row["elevation"]: row for row in table(archive, "elevations.csv")}
    approved = elevations[str(history["approved"].public_id)]
    assert approved["approvals"].startswith("Approved by avery@example.com")
    assert approved["attestation"] == "given" and approved["attestation_text"] == "Installed the plotter driver"
    assert approved["reason"] == "'=HYPERLINK(evil)"  # a formula is shown, never run
    (glass,) = table(archive, "break_glass.csv")
    assert glass["review_status"] == "flagged" and glass["review_comment"] == "No incident ticket"
    (problem,) = table(archive, "failed_revokes_and_drift.csv")
    assert problem["kind"] == "failed revoke" and problem["elevation"] == str(history["stuck"].public_id)
    assert table(archive, "policy_changes.csv")[0]["fields"] == "max_extensions"


def test_the_control_map_names_every_control_and_only_files_in_the_pack(auditor, history):
    archive = built_zip(building.pack_build(ask(auditor).pk))
    rows = table(archive, "control_map.csv")
    assert [row["control"] for row in rows] == ["CC6.1", "CC6.2", "CC6.3", "A.5.15", "A.5.18", "A.8.2", "A.8.15"]
    for row in rows:
        assert set(row["answered_by"].split()) <= FILES


def test_the_pdf_summary_is_a_pdf_and_the_build_is_audited(auditor, history):
    pack = building.pack_build(ask(auditor).pk)
    assert built_zip(pack).read("summary.pdf").startswith(b"%PDF-")
    event = AuditEvent.objects.get(action="evidence.generated")
    assert event.after["sha256"] == pack.sha256 and event.after["manifest_sha256"] == pack.manifest_sha256


def test_the_pdf_falls_back_to_latin_1_without_failing_on_other_characters(settings, tmp_path):
    settings.ELEVATE_PDF_FONT_DIR = str(tmp_path)  # no fonts there
    report = pdf.Report("Elevate — “evidence”", "Zoë 🔐 日本", [("Result", "intact")], [], [("2026-12-01", 2)])
    assert pdf.render(report).startswith(b"%PDF-")


def test_a_second_delivery_of_the_build_is_a_no_op(auditor, history):
    pack = ask(auditor)
    assert building.pack_build(pack.pk) is not None
    assert building.pack_build(pack.pk) is None
    assert AuditEvent.objects.filter(action="evidence.generated").count() == 1


def test_a_failed_build_says_why_is_audited_and_leaves_no_file(auditor, monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(builder, "_report", broken)
    pack = building.pack_build(ask(auditor).pk)
    assert pack.status == EvidencePack.Status.FAILED and "disk full" in pack.error
    assert not pack.file and list(tmp_path.glob("evidence-*")) == []
    assert AuditEvent.objects.get(action="evidence.failed").reason == "RuntimeError: disk full"


def test_the_page_lists_packs_and_its_row_polls_until_ready(auditor_client, auditor, history):
    response = auditor_client.post("/evidence/", {"date_from": str(now().date()), "date_to": str(now().date())})
    assert response.status_code == 302
    pack = EvidencePack.objects.get()
    page = auditor_client.get("/evidence/").content.decode()
    assert f'id="pack-{pack.public_id}"' in page and 'hx-trigger="every 1s"' in page
    row = auditor_client.get(f"/evidence/{pack.public_id}/row/", HTTP_HX_REQUEST="true")
    assert row.status_code == 200
    building.pack_build(pack.pk)
    done = auditor_client.get(f"/evidence/{pack.public_id}/row/", HTTP_HX_REQUEST="true")
    assert done.status_code == 286 and "Download ZIP" in done.content.decode()


def test_a_bad_period_on_the_page_shows_the_message(auditor_client):
    response = auditor_client.post("/evidence/", {"date_from": "2026-12-05", "date_to": "2026-12-01"})
    assert response.status_code == 200 and "The period ends before it starts." in response.content.decode()
    empty = auditor_client.post("/evidence/", {})
    assert empty.status_code == 200 and "This field is required." in empty.content.decode()
    assert not EvidencePack.objects.exists()


def test_downloading_is_audited_and_serves_the_zip(auditor_client, auditor, history):
    pack = building.pack_build(ask(auditor).pk)
    response = auditor_client.get(f"/evidence/{pack.public_id}/download/")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == pack.sha256
    assert AuditEvent.objects.get(action="evidence.downloaded").actor == auditor


def test_an_unfinished_pack_is_not_downloaded(auditor_client, auditor):
    pack = ask(auditor)
    response = auditor_client.get(f"/evidence/{pack.public_id}/download/", follow=True)
    assert "This pack is not ready." in response.content.decode()
    assert not AuditEvent.objects.filter(action="evidence.downloaded").exists()


def test_other_roles_are_refused_evidence_packs(employee_client, helpdesk, helpdesk_client, auditor, with_mfa):
    with_mfa(helpdesk)  # else sent to set it up first, as on every staff page
    pack = ask(auditor)
    assert employee_client.get("/evidence/").status_code == 403
    assert helpdesk_client.get(f"/evidence/{pack.public_id}/download/").status_code == 403
    assert employee_client.post("/evidence/", {"date_from": "2026-12-01", "date_to": "2026-12-02"}).status_code == 403


def test_the_manifest_lines_read_as_sha256sum_does(auditor, history):
    archive = built_zip(building.pack_build(ask(auditor).pk))
    for line in archive.read("MANIFEST.sha256").decode().splitlines():
        digest, name = line.split("  ")
        assert len(digest) == 64 and name in FILES
    assert json.loads(archive.read("events.jsonl").decode().splitlines()[-1])["rows"] > 0
