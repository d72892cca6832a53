"""Simulators (Jira, Slack, SailPoint) on loopback and the portal objects that point at them."""

from __future__ import annotations

import json

import pytest
from integration_helpers import INTAKE_SECRET, JIRA_EMAIL, JIRA_TOKEN

from requests_app.integrations.jira.simulator import JiraSimulator
from requests_app.integrations.models import JiraConnection, SlackChannel
from requests_app.integrations.slack_simulator import SlackSimulator


@pytest.fixture
def jira():
    sim = JiraSimulator()
    sim.add_account(JIRA_EMAIL, JIRA_TOKEN)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def slack():
    sim = SlackSimulator()
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def personal_webhooks_to_simulator(settings):
    """Personal webhooks may point at the Slack simulator (plain http on loopback, test stacks only)."""
    settings.ELEVATE_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.ELEVATE_WEBHOOK_ALLOW_LOOPBACK = True


@pytest.fixture
def jira_connection(jira, db):
    return JiraConnection.objects.create(
        name="IT Jira", site_url=jira.base_url, email=JIRA_EMAIL, api_token=JIRA_TOKEN, intake_secret=INTAKE_SECRET
    )


@pytest.fixture
def slack_channel(slack, db):
    return SlackChannel.objects.create(
        name="#it-admin-rights", webhook_url=slack.add_webhook(), events=["granted", "approval_needed", "admin_alert"]
    )


@pytest.fixture(autouse=True)
def _throttles_start_empty():
    """The intake throttles count in the cache: each test starts with none used."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def post_intake(client, jira, jira_connection):
    """POST a body to the intake endpoint as Jira Automation would (shared secret header). The
    issue exists on the Jira site with the body's reporter, as it would for a real rule."""
    from django.urls import reverse

    url = reverse("integrations:jira_intake", args=[jira_connection.public_id])

    def post(body, *, secret=INTAKE_SECRET, headers=None, raw: bytes | None = None):
        sent = body if raw is None else _json_or_none(raw)
        if isinstance(sent, dict) and isinstance(sent.get("issueKey"), str) and sent["issueKey"] not in jira.issues:
            jira.create_issue(sent["issueKey"], reporter=str(sent.get("reporterEmail") or ""))
        all_headers = {"X-Elevate-Secret": secret} if secret else {}
        all_headers.update(headers or {})
        data = raw if raw is not None else json.dumps(body).encode()
        return client.post(url, data=data, content_type="application/json", headers=all_headers)

    post.url = url
    return post


def _json_or_none(raw: bytes):
    try:
        return json.loads(raw)
    except ValueError:
        return None
