"""Bench data: `manage.py seed_bench --elevations 100000 --events 1000000` (see bench/data.py)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Append realistic bench data fast: ended and live elevations, users, devices, chained audit events."

    def add_arguments(self, parser):
        parser.add_argument("--elevations", type=int, default=1000, help="Ended elevations to add (history).")
        parser.add_argument("--events", type=int, default=10_000, help="Audit events to add (a valid hash chain).")

    def handle(self, *args, elevations: int, events: int, **options):
        from bench.data import seed

        started = time.monotonic()
        totals = seed(elevations=elevations, events=events)
        took = time.monotonic() - started
        self.stdout.write(
            f"Seeded {elevations:,} elevations and {events:,} audit events in {took:.1f}s; now "
            f"{totals['elevations']:,} elevations, {totals['audit_events']:,} events, {totals['users']:,} bench users."
        )
