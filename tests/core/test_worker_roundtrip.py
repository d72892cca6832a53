"""A real worker process on the real Redis runs a task end to end."""

import pytest

from portal.celery import ping


@pytest.mark.worker
def test_a_real_worker_runs_a_task_end_to_end(worker):
    result = ping.delay("hello")
    assert result.get(timeout=20) == "hello"
