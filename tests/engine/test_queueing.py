"""Services and steps queue work by task name: every process (a web worker too) knows the tasks."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FRESH_PROCESS = """
import django
django.setup()
from requests_app import queueing
for name in ("requests_app.grant", "requests_app.revoke", "requests_app.sync_expiry", "requests_app.expire_due"):
    print(queueing._task(name).name)
"""


def test_a_fresh_django_process_such_as_a_web_worker_can_queue_every_step():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings"}
    result = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == [
        "requests_app.grant",
        "requests_app.revoke",
        "requests_app.sync_expiry",
        "requests_app.expire_due",
    ]
