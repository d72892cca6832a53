from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from bench.audit_chain import append_events, synthetic_events


@pytest.fixture(autouse=True)
def _no_summary_cache(settings):
    settings.ELEVATE_AUDIT_SUMMARY_CACHE_SECONDS = 0  # Redis outlives a test; its figures must not


@pytest.fixture
def chain(db):
    """A chain of 50 synthetic events (sign-ins) written by the bulk generator."""

    def make(count: int = 50, **kwargs):
        start = kwargs.pop("start", datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
        return append_events(synthetic_events(count, start=start, step=timedelta(minutes=1), **kwargs))

    make(50)
    return make


@pytest.fixture
def tamper():
    """Run SQL as a superuser who switched the append-only trigger off for the session."""

    def run(sql: str, params=()):
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
            try:
                cursor.execute(sql, params)
            finally:
                cursor.execute("SET session_replication_role = DEFAULT")

    return run
