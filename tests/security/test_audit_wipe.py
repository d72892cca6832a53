"""The audit trail cannot be truncated, the application's plain database role cannot switch the
protection off, and a wipe by someone who can is caught against the head anchored outside the
database (issue 17, item 10)."""

from __future__ import annotations

import json
import logging

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from requests_app import audit
from requests_app.auditing import anchor
from requests_app.auditing.tasks import audit_anchor

pytestmark = pytest.mark.django_db
AUDIT_TABLES = "requests_app_auditevent, requests_app_auditchainhead, requests_app_auditcheckpoint"


def _sql(statement: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement)


def _some_events(count: int = 3) -> None:
    for n in range(count):
        audit.record("config.policy.changed", after={"n": n})


@pytest.mark.parametrize("table", AUDIT_TABLES.split(", "))
def test_truncate_of_an_audit_table_is_refused(table):
    _some_events()
    _sql("SET LOCAL elevate.allow_audit_truncate = 'off'")  # what every real session has

    with pytest.raises(DatabaseError, match="cannot be truncated"), transaction.atomic():
        _sql(f"TRUNCATE {table}")


def test_the_plain_application_role_can_neither_truncate_nor_switch_triggers_off():
    # Rolled back with the test: a role as compose and the README set the application up with.
    _sql("CREATE ROLE elevate_probe_app NOLOGIN")
    _sql(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {AUDIT_TABLES} TO elevate_probe_app")
    _sql("SET LOCAL ROLE elevate_probe_app")
    _sql("SET LOCAL elevate.allow_audit_truncate = 'on'")  # anyone may set it; it is not enough
    for attack in (
        "TRUNCATE requests_app_auditevent",
        "ALTER TABLE requests_app_auditevent DISABLE TRIGGER USER",
        "SET session_replication_role = replica",
        "DELETE FROM requests_app_auditevent",
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            _sql(attack)


def test_the_beat_writes_the_head_to_the_log_the_file_and_the_webhook(settings, tmp_path, caplog, internal_listener):
    # The admin chooses where the head goes; here a file and a receiver on loopback.
    _some_events()
    settings.ELEVATE_AUDIT_ANCHOR_FILE = str(tmp_path / "audit-head.log")
    settings.ELEVATE_AUDIT_ANCHOR_WEBHOOK = f"{internal_listener.url}/anchor"
    assert any(task == "requests_app.audit_anchor" for _, task in settings.ELEVATE_EXTRA_BEAT.values())

    with caplog.at_level(logging.INFO, logger="elevate.audit.anchor"):
        head = audit_anchor()

    seq, _ = anchor.parse_head(head)
    assert seq >= 3
    assert head in caplog.text
    assert (tmp_path / "audit-head.log").read_text().strip().endswith(head)
    assert internal_listener.hits == ["/anchor"]
    assert json.loads(internal_listener.bodies[0])["head"] == head


def test_a_wipe_passes_a_plain_verify_but_not_one_against_the_anchored_head(settings, tmp_path, capsys):
    _some_events(5)
    settings.ELEVATE_AUDIT_ANCHOR_FILE = str(tmp_path / "audit-head.log")
    saved = audit_anchor()
    call_command("audit_verify", expect_head=saved)  # the intact chain holds the saved head

    # The table owner goes around the trigger (as only an owner can) and wipes everything.
    _sql("SET LOCAL elevate.allow_audit_truncate = 'on'")
    _sql(f"TRUNCATE {AUDIT_TABLES}")
    call_command("audit_verify")
    assert "Chain intact: 0 events" in capsys.readouterr().out

    with pytest.raises(CommandError, match="events were removed") as refused:
        call_command("audit_verify", expect_head=saved)
    assert refused.value.returncode == 1


def test_a_garbled_saved_head_is_refused_with_a_usage_error():
    with pytest.raises(CommandError, match="SEQ:HASH") as refused:
        call_command("audit_verify", expect_head="12:not-a-hash")
    assert refused.value.returncode == 2
