"""Run a provider simulator by hand, e.g. `manage.py simulate_provider jumpcloud --port 8901`."""

from __future__ import annotations

import contextlib
import json
import threading

from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string

SIMULATORS = {
    "jumpcloud": "requests_app.providers.jumpcloud.simulator.JumpCloudSimulator",
    "sailpoint": "requests_app.providers.sailpoint.simulator.SailPointSimulator",
    "jira": "requests_app.integrations.jira.simulator.JiraSimulator",
    "slack": "requests_app.integrations.slack_simulator.SlackSimulator",
    "slack-app": "requests_app.integrations.slack_simulator.SlackWebSimulator",
}


class Command(BaseCommand):
    help = "Serve a local simulator of a provider's API (loopback only), with demo data."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(SIMULATORS))
        parser.add_argument("--port", type=int, default=8901)
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args, kind, port, host, **options):
        try:
            simulator = import_string(SIMULATORS[kind])()
        except ImportError as exc:
            raise CommandError(f"the {kind} simulator is not available: {exc}") from exc
        base_url = simulator.start(host, port)  # first: some demo data embeds the server's URL
        seeded = simulator.seed_demo() if hasattr(simulator, "seed_demo") else None
        self.stdout.write(f"{kind} simulator on {base_url} (Ctrl-C stops it)")
        if seeded:
            # Demo data of a local simulator (not real credentials): what to enter in the admin.
            self.stdout.write(f"demo data: {json.dumps(seeded, default=str)}")
        try:
            with contextlib.suppress(KeyboardInterrupt):
                threading.Event().wait()
        finally:
            simulator.stop()
