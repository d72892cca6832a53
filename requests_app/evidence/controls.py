"""Which file of the pack answers which control. Kept as data: the pack writes it as
control_map.csv and the PDF prints it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Control:
    framework: str
    control: str
    title: str
    files: tuple[str, ...]
    how: str


CONTROLS = (
    Control(
        "SOC 2 (2017 TSC)",
        "CC6.1",
        "Logical access security over protected information assets",
        ("summary.pdf", "policy_changes.csv", "elevations.csv"),
        "Admin rights exist only as time-bound elevations under a policy (durations, caps, approval); "
        "policy changes are listed with who made them.",
    ),
    Control(
        "SOC 2 (2017 TSC)",
        "CC6.2",
        "Access is authorised before it is granted, and removed when no longer needed",
        ("elevations.csv", "break_glass.csv", "reviews.csv"),
        "Every elevation with its reason, ticket, approvals and end; break-glass ones with their "
        "after-the-fact review.",
    ),
    Control(
        "SOC 2 (2017 TSC)",
        "CC6.3",
        "Access is granted, changed and removed by role and least privilege",
        ("elevations.csv", "failed_revokes_and_drift.csv", "reviews.csv"),
        "Rights end by themselves at expiry; revokes that kept failing and drift at the provider are "
        "listed; sampled and flagged elevations show the review of access in use.",
    ),
    Control(
        "ISO/IEC 27001:2022",
        "A.5.15",
        "Access control",
        ("summary.pdf", "policy_changes.csv", "elevations.csv"),
        "The rules (policies and their changes) and how they were applied in the period.",
    ),
    Control(
        "ISO/IEC 27001:2022",
        "A.5.18",
        "Access rights: provisioned, reviewed and removed",
        ("elevations.csv", "reviews.csv", "failed_revokes_and_drift.csv", "break_glass.csv"),
        "Provisioning (requests, approvals), review (queue verdicts, manager flags, attestations) "
        "and removal (expiry, revokes, failures) of admin rights.",
    ),
    Control(
        "ISO/IEC 27001:2022",
        "A.8.2",
        "Privileged access rights",
        ("elevations.csv", "break_glass.csv", "reviews.csv", "summary.pdf"),
        "Privileged access is just-in-time and time-bound, with what each person said they did "
        "with it (attestation) and emergency use reviewed.",
    ),
    Control(
        "ISO/IEC 27001:2022",
        "A.8.15",
        "Logging",
        ("events.csv", "events.jsonl", "summary.pdf", "MANIFEST.sha256"),
        "The complete hash-chained event log of the period, its chain verification result and head "
        "hash, and a manifest of SHA-256 sums over every file in this pack.",
    ),
)

HEADER = ("framework", "control", "title", "answered_by", "how")


def rows() -> list[tuple[str, ...]]:
    return [(c.framework, c.control, c.title, " ".join(c.files), c.how) for c in CONTROLS]
