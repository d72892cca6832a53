"""Writing many audit events fast with a correct hash chain, for the tests and the benchmark
(`seed_bench`); not part of the portal (nothing at run time writes events but `audit.record()`).

`append_events()` takes rows of AuditEvent field values (without seq, prev_hash and hash),
continues the chain from the current head exactly as `audit.record()` would (same canonical
content, same hash), and writes them in batches: COPY on PostgreSQL, bulk_create elsewhere.
`synthetic_events()` makes plausible filler rows: lifecycles of the given elevations.

    head_seq, head_hash = append_events(synthetic_events(200_000, start=..., elevations=[(id, actor_id, label)]))
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction

from requests_app import audit
from requests_app.auditing.verify import HASHED_FIELDS, Row
from requests_app.models import AuditChainHead, AuditEvent

COLUMNS = HASHED_FIELDS
DEFAULTS: dict[str, Any] = {
    "actor_id": None,
    "actor_label": "",
    "target_type": "",
    "target_id": "",
    "target_label": "",
    "elevation_id": None,
    "before": None,
    "after": None,
    "reason": "",
    "ip": None,
    "user_agent": "",
}
LIFECYCLE = ("elevation.requested", "elevation.auto_approved", "elevation.granting", "elevation.granted",
             "elevation.revoke_requested", "elevation.revoked")  # fmt: skip


def _chained(rows: Iterable[Mapping[str, Any]], seq: int, prev_hash: str) -> Iterator[Row]:
    for source in rows:
        seq += 1
        row = Row({**DEFAULTS, **source, "seq": seq, "prev_hash": prev_hash})
        row["at"] = row["at"].astimezone(UTC)
        row["ip"] = audit.clean_ip(row["ip"])
        row["hash"] = prev_hash = audit.event_hash(row)
        yield row


def append_events(rows: Iterable[Mapping[str, Any]], *, batch_size: int = 10_000) -> tuple[int, str]:
    """Append `rows` after the current head in one transaction; returns the new (head seq, hash).

    Each row needs `action` and `at` (an aware datetime); other fields default to empty.
    Appends by `audit.record()` wait for this transaction (the head row stays locked).
    """
    with transaction.atomic():
        head = audit._lock_head(AuditChainHead)
        seq, last_hash = head.seq, head.hash
        chained = _chained(rows, seq, last_hash)
        while batch := list(itertools.islice(chained, batch_size)):
            _write(batch)
            seq, last_hash = batch[-1]["seq"], batch[-1]["hash"]
        AuditChainHead.objects.filter(pk=head.pk).update(seq=seq, hash=last_hash)
    return seq, last_hash


def _write(batch: list[Row]) -> None:
    if connection.vendor != "postgresql":
        AuditEvent.objects.bulk_create(AuditEvent(**row) for row in batch)
        return
    table = AuditEvent._meta.db_table
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
        for row in batch:
            copy.write_row(
                [
                    json.dumps(row[name]) if name in ("before", "after") and row[name] is not None else row[name]
                    for name in COLUMNS
                ]
            )


def synthetic_events(
    count: int,
    *,
    start: datetime,
    step: timedelta = timedelta(seconds=1),
    elevations: Sequence[tuple[int, int | None, str]] = (),
    actors: Sequence[tuple[int | None, str]] = ((None, "system"),),
) -> Iterator[dict[str, Any]]:
    """`count` events `step` apart from `start`. With `elevations` ((id, beneficiary id, hostname)
    triples) the events walk each one through a request-to-revoke lifecycle in turn; otherwise
    they are sign-ins by `actors` ((id, label) pairs)."""
    lifecycles = itertools.cycle(elevations) if elevations else None
    actor_cycle = itertools.cycle(actors)
    current: tuple[int, int | None, str] | None = None
    for n in range(count):
        at = start + step * n
        if lifecycles is None:
            actor_id, label = next(actor_cycle)
            yield {"action": "auth.sign_in", "at": at, "actor_id": actor_id, "actor_label": label,
                   "ip": f"10.0.{n % 200}.{n % 250 + 1}", "user_agent": "seed"}  # fmt: skip
            continue
        phase = n % len(LIFECYCLE)
        if phase == 0:
            current = next(lifecycles)
        elevation_id, actor_id, hostname = current  # type: ignore[misc]
        worker = LIFECYCLE[phase] in ("elevation.granting", "elevation.granted", "elevation.revoked")
        yield {
            "action": LIFECYCLE[phase],
            "at": at,
            "actor_id": None if worker else actor_id,
            "actor_label": "worker" if worker else f"user-{actor_id}",
            "target_type": "elevation",
            "target_id": str(elevation_id),
            "target_label": hostname,
            "elevation_id": elevation_id,
            "after": {"phase": phase},
            "ip": None if worker else "10.1.2.3",
        }
