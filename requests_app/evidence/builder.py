"""Building one evidence pack: the files, each hashed as it is written into the ZIP, then the
manifest of their SHA-256 sums. Runs in the worker; `progress(percent, step)` reports."""

from __future__ import annotations

import csv
import hashlib
import io
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from requests_app.attestation import selectors as attestations
from requests_app.auditing import verify
from requests_app.auditing.export import Export
from requests_app.auditing.filters import AuditFilters
from requests_app.evidence import controls, pdf, tables
from requests_app.evidence.tables import Period
from requests_app.lifecycle import State
from requests_app.models import Elevation, EvidencePack, ReviewItem

Progress = Callable[[int, str], None]


@dataclass(frozen=True)
class Built:
    path: Path
    manifest_sha256: str
    head_seq: int
    head_hash: str


class _Hashing:
    """A writable file that hashes what passes through it."""

    def __init__(self, target) -> None:
        self.target, self.digest = target, hashlib.sha256()

    def write(self, data) -> int:
        data = data.encode() if isinstance(data, str) else data
        self.digest.update(data)
        return self.target.write(data)


TABLES = (
    ("elevations.csv", tables.ELEVATION_HEADER, tables.elevation_rows, "the elevations"),
    ("break_glass.csv", tables.BREAK_GLASS_HEADER, tables.break_glass_rows, "break-glass"),
    ("reviews.csv", tables.REVIEW_HEADER, tables.review_rows, "the reviews"),
    ("failed_revokes_and_drift.csv", tables.PROBLEM_HEADER, tables.problem_rows, "failed revokes and drift"),
    ("policy_changes.csv", tables.POLICY_HEADER, tables.policy_rows, "policy changes"),
)


def build(pack: EvidencePack, *, progress: Progress) -> Built:
    """Write the pack into a temporary ZIP (removed again if anything fails) and return it."""
    progress(2, "Verifying the audit trail")
    chain = verify.verify_and_checkpoint(full=True)
    head_seq, head_hash = verify.chain_head()
    descriptor, name = tempfile.mkstemp(prefix="evidence-", suffix=".zip")
    path = Path(name)
    try:
        with (
            open(descriptor, "wb") as handle,
            zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive,
        ):
            sums = _write_files(archive, pack, chain, head_seq, head_hash, progress)
            progress(98, "Writing the manifest")
            manifest = "".join(f"{digest}  {filename}\n" for filename, digest in sorted(sums.items()))
            archive.writestr("MANIFEST.sha256", manifest)
    except BaseException:
        path.unlink(missing_ok=True)  # nothing half-written is left behind
        raise
    return Built(path, hashlib.sha256(manifest.encode()).hexdigest(), head_seq, head_hash)


def _write_files(archive, pack, chain, head_seq: int, head_hash: str, progress: Progress) -> dict[str, str]:
    """Every file but the manifest, each hashed as it streams in; returns {name: SHA-256}."""
    period = Period(pack.period_start, pack.period_end)
    sums: dict[str, str] = {}

    def write(filename: str, chunks: Iterable[bytes | str]) -> None:
        with archive.open(filename, "w", force_zip64=True) as member:
            hashing = _Hashing(member)
            for chunk in chunks:
                hashing.write(chunk)
        sums[filename] = hashing.digest.hexdigest()

    filters = AuditFilters(start=period.start, end=period.end, query={"period": pack.period_label})
    exported_at = timezone.now().isoformat()
    for percent, format in ((10, "csv"), (40, "jsonl")):
        progress(percent, f"Exporting the events ({format.upper()})")
        write(f"events.{format}", Export(format, filters, head_seq, head_hash, exported_at).stream())
    for n, (filename, header, rows, what) in enumerate(TABLES):
        progress(70 + n * 4, f"Writing {what}")
        write(filename, _csv(header, rows(period)))
    write("control_map.csv", _csv(controls.HEADER, controls.rows()))
    progress(92, "Drawing the PDF summary")
    files = [*sorted(sums), "summary.pdf", "MANIFEST.sha256"]
    write("summary.pdf", [pdf.render(_report(pack, period, chain, head_seq, head_hash, files))])
    return sums


def _csv(header: tuple, rows: Iterable[tuple]) -> Iterable[str]:
    """CSV text in chunks of ~500 rows (RFC 4180 quoting, CRLF line ends as the csv module writes)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for n, row in enumerate(rows, start=1):
        writer.writerow(row)
        if n % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# The PDF's content
# ---------------------------------------------------------------------------------------------


def _report(pack: EvidencePack, period: Period, chain, head_seq: int, head_hash: str, files: list[str]) -> pdf.Report:
    alive = tables.elevations_in(period)
    states = Counter(dict(alive.order_by().values_list("state").annotate(n=Count("pk"))))
    in_period = ReviewItem.objects.filter(elevation__in=alive.values("pk"))
    reviews = Counter(dict(in_period.order_by().values_list("status").annotate(n=Count("pk"))))
    problems = Counter(tables.problem_events(period).values_list("action", flat=True))
    unattested = [e for e in alive.filter(attestation__required=True, attestation__attested_at__isnull=True)[:200]]
    overdue_now = attestations.overdue().filter(elevation__in=alive).count()
    chain_rows = [
        ("Result", "intact" if chain.ok else f"BROKEN at event #{chain.broken_seq}: {chain.problem}"),
        ("Events checked", f"{chain.checked} (the whole chain, from the first event)"),
        ("Chain head", f"#{head_seq}"),
        ("Head hash (SHA-256)", head_hash),
    ]
    counts = [
        ("Elevations in the period", str(sum(states.values()))),
        *((f"  {State(state).label}", str(n)) for state, n in sorted(states.items())),
        ("Break-glass", str(alive.filter(break_glass=True).count())),
        ("Reviews", ", ".join(f"{ReviewItem.Status(s).label}: {n}" for s, n in sorted(reviews.items())) or "none"),
        ("Attestations required, not given", f"{len(unattested)} ({overdue_now} overdue now)"),
        ("Failed revokes (alerts)", str(problems["elevation.revoke_alert"])),
        ("Drift at a provider", str(problems["elevation.drift"])),
        ("Policy changes", str(tables.policy_change_events(period).count())),
    ]
    return pdf.Report(
        title="Elevate evidence pack",
        subtitle=(
            f"Period {pack.period_label} ({period.start.isoformat()} to {period.end.isoformat()}, end exclusive). "
            f"Generated {timezone.now().isoformat(timespec='seconds')} for {pack.requested_by.email}."
        ),
        chain=chain_rows,
        counts=counts,
        per_day=_per_day(period),
        sections=_exceptions(period, alive, unattested),
        files=files,
    )


def _per_day(period: Period) -> list[tuple[str, int]]:
    started = Elevation.objects.filter(activated_at__gte=period.start, activated_at__lt=period.end)
    counts = dict(started.annotate(day=TruncDate("activated_at")).values_list("day").annotate(n=Count("pk")))
    first, last = period.start.date(), (period.end - timedelta(microseconds=1)).date()
    return [
        (str(day), counts.get(day, 0)) for day in (first + timedelta(days=n) for n in range((last - first).days + 1))
    ]


def _exceptions(period: Period, alive, unattested: list[Elevation]) -> list[pdf.Section]:
    limit = pdf.LIST_LIMIT
    glass = list(alive.filter(break_glass=True)[:limit])
    flagged = ReviewItem.objects.filter(
        elevation__in=alive.values("pk"), status__in=[ReviewItem.Status.FLAGGED, ReviewItem.Status.RESOLVED]
    ).select_related("elevation__beneficiary", "elevation__device", "decided_by")
    raised = ReviewItem.objects.filter(elevation__in=alive.values("pk"), origin=ReviewItem.Origin.MANAGER)
    problems = tables.problem_events(period)
    policy_changes = tables.policy_change_events(period)
    return [
        pdf.Section(
            "Break-glass elevations",
            [f"{e.beneficiary.email} on {e.target_name}, {e.created_at:%Y-%m-%d %H:%M} UTC: {e.reason}" for e in glass],
            alive.filter(break_glass=True).count(),
        ),
        pdf.Section(
            "Flagged in review",
            [
                f"{r.elevation.beneficiary.email} on {r.elevation.target_name} ({r.get_status_display()}): {r.comment}"
                + (f" / resolved: {r.resolution}" if r.resolution else "")
                for r in flagged[:limit]
            ],
            flagged.count(),
        ),
        pdf.Section(
            "Raised by managers",
            [f"{r.elevation.beneficiary.email}: {r.raised_comment} ({r.get_status_display()})" for r in raised[:limit]],
            raised.count(),
        ),
        pdf.Section(
            "Required attestations not given",
            [f"{e.beneficiary.email} on {e.target_name}, ended {e.ended_at:%Y-%m-%d}" for e in unattested[:limit]],
            len(unattested),
        ),
        pdf.Section(
            "Failed revokes and drift",
            [f"{ev.at:%Y-%m-%d %H:%M} {ev.action}: {ev.target_label}: {ev.reason}" for ev in problems[:limit]],
            problems.count(),
        ),
        pdf.Section(
            "Policy changes",
            [
                f"{ev.at:%Y-%m-%d %H:%M} {ev.action} {ev.target_label} by {ev.actor_label}"
                for ev in policy_changes[:limit]
            ],
            policy_changes.count(),
        ),
    ]
