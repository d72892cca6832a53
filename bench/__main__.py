"""`python -m bench [--scale full|quick|tiny] [--only grant,expiry,...]`: see bench/runner.py.

Creates its own database on the PostgreSQL server (dropped after), starts a private redis-server,
a Celery worker with beat and gunicorn on loopback, prints the figures and writes JSON to var/bench/.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from bench.scale import SCALES
from bench.stack import ROOT, Stack, create_database, drop_database

SWEEP_SECONDS = int(os.environ.get("ELEVATE_SWEEP_SECONDS", "5"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument("--only", default="", help="comma-separated figures: grant,expiry,pages,export,throughput")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/elevate_bench")
    parser.add_argument("--keep-database", action="store_true", help="do not drop the database afterwards")
    parser.add_argument("--out", default=str(ROOT / "var" / "bench"))
    args = parser.parse_args(argv)
    scale = SCALES[args.scale]
    started = time.monotonic()
    create_database(args.database_url)
    stack = Stack(Path(args.out) / "run", database_url=args.database_url, sweep_seconds=SWEEP_SECONDS)
    try:
        # The runner itself is a Django process on the same database and broker as its children.
        os.environ.update(
            {
                k: stack.env[k]
                for k in (
                    "DATABASE_URL",
                    "REDIS_URL",
                    "SECRET_KEY",
                    "DEBUG",
                    "ELEVATE_HTTPS",
                    "ELEVATE_VAR_DIR",
                    "ELEVATE_SWEEP_SECONDS",
                )
            }
        )
        os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
        import django

        django.setup()
        from django.core.management import call_command

        from bench.runner import FIGURES, run_figures, write_json

        call_command("migrate", verbosity=0)
        only = tuple(f for f in args.only.split(",") if f) or FIGURES
        print(
            f"Elevate bench, scale {scale.name}: {scale.elevations:,} elevations, {scale.events:,} events", flush=True
        )
        results = run_figures(stack, scale, only)
    finally:
        stack.close()
        _close_connections()
        if not args.keep_database:
            drop_database(args.database_url)
    results["total_seconds"] = round(time.monotonic() - started, 1)
    path = write_json(results, Path(args.out))
    print(f"\nDone in {results['total_seconds']} s; results in {path}", flush=True)
    return 0


def _close_connections() -> None:
    try:
        from django.db import connections

        connections.close_all()
    except Exception:  # noqa: S110 (Django may not be set up if the run failed early)
        pass


if __name__ == "__main__":
    sys.exit(main())
