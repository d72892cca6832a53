"""Streaming export of the filtered events as CSV or JSON Lines, with the chain head at the end.

Memory stays flat: rows come from a server-side cursor (`.iterator(chunk_size=...)`) and go
out in small text chunks through StreamingHttpResponse. The export covers the events up to
the chain head read when it started (its own `audit.exported` event included), so what was
exported is exactly stated even while new events are being appended.

Checking an export (also shown on the dashboard):
- JSON Lines: every line but the last is one event. Drop `hash` and `elevation_public_id`;
  SHA-256 of the rest as JSON with sorted keys and no spaces (`json.dumps(obj, sort_keys=True,
  separators=(",", ":"))`: non-ASCII escaped as \\uXXXX) must equal `hash`. The last line is
  `{"chain_head": {"seq": N, "hash": H}, "rows": K, ...}`: K must be the number of event lines.
  An unfiltered export runs from seq 1: each `prev_hash` must be the previous line's `hash`
  (the first one 64 zeros) and the last event's `hash` must be H.
- CSV: one header row, then events, then one line `# chain_head seq=N hash=H rows=K ...`.
  Same columns as JSON; empty `actor`, `elevation` and `ip` mean null, `before`/`after` hold
  the JSON text (empty means null); `seq`, `actor` and `elevation` are integers.
- Any event's hash, and the head, can be compared with `manage.py audit_verify` on the server.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC

from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils import timezone

from requests_app import audit
from requests_app.auditing import selectors, verify
from requests_app.auditing.filters import AuditFilters

# The keys of audit.event_content(), i.e. exactly what each event's hash covers.
CONTENT_KEYS = ("seq", "at", "actor", "actor_label", "action", "target_type", "target_id", "target_label",
                "elevation", "before", "after", "reason", "ip", "user_agent", "prev_hash")  # fmt: skip
COLUMNS = (*CONTENT_KEYS, "hash", "elevation_public_id")
# Query columns in COLUMNS order. before/after come as JSON text, spliced in as they are: the
# export never decodes and re-encodes them (fewer allocations per row; same value either way).
QUERY_FIELDS = ("seq", "at", "actor_id", "actor_label", "action", "target_type", "target_id", "target_label",
                "elevation_id", "before_json", "after_json", "reason", "ip", "user_agent", "prev_hash", "hash",
                "elevation__public_id")  # fmt: skip
SCALAR_KEYS = tuple(key for key in COLUMNS if key not in ("before", "after"))
CHUNK_ROWS = 500
CURSOR_CHUNK = 2000
FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}


@dataclass(frozen=True)
class Export:
    format: str
    filters: AuditFilters
    head_seq: int
    head_hash: str
    exported_at: str

    @property
    def filename(self) -> str:
        return f"elevate-audit-{self.exported_at[:19].replace(':', '')}-to-{self.head_seq}.{self.format}"

    @property
    def content_type(self) -> str:
        return FORMATS[self.format]

    def trailer(self, rows: int) -> dict:
        return {
            "chain_head": {"seq": self.head_seq, "hash": self.head_hash},
            "rows": rows,
            "exported_at": self.exported_at,
            "filters": self.filters.query,
        }

    def stream(self) -> Iterator[str]:
        rows = _events(self.filters, self.head_seq)
        return _csv(rows, self) if self.format == "csv" else _jsonl(rows, self)


def export_start(*, filters: AuditFilters, format: str) -> Export:
    """Record the export (an audit event itself), then fix the head it will end at."""
    if format not in FORMATS:
        raise ValueError(f"Unknown export format {format!r}.")
    audit.record("audit.exported", after={"format": format, "filters": filters.query})
    head_seq, head_hash = verify.chain_head()
    return Export(format, filters, head_seq, head_hash, timezone.now().isoformat())


def _events(filters: AuditFilters, head_seq: int) -> Iterator[tuple]:
    """Rows in COLUMNS order, `at` as the ISO text that was hashed, through a server-side cursor."""
    rows = (
        selectors.events_matching(filters)
        .filter(seq__lte=head_seq)
        .order_by("seq")
        .annotate(before_json=Cast("before", TextField()), after_json=Cast("after", TextField()))
        .values_list(*QUERY_FIELDS)
        .iterator(chunk_size=CURSOR_CHUNK)
    )
    for row in rows:
        public_id = row[16]
        yield (row[0], row[1].astimezone(UTC).isoformat(), *row[2:16], None if public_id is None else str(public_id))


def _batches(rows: Iterator[tuple]) -> Iterator[list[tuple]]:
    while batch := list(itertools.islice(rows, CHUNK_ROWS)):
        yield batch


def _jsonl(rows: Iterator[tuple], export: Export) -> Iterator[str]:
    count = 0
    for batch in _batches(rows):
        lines = []
        for row in batch:
            scalars = json.dumps(dict(zip(SCALAR_KEYS, row[:9] + row[11:], strict=True)), ensure_ascii=False)
            lines.append(f'{scalars[:-1]}, "before": {row[9] or "null"}, "after": {row[10] or "null"}}}\n')
        count += len(batch)
        yield "".join(lines)
    yield json.dumps(export.trailer(count)) + "\n"


def _csv(rows: Iterator[tuple], export: Export) -> Iterator[str]:
    count = 0
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for batch in _batches(rows):
        writer.writerows(batch)  # None becomes an empty cell
        count += len(batch)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    trailer = export.trailer(count)
    yield buffer.getvalue() + (
        f"# chain_head seq={export.head_seq} hash={export.head_hash} rows={count} "
        f"exported_at={export.exported_at} filters={json.dumps(trailer['filters'], sort_keys=True)}\n"
    )


# ---------------------------------------------------------------------------------------------
# Reading an export back (the recipient's side; used by the tests, runnable by anyone)
# ---------------------------------------------------------------------------------------------
def line_hash_ok(event: dict) -> bool:
    content = {key: event[key] for key in CONTENT_KEYS}
    return hashlib.sha256(audit.canonical(content).encode()).hexdigest() == event["hash"]


def read_jsonl(lines: Iterable[str]) -> tuple[int, dict]:
    """(event count, trailer) of a JSON Lines export, checking every event's hash on the way."""
    count, previous = 0, None
    for text in lines:
        if previous is not None:
            event = json.loads(previous)
            if not line_hash_ok(event):
                raise ValueError(f"Event #{event['seq']} does not match its hash.")
            count += 1
        previous = text
    trailer = json.loads(previous) if previous else {}
    return count, trailer


def csv_event(row: dict[str, str]) -> dict:
    """One CSV row back into the JSON form (types and nulls restored) for `line_hash_ok`."""
    event: dict = dict(row)
    for key in ("seq", "actor", "elevation"):
        event[key] = int(row[key]) if row[key] else None
    for key in ("before", "after"):
        event[key] = json.loads(row[key]) if row[key] else None
    event["ip"] = row["ip"] or None
    return event
