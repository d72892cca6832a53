"""The bench code keeps working: the generator and every figure at a tiny scale, against a real
worker and gunicorn on the test database. Timings are printed by `make bench`, never asserted."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from bench import runner
from bench.scale import SCALES
from bench.stack import Stack
from helpers import purge_broker
from requests_app.lifecycle import State
from requests_app.models import AuditChainHead, Elevation


def test_seed_bench_writes_history_live_elevations_and_a_chain(db, capsys):
    call_command("seed_bench", elevations=120, events=300)

    assert Elevation.objects.filter(state__in=[State.REVOKED, State.EXPIRED, State.FAILED]).count() == 120
    assert Elevation.objects.filter(state=State.ACTIVE).exists()
    assert AuditChainHead.objects.get().seq >= 300  # plus what creating the bench users recorded
    assert "Seeded 120 elevations" in capsys.readouterr().out


def test_seeded_chain_verifies(db):
    from requests_app.auditing.verify import verify_chain

    call_command("seed_bench", elevations=30, events=200)
    call_command("seed_bench", elevations=30, events=100)

    report = verify_chain()
    assert report.ok, report.describe()
    assert report.checked == AuditChainHead.objects.get().seq >= 300


@pytest.mark.worker
def test_every_figure_runs_at_a_tiny_scale(transactional_db, tmp_path):
    from django.conf import settings

    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    purge_broker()
    stack = Stack(tmp_path, database_url=database_url, redis_url=settings.CELERY_BROKER_URL)
    try:
        results = runner.run_figures(stack, SCALES["tiny"])
    finally:
        stack.close()
        purge_broker()

    assert results["grant"]["samples"] == 3
    assert results["expiry"]["sizes"][0]["not_revoked"] == 0
    pages = results["pages"]
    assert {"my_elevations", "helpdesk_console", "audit_dashboard"} <= set(pages)
    for name in ("my_elevations", "helpdesk_console", "audit_dashboard"):
        counts = set(pages[name]["queries"].values())
        assert len(counts) == 1, f"{name} runs more queries as data grows: {pages[name]['queries']}"
    assert results["export"]["csv"]["view"]["rows"] == results["export"]["csv"]["copy"]["rows"] + 1
    assert results["throughput"]["not_active"] == 0
    path = runner.write_json(results, tmp_path / "out")
    assert path.exists()
