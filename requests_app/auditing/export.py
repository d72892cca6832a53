"""Streaming export of the filtered events as CSV or JSON Lines, with the chain head at the end.

On PostgreSQL the database writes the rows' text itself: the filtered queryset (the dashboard's
own filters, compiled by Django) runs inside `COPY (...) TO STDOUT`, and the copy data goes out
in ~64 KiB chunks through StreamingHttpResponse, so the web process does no per-field work and
its memory stays flat. Elsewhere (SQLite) Python writes the same bytes from the same queryset
(`tests/auditing/test_export.py` compares the two). The export covers the events up to the
chain head read when it started (its own `audit.exported` event included), so what was
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
  the JSON text (empty means null); `seq`, `actor` and `elevation` are integers. A cell is
  quoted when it holds a comma, a double quote, CR or LF (RFC 4180; an empty text is unquoted).
  A free text (actor_label, target_id, target_label, reason, user_agent) that starts with = + -
  @ TAB CR or an apostrophe is written with an apostrophe in front, so that a spreadsheet shows
  it rather than running it as a formula (OWASP "CSV injection"); drop that first apostrophe
  before hashing (`csv_event` does).
- Any event's hash, and the head, can be compared with `manage.py audit_verify` on the server.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC

from django.db import connections, transaction
from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from requests_app import audit
from requests_app.auditing import selectors, verify
from requests_app.auditing.filters import AuditFilters

# The keys of audit.event_content(), i.e. exactly what each event's hash covers.
CONTENT_KEYS = ("seq", "at", "actor", "actor_label", "action", "target_type", "target_id", "target_label",
                "elevation", "before", "after", "reason", "ip", "user_agent", "prev_hash")  # fmt: skip
COLUMNS = (*CONTENT_KEYS, "hash", "elevation_public_id")
# A JSON line's keys: before/after last (their JSON text is spliced in as it is, never re-encoded).
JSON_KEYS = (*(key for key in COLUMNS if key not in ("before", "after")), "before", "after")
# Query columns in COLUMNS order. before/after come as JSON text, spliced in as they are: the
# export never decodes and re-encodes them (fewer allocations per row; same value either way).
QUERY_FIELDS = ("seq", "at", "actor_id", "actor_label", "action", "target_type", "target_id", "target_label",
                "elevation_id", "before_json", "after_json", "reason", "ip", "user_agent", "prev_hash", "hash",
                "elevation__public_id")  # fmt: skip
INTEGER_COLUMNS = ("seq", "actor", "elevation")
TEXT_COLUMNS = ("actor_label", "action", "target_type", "target_id", "target_label", "reason", "user_agent",
                "prev_hash", "hash")  # fmt: skip
# What a spreadsheet may take for a formula (OWASP CSV injection), and the apostrophe that marks
# an escaped cell: a text starting with any of them gets an apostrophe in front in CSV. Only the
# columns whose text comes from outside (people, Jira, providers, browsers): actions and target
# types are the code's own names, and hashes are hex.
FORMULA_CHARS = "=+-@\t\r'"
FREE_TEXT_COLUMNS = ("actor_label", "target_id", "target_label", "reason", "user_agent")
# The same test in SQL, on the first character's code: a third of the cost of a regex per cell.
FORMULA_CODES_SQL = ", ".join(str(ord(char)) for char in FORMULA_CHARS)
CHUNK_ROWS = 500  # Python writer: rows per chunk
CHUNK_BYTES = 1 << 16  # COPY: bytes per chunk
CURSOR_CHUNK = 2000
FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}

# ---------------------------------------------------------------------------------------------
# The row text in SQL, over the queryset's columns renamed to COLUMNS (`e`)
# ---------------------------------------------------------------------------------------------
# `at` exactly as hashed: Python's isoformat() of the UTC time (microseconds only when non-zero).
AT_SQL = """replace(to_char(e."at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'), '.000000+', '+')"""


def _csv_sql(column: str) -> str:
    if column == "at":
        return AT_SQL
    value = f'e."{column}"'
    if column not in TEXT_COLUMNS:
        return value
    # COPY quotes an empty text (to tell it from a null); the export writes it as an empty cell.
    if column not in FREE_TEXT_COLUMNS:
        return f"NULLIF({value}, '')"
    return f"CASE WHEN ascii({value}) IN ({FORMULA_CODES_SQL}) THEN '''' || {value} ELSE NULLIF({value}, '') END"


def _json_sql(column: str) -> str:
    if column in ("before", "after"):
        return f"COALESCE(e.\"{column}\", 'null')"  # JSON text already
    if column in INTEGER_COLUMNS:
        return f"COALESCE(e.\"{column}\"::text, 'null')"
    if column in ("at", "elevation_public_id"):  # digits, hyphens, colons, T, +: nothing to escape
        value = AT_SQL if column == "at" else f'e."{column}"::text'
        return f"COALESCE('\"' || {value} || '\"', 'null')"
    # to_json() escapes strings as json.dumps(ensure_ascii=False) does: \" \\ \b \f \n \r \t, \u00XX.
    return f"COALESCE(to_json(e.\"{column}\")::text, 'null')"


def _json_line_sql() -> str:
    """concat('{"seq": ', <seq>, ', "at": ', <at>, ..., '}'): json.dumps()'s ", " and ": " separators."""
    parts = []
    for n, key in enumerate(JSON_KEYS):
        opening = "{" if n == 0 else ", "
        parts += [f"'{opening}{json.dumps(key)}: '", _json_sql(key)]
    return f"concat({', '.join(parts)}, '}}')"


ROW_SQL = {"csv": ", ".join(_csv_sql(column) for column in COLUMNS), "jsonl": _json_line_sql()}
# A JSON line holds no control characters (JSON escapes them), so with two of them as delimiter
# and quote, CSV mode writes each line exactly as built. Text mode would double its backslashes.
COPY_OPTIONS = {"csv": "FORMAT csv", "jsonl": r"FORMAT csv, DELIMITER E'\x01', QUOTE E'\x02'"}


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

    def stream(self, *, use_copy: bool | None = None) -> Iterator[bytes]:
        """The export's bytes in chunks: COPY on PostgreSQL, else Python (`use_copy` forces one)."""
        events = _events(self.filters, self.head_seq)
        if use_copy is None:
            use_copy = connections[events.db].vendor == "postgresql"
        if self.format == "csv":
            yield (",".join(COLUMNS) + "\n").encode()
        rows = yield from (_copy_out if use_copy else _python_out)(events, self.format)
        yield self._trailer_line(rows).encode()

    def _trailer_line(self, rows: int) -> str:
        trailer = self.trailer(rows)
        if self.format == "jsonl":
            return json.dumps(trailer) + "\n"
        return (
            f"# chain_head seq={self.head_seq} hash={self.head_hash} rows={rows} "
            f"exported_at={self.exported_at} filters={json.dumps(trailer['filters'], sort_keys=True)}\n"
        )


def export_start(*, filters: AuditFilters, format: str) -> Export:
    """Record the export (an audit event itself), then fix the head it will end at."""
    if format not in FORMATS:
        raise ValueError(f"Unknown export format {format!r}.")
    audit.record("audit.exported", after={"format": format, "filters": filters.query})
    head_seq, head_hash = verify.chain_head()
    return Export(format, filters, head_seq, head_hash, timezone.now().isoformat())


def _events(filters: AuditFilters, head_seq: int) -> QuerySet:
    """The exported rows, QUERY_FIELDS in COLUMNS order: the dashboard's filters, up to the head."""
    return (
        selectors.events_matching(filters)
        .filter(seq__lte=head_seq)
        .order_by("seq")
        .annotate(before_json=Cast("before", TextField()), after_json=Cast("after", TextField()))
        .values_list(*QUERY_FIELDS)
    )


def _copy_out(events: QuerySet, format: str) -> Generator[bytes, None, int]:
    """PostgreSQL writes the rows' text; chunks of it as they arrive. Returns the row count."""
    # elide_empty=False: a filter that matches nothing compiles to `WHERE 0 = 1` instead of raising.
    query, params = events.query.get_compiler(events.db, elide_empty=False).as_sql()
    # Django's compiled query (its parameters stay parameters) inside constant text.
    rows = f"SELECT {ROW_SQL[format]} FROM ({query}) AS e ({', '.join(COLUMNS)}) ORDER BY e.seq"  # noqa: S608
    statement = f"COPY ({rows}) TO STDOUT WITH ({COPY_OPTIONS[format]})"
    # If the client goes away mid-way, the generator is closed at a yield: psycopg then cancels the
    # COPY, which aborts the transaction around it. The atomic block (a savepoint inside a caller's
    # transaction) rolls that back, so the connection goes back clean for the next request.
    with transaction.atomic(using=events.db), connections[events.db].cursor() as cursor:
        # The psycopg cursor: it merges the parameters client-side (COPY takes none server-side).
        with cursor.cursor.copy(statement, params) as copy:
            chunk = bytearray()
            for row in copy:  # one block per row
                chunk += row
                if len(chunk) >= CHUNK_BYTES:
                    yield bytes(chunk)
                    chunk.clear()
        yield bytes(chunk)
        return cursor.cursor.rowcount


def _python_out(events: QuerySet, format: str) -> Generator[bytes, None, int]:
    """The same bytes as _copy_out, written by Python from a server-side cursor where there is no COPY."""
    line = _csv_line if format == "csv" else _json_line
    rows = events.iterator(chunk_size=CURSOR_CHUNK)
    count = 0
    while batch := list(itertools.islice(rows, CHUNK_ROWS)):
        count += len(batch)
        yield "".join(line(row) for row in batch).encode()
    return count


def _texts(row: tuple) -> tuple:
    """A queryset row as the text COPY writes for it: `at` as hashed, the public id as text."""
    public_id = row[16]
    return (row[0], row[1].astimezone(UTC).isoformat(), *row[2:16], None if public_id is None else str(public_id))


_NEEDS_QUOTES = re.compile(r'[,"\r\n]')


def _csv_cell(value) -> str:
    if value is None:
        return ""
    text = str(value)
    return '"' + text.replace('"', '""') + '"' if _NEEDS_QUOTES.search(text) else text


_FREE_TEXT_POSITIONS = frozenset(COLUMNS.index(column) for column in FREE_TEXT_COLUMNS)


def _csv_line(row: tuple) -> str:
    cells = _texts(row)
    return (
        ",".join(_csv_cell(defuse_formula(v) if n in _FREE_TEXT_POSITIONS else v) for n, v in enumerate(cells)) + "\n"
    )


def defuse_formula(text: str | None) -> str | None:
    return "'" + text if text and text[0] in FORMULA_CHARS else text


def _json_line(row: tuple) -> str:
    values = _texts(row)
    scalars = json.dumps(dict(zip(JSON_KEYS[:-2], values[:9] + values[11:], strict=True)), ensure_ascii=False)
    return f'{scalars[:-1]}, "before": {values[9] or "null"}, "after": {values[10] or "null"}}}\n'


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
    for key in FREE_TEXT_COLUMNS:  # an escaped text (see FORMULA_CHARS) loses its apostrophe
        if event[key].startswith("'"):
            event[key] = event[key][1:]
    for key in ("seq", "actor", "elevation"):
        event[key] = int(row[key]) if row[key] else None
    for key in ("before", "after"):
        event[key] = json.loads(row[key]) if row[key] else None
    event["ip"] = row["ip"] or None
    return event
