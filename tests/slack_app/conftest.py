"""A Slack workspace (the simulator, on loopback) wired to a live portal's Slack app."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from requests_app.integrations import notifications
from requests_app.integrations.models import Delivery
from requests_app.integrations.slack_app.models import SlackApp, SlackPost
from requests_app.integrations.slack_simulator import SlackWebSimulator
from requests_app.models import Policy


@dataclass
class Workspace:
    sim: SlackWebSimulator
    app: SlackApp
    command_url: str
    interaction_url: str

    def deliver(self, event: str, elevation) -> list[SlackPost]:
        """Announce an event and send its Slack app messages, as the notifications worker does."""
        notifications.announce(event, elevation.pk)
        for delivery in Delivery.objects.filter(channel=Delivery.Channel.SLACK_APP, event=event):
            assert notifications.deliver(delivery.pk) is None
        delivery_errors = list(Delivery.objects.exclude(last_error="").values_list("last_error", flat=True))
        assert not delivery_errors, delivery_errors
        return list(SlackPost.objects.filter(elevation=elevation).order_by("pk"))

    def message(self, post: SlackPost) -> dict:
        return self.sim.messages[(post.channel, post.ts)]

    def buttons(self, post: SlackPost) -> list[str]:
        return [
            element.get("action_id")
            for block in self.message(post)["blocks"]
            if block["type"] == "actions"
            for element in block["elements"]
        ]

    def text(self, post: SlackPost) -> str:
        return str(self.message(post)["blocks"])


@pytest.fixture
def workspace(live_server, transactional_db):
    sim = SlackWebSimulator()
    base = sim.start()
    app = SlackApp.objects.create(
        name="Workspace", bot_token=sim.bot_token, signing_secret=sim.signing_secret, api_url=f"{base}/api/"
    )
    yield Workspace(
        sim, app, f"{live_server.url}/integrations/slack/command", f"{live_server.url}/integrations/slack/interaction"
    )
    sim.stop()


@pytest.fixture
def needs_approval(default_policy):
    Policy.objects.filter(pk=default_policy.pk).update(requires_approval=True)
    return default_policy
