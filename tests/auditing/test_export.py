"""Exports stream (flat memory, COPY on PostgreSQL), carry the chain head, are audited, and free their connection."""

from __future__ import annotations

import csv
import io
import itertools
import json
import time
import tracemalloc
from datetime import timedelta

import httpx
import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections

from bench.audit_chain import append_events, synthetic_events
from helpers import wait_for
from requests_app import audit
from requests_app.auditing import export, selectors, verify
from requests_app.auditing.filters import AuditFilterForm
from requests_app.clock import now
from requests_app.models import AuditChainHead, AuditEvent


def lines_of(response):
    pending = ""
    for chunk in response.streaming_content:
        pending += chunk.decode()
        *complete, pending = pending.split("\n")
        for line in complete:
            yield line + "\n"
    assert pending == ""


def seed(count: int) -> None:
    elevations = [(n, n % 40 + 1, f"host-{n % 300:03d}") for n in range(1, 5000)]
    step = timedelta(seconds=2)
    append_events(synthetic_events(count, start=now() - step * (count + 10), step=step, elevations=elevations))


def busy_sessions() -> list[tuple[str, str]]:
    """(state, query) of the other sessions on the test database that are not idle, seen from a
    second connection (the test's own one is busy while an export streams from it)."""
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT state, query FROM pg_stat_activity WHERE datname = current_database()"
                " AND state <> 'idle' AND pid <> pg_backend_pid()"
            )
            return cursor.fetchall()
    finally:
        other.close()


def running_copies() -> list[str]:
    return [query for state, query in busy_sessions() if state == "active" and query.startswith("COPY ")]


TRACED_ROWS = 40_000


@pytest.mark.django_db
def test_an_export_of_200k_events_streams_with_flat_memory_and_parses_back(auditor_client):
    """tracemalloc makes every allocation ~10x dearer, so it watches the request and the first
    40,000 rows: fetching the whole result up front or keeping rows as they go (40,000 rows are
    over 15 MB) would both show in the peak. pg_stat_activity shows the COPY still running
    meanwhile; the rest streams untraced and every line is parsed back."""
    started = time.monotonic()
    seed(200_000)
    seeded = time.monotonic() - started
    # Warm up first, so that one-time imports and caches of a first request are not counted.
    b"".join(auditor_client.get("/audit/export.jsonl", {"action": "none"}).streaming_content)
    head_before = AuditChainHead.objects.get().seq

    tracemalloc.start()
    try:
        response = auditor_client.get("/audit/export.jsonl")
        lines = lines_of(response)
        traced_bytes = sum(len(next(lines)) for _ in range(TRACED_ROWS))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    copying = running_copies()

    count, trailer = TRACED_ROWS, {}
    for line in lines:
        parsed = json.loads(line)
        if "chain_head" in parsed:
            trailer = parsed
            continue
        count += 1
        if count % 97 == 0:  # the smaller tests check every hash; here a sample
            assert export.line_hash_ok(parsed), parsed
    print(f"seeded in {seeded:.1f}s, exported in {time.monotonic() - started - seeded:.1f}s, peak {peak:,}")

    head = AuditChainHead.objects.get()
    assert response["X-Audit-Chain-Head"] == f"{head.seq} {head.hash}"
    assert head.seq == head_before + 1  # the export's own event
    # Every event: the 200,000, those of the test set-up and the export's own.
    assert count == trailer["rows"] == head.seq > 200_000
    assert trailer["chain_head"] == {"seq": head.seq, "hash": head.hash}
    assert len(copying) == 1, copying  # the COPY of this export, still streaming
    assert running_copies() == []
    assert traced_bytes > 15_000_000
    assert peak < 6_000_000, f"peak {peak:,} bytes while streaming {traced_bytes:,} bytes"


@pytest.mark.django_db
def test_a_csv_export_checks_out_and_ends_with_the_chain_head(auditor_client, auditor):
    seed(1_000)
    response = auditor_client.get("/audit/export.csv", {"action": "elevation.granted"})
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="elevate-audit-' in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    body, trailer = text.rstrip("\n").rsplit("\n", 1)
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == AuditEvent.objects.filter(action="elevation.granted").count() > 100
    assert all(export.line_hash_ok(export.csv_event(row)) for row in rows)
    head = AuditChainHead.objects.get()
    assert trailer.startswith(f"# chain_head seq={head.seq} hash={head.hash} rows={len(rows)} ")
    exported = AuditEvent.objects.get(action="audit.exported")
    assert exported.actor_id == auditor.pk and exported.ip == "127.0.0.1"
    assert exported.after == {"format": "csv", "filters": {"action": "elevation.granted"}}


@pytest.mark.django_db
def test_an_unfiltered_export_chains_from_the_first_event_to_the_head(auditor_client):
    seed(300)
    text = b"".join(auditor_client.get("/audit/export.jsonl").streaming_content)
    *events, trailer = [json.loads(line) for line in text.decode().splitlines()]
    assert events[0]["seq"] == 1 and events[0]["prev_hash"] == "0" * 64
    assert all(later["prev_hash"] == earlier["hash"] for earlier, later in itertools.pairwise(events))
    assert events[-1]["hash"] == trailer["chain_head"]["hash"]


def test_export_is_for_auditors_only(employee_client, db):
    assert employee_client.get("/audit/export.csv").status_code == 403
    assert not AuditEvent.objects.filter(action="audit.exported").exists()


def test_export_rejects_bad_filters_and_other_methods(auditor_client):
    assert auditor_client.get("/audit/export.csv", {"user": "nobody@example.com"}).status_code == 400
    assert auditor_client.post("/audit/export.csv").status_code == 405
    assert auditor_client.get("/audit/export.xml").status_code == 404


def tricky_events(start) -> list[dict]:
    """Text that CSV and JSON must escape, empty texts and nulls, both kinds of timestamps."""
    return [
        {"action": "x.quoted", "at": start, "actor_label": 'Zoë "ops", on call', "target_type": "device",
         "target_label": "=HYPERLINK(\"http://x\")", "reason": "line one\r\nline two\n", "ip": "2001:db8::1",
         "user_agent": "tab\there, back\\slash", "before": {"k": 'välue "q"\n', "ñ": [1, None, True, 2.5]}},
        {"action": "x.bare_cr", "at": start.replace(microsecond=5), "reason": "lone\rcarriage return",
         "ip": "127.0.0.1", "after": {"ctl": "\x01\x1f\x7f \u2028", "empty": ""}},
        {"action": "x.empty", "at": start.replace(microsecond=120_000), "actor_id": 7, "actor_label": "",
         "elevation_id": 1, "target_id": "", "after": {}, "before": []},
        {"action": "y.other", "at": start.replace(microsecond=999_999), "reason": "\\.", "target_id": "42"},
        {"action": "x.formulas", "at": start.replace(microsecond=7), "actor_label": "@ops", "target_id": "'quoted",
         "target_label": "+1 555", "reason": "-2 degrees, =cold", "user_agent": "\tTabbed"},
    ]  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("use_copy", [True, False])
def test_csv_cells_a_spreadsheet_would_run_start_with_an_apostrophe_and_still_check_out(auditor, use_copy):
    append_events(tricky_events(now().replace(microsecond=0) - timedelta(hours=1)))
    form = AuditFilterForm({"action": "x."})
    assert form.is_valid(), form.errors
    head_seq, head_hash = verify.chain_head()
    started = export.Export("csv", form.filters(), head_seq, head_hash, "2026-01-05T09:00:00+00:00")
    body = b"".join(started.stream(use_copy=use_copy)).decode().rstrip("\n").rsplit("\n", 1)[0]
    rows = {row["action"]: row for row in csv.DictReader(io.StringIO(body, newline=""))}
    formulas, quoted = rows["x.formulas"], rows["x.quoted"]
    assert (formulas["actor_label"], formulas["target_id"], formulas["target_label"]) == (
        "'@ops",
        "''quoted",
        "'+1 555",
    )
    assert (formulas["reason"], formulas["user_agent"]) == ("'-2 degrees, =cold", "'\tTabbed")
    assert quoted["target_label"] == '\'=HYPERLINK("http://x")' and quoted["actor_label"] == 'Zoë "ops", on call'
    events = [export.csv_event(row) for row in rows.values()]
    assert all(export.line_hash_ok(event) for event in events)
    assert export.csv_event(formulas)["target_id"] == "'quoted"  # one apostrophe dropped, the data's kept


EQUIVALENCE_FILTERS = [
    {},
    {"action": "x."},  # a prefix: LIKE with an escaped parameter
    {"action": "x.quoted", "actor": 'zoë "ops", on call'},
    {"state": "revoked"},  # no such elevation: matches nothing
]


@pytest.mark.django_db
@pytest.mark.parametrize("query", EQUIVALENCE_FILTERS)
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_copy_writes_the_same_bytes_as_the_python_writer(auditor, fmt, query):
    """PostgreSQL's COPY and the Python writer (SQLite's path) produce the same export, byte for
    byte, with the same filters; and it parses back with every hash intact."""
    seed(200)
    append_events(tricky_events(now().replace(microsecond=0) - timedelta(hours=1)))
    form = AuditFilterForm(query)
    assert form.is_valid(), form.errors
    head_seq, head_hash = verify.chain_head()
    started = export.Export(fmt, form.filters(), head_seq, head_hash, "2026-01-05T09:00:00+00:00")

    copied = b"".join(started.stream(use_copy=True))
    assert copied == b"".join(started.stream(use_copy=False))

    text = copied.decode()
    if fmt == "jsonl":
        count, trailer = export.read_jsonl(io.StringIO(text))
        events = [json.loads(line) for line in text.split("\n")[:-2]]  # not splitlines(): U+2028 is raw
    else:
        body, trailer_line = text.rstrip("\n").rsplit("\n", 1)
        events = [export.csv_event(row) for row in csv.DictReader(io.StringIO(body, newline=""))]
        assert all(export.line_hash_ok(event) for event in events)
        count, trailer = len(events), {"rows": int(trailer_line.split(" rows=")[1].split()[0])}
    expected = list(selectors.events_matching(form.filters()).filter(seq__lte=head_seq).values_list("seq", flat=True))
    assert [event["seq"] for event in events] == sorted(expected)
    assert count == trailer["rows"] == len(expected)
    if query == {}:
        assert {event["action"] for event in events} >= {"x.quoted", "x.bare_cr", "x.empty", "y.other"}
        stored = {event.seq: audit.event_content(event) for event in AuditEvent.objects.filter(action__startswith="x.")}
        assert all(stored[event["seq"]] == {key: event[key] for key in export.CONTENT_KEYS} for event in events
                   if event["seq"] in stored)  # fmt: skip


@pytest.mark.django_db
def test_an_export_closed_mid_way_cancels_its_copy_and_leaves_the_transaction_usable(auditor):
    """A server closes the response (so the stream, at a yield) when the client goes away."""
    seed(20_000)
    form = AuditFilterForm({})
    assert form.is_valid()
    chunks = export.export_start(filters=form.filters(), format="csv").stream()
    next(chunks), next(chunks)
    assert len(running_copies()) == 1
    chunks.close()
    assert running_copies() == []
    # The caller's transaction (here the test's) is not left aborted: the same connection goes on.
    assert connection.in_atomic_block
    assert AuditEvent.objects.filter(action="audit.exported").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_client_that_goes_away_mid_download_frees_the_server_connection(auditor_client, live_server):
    """Over HTTP, as in production: autocommit, and the server notices the closed socket. (30 MB
    of events: more than the socket buffers between PostgreSQL, the server and the client hold.)"""
    seed(60_000)
    cookies = {"sessionid": auditor_client.cookies["sessionid"].value}
    with (
        httpx.Client(base_url=live_server.url, cookies=cookies) as client,
        client.stream("GET", "/audit/export.jsonl") as response,
    ):
        assert response.status_code == 200
        chunks = response.iter_bytes()
        next(chunks)
        assert len(running_copies()) == 1
    # The socket is closed now, the rest unread: the server's next write fails and it closes the
    # response; the COPY is cancelled and its transaction rolled back, the connection idle again.
    wait_for(lambda: busy_sessions() == [], 10, interval=0.05, message="the export's session to be idle")
