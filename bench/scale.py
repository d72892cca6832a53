"""How big a run is: `full` (make bench), `quick` (1/10, make bench-quick) and `tiny` (the smoke test)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    elevations: int
    events: int
    expiry_sizes: tuple[int, ...]
    # Expiries fall within this many seconds; quick keeps full's rate (1/10 the rows in 1/10 the time).
    expiry_window: float
    grant_samples: int
    page_rounds: int
    runs: int  # repetitions whose median is reported
    export_runs: int  # one at full size: a million rows is a long sample, and three would not fit 10 minutes
    load_clients: int
    load_requests: int  # per client

    @property
    def first_stage(self) -> tuple[int, int]:
        """The small data set the query counts are first taken at (1 %)."""
        return max(10, self.elevations // 100), max(100, self.events // 100)


SCALES = {
    "full": Scale("full", 100_000, 1_000_000, (100, 1_000, 10_000), 60, 40, 30, 3, 1, 4, 60),
    "quick": Scale("quick", 10_000, 100_000, (10, 100, 1_000), 6, 20, 15, 3, 3, 4, 30),
    "tiny": Scale("tiny", 200, 2_000, (5,), 1, 3, 2, 1, 1, 2, 3),
}
