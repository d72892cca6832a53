"""Run a provider simulator by hand, e.g. `manage.py simulate_provider jumpcloud --port 8901`."""

from __future__ import annotations

import contextlib

from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string

SIMULATORS = {
    "jumpcloud": "requests_app.providers.jumpcloud.simulator.JumpCloudSimulator",
    "sailpoint": "requests_app.providers.sailpoint.simulator.SailPointSimulator",
    "jira": "requests_app.integrations.jira.simulator.JiraSimulator",
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
        if hasattr(simulator, "seed_demo"):
            simulator.seed_demo()
        self.stdout.write(f"{kind} simulator on http://{host}:{port} (Ctrl-C stops it)")
        with contextlib.suppress(KeyboardInterrupt):
            simulator.serve_forever(host, port)
