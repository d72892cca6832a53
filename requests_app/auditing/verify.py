"""Walking the hash chain, and the checkpoint that records how far it is known to be intact.

A walk streams the events in seq order in keyset batches (constant memory, no long-held
cursor) and checks, for each one, that its seq follows the previous one (nothing deleted),
that its prev_hash is the previous event's hash (nothing inserted or rewritten before it) and
that its content still hashes to its stored hash (nothing edited). The walk stops at the chain
head read when it started, so events appended meanwhile are left for the next run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Subquery

from requests_app import audit
from requests_app.clock import now
from requests_app.models import AuditChainHead, AuditCheckpoint, AuditEvent
from requests_app.models.audit_trail import GENESIS_HASH

HASHED_FIELDS = (
    "seq",
    "at",
    "actor_id",
    "actor_label",
    "action",
    "target_type",
    "target_id",
    "target_label",
    "elevation_id",
    "before",
    "after",
    "reason",
    "ip",
    "user_agent",
    "prev_hash",
    "hash",
)


class Row(dict):
    """A `.values()` row that `audit.event_hash` can read like a model (cheaper than instances)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass(frozen=True)
class ChainReport:
    """The outcome of one walk. `verified_seq`/`verified_hash` is the last event known good."""

    ok: bool
    verified_seq: int
    verified_hash: str
    head_seq: int
    checked: int
    broken_seq: int | None = None
    problem: str = ""

    def describe(self) -> str:
        if self.ok:
            return (
                f"Chain intact: {self.checked:,} events checked, verified up to #{self.verified_seq} "
                f"(head #{self.head_seq}, hash {self.verified_hash})."
            )
        return f"Chain broken at #{self.broken_seq}: {self.problem} (intact up to #{self.verified_seq})."


def chain_head() -> tuple[int, str]:
    head = AuditChainHead.objects.filter(pk=1).values_list("seq", "hash").first()
    return head or (0, GENESIS_HASH)


def stream_events(after_seq: int, up_to_seq: int, batch_size: int = 2000) -> Iterator[Row]:
    cursor = after_seq
    while cursor < up_to_seq:
        batch = list(
            AuditEvent.objects.filter(seq__gt=cursor, seq__lte=up_to_seq)
            .order_by("seq")
            .values(*HASHED_FIELDS)[:batch_size]
        )
        if not batch:
            return
        for row in batch:
            yield Row(row)
        cursor = batch[-1]["seq"]


def link_problem(event, expected_seq: int, expected_prev_hash: str) -> str:
    """What is wrong with this event as the link after (expected_seq - 1), or ''."""
    if event.seq != expected_seq:
        missing = f"#{expected_seq}" if event.seq == expected_seq + 1 else f"#{expected_seq} to #{event.seq - 1}"
        return f"event {missing} missing (deleted): the chain jumps to #{event.seq}"
    computed = audit.event_hash(event)
    if computed != event.hash:
        return f"content was altered: it hashes to {computed}, the stored hash is {event.hash}"
    if event.prev_hash != expected_prev_hash:
        return (
            f"prev_hash {event.prev_hash} is not the hash of #{expected_seq - 1} ({expected_prev_hash}): "
            "the event before it was rewritten, removed or inserted"
        )
    return ""


def verify_chain(*, after_seq: int = 0, after_hash: str = GENESIS_HASH, batch_size: int = 2000) -> ChainReport:
    """Check every event after (after_seq, after_hash) up to the current head."""
    head_seq, head_hash = chain_head()
    seq, last_hash, checked = after_seq, after_hash, 0
    for event in stream_events(after_seq, head_seq, batch_size):
        problem = link_problem(event, seq + 1, last_hash)
        if problem:
            return ChainReport(False, seq, last_hash, head_seq, checked, seq + 1, problem)
        seq, last_hash, checked = event.seq, event.hash, checked + 1
    if seq < head_seq:
        problem = f"the chain head is #{head_seq} but the events end at #{seq} (the newest were deleted)"
        return ChainReport(False, seq, last_hash, head_seq, checked, seq + 1, problem)
    if head_seq and last_hash != head_hash:
        problem = f"the chain head row says hash {head_hash}, but #{head_seq} hashes to {last_hash}"
        return ChainReport(False, seq, last_hash, head_seq, checked, head_seq, problem)
    return ChainReport(True, seq, last_hash, head_seq, checked)


def _anchor_problem(checkpoint: AuditCheckpoint) -> str:
    """An incremental walk trusts the checkpointed event: make sure it is still what was verified."""
    event = AuditEvent.objects.filter(seq=checkpoint.verified_seq).values(*HASHED_FIELDS).first()
    if event is None:
        return "the last verified event was deleted"
    if event["hash"] != checkpoint.verified_hash or audit.event_hash(Row(event)) != event["hash"]:
        return "the last verified event was altered since it was verified"
    return ""


def verify_and_checkpoint(*, full: bool = False, batch_size: int = 2000) -> ChainReport:
    """Verify from the checkpoint (or from the first event when `full`) and store the result.

    A full walk runs anyway when the last one is older than ELEVATE_AUDIT_FULL_VERIFY_HOURS
    (default 24): an incremental walk cannot see edits before the checkpoint, except to its anchor.
    """
    checkpoint, _ = AuditCheckpoint.objects.get_or_create(pk=1)
    full_every = timedelta(hours=getattr(settings, "ELEVATE_AUDIT_FULL_VERIFY_HOURS", 24))
    if checkpoint.full_checked_at is None or checkpoint.full_checked_at < now() - full_every:
        full = True
    # A known break is walked to again from the start, so it stays reported until it is dealt with.
    from_start = full or checkpoint.verified_seq == 0 or checkpoint.broken_seq is not None
    if from_start:
        report = verify_chain(batch_size=batch_size)
    elif problem := _anchor_problem(checkpoint):
        head_seq, _ = chain_head()
        report = ChainReport(False, checkpoint.verified_seq - 1, "", head_seq, 0, checkpoint.verified_seq, problem)
    else:
        report = verify_chain(
            after_seq=checkpoint.verified_seq, after_hash=checkpoint.verified_hash, batch_size=batch_size
        )
    _store(checkpoint, report, full=from_start)
    return report


def _store(checkpoint: AuditCheckpoint, report: ChainReport, *, full: bool) -> None:
    newly_broken = not report.ok and checkpoint.broken_seq != report.broken_seq
    fields = {
        "checked_at": now(),
        "broken_seq": report.broken_seq,
        "problem": report.problem,
        **({"full_checked_at": now()} if full else {}),
    }
    if report.ok or report.verified_hash:
        fields.update(verified_seq=report.verified_seq, verified_hash=report.verified_hash)
    AuditCheckpoint.objects.filter(pk=checkpoint.pk).update(**fields)
    if newly_broken:
        audit.record(
            "audit.chain_broken",
            reason=report.problem,
            after={"broken_seq": report.broken_seq, "verified_seq": report.verified_seq},
        )


@dataclass(frozen=True)
class ChainStatus:
    """What the dashboard shows: the checkpoint next to the live head (no hashing per view)."""

    head_seq: int
    verified_seq: int
    checked_at: object
    broken_seq: int | None
    problem: str

    @property
    def unverified(self) -> int:
        return max(0, self.head_seq - self.verified_seq)


def chain_status() -> ChainStatus:
    """The checkpoint with the head's seq beside it, in one query (the dashboard shows it on
    every view); before the first verification, the head alone."""
    checkpoint = (
        AuditCheckpoint.objects.filter(pk=1)
        .annotate(head_seq=Subquery(AuditChainHead.objects.filter(pk=1).values("seq")))
        .only("verified_seq", "checked_at", "broken_seq", "problem")
        .first()
    )
    if checkpoint is None:
        return ChainStatus(chain_head()[0], AuditCheckpoint().verified_seq, None, None, "")
    return ChainStatus(
        checkpoint.head_seq or 0,
        checkpoint.verified_seq,
        checkpoint.checked_at,
        checkpoint.broken_seq,
        checkpoint.problem,
    )
