"""Fixtures for the security regression suite (issue 17): each test here failed on the code the probe found."""

from __future__ import annotations

import http.server
import json
import threading

import pytest
from django.core.cache import cache
from django.urls import reverse

from requests_app.integrations.jira.simulator import JiraSimulator
from requests_app.integrations.models import JiraConnection

BOT = ("elevate-bot@example.com", "jira-api-token")
SECRET = "automation-shared-secret"


@pytest.fixture(autouse=True)
def _counters_start_empty():
    cache.clear()  # throttles and allauth's rate limits count in the cache


@pytest.fixture
def jira_site():
    site = JiraSimulator()
    site.add_account(*BOT)
    site.start()
    yield site
    site.stop()


@pytest.fixture
def jira_link(jira_site, db):
    email, token = BOT
    return JiraConnection.objects.create(
        name="IT Jira", site_url=jira_site.base_url, email=email, api_token=token, intake_secret=SECRET
    )


@pytest.fixture
def automation(client, jira_link):
    """POST to the intake as the Automation rule would; `raw` sends bytes as they are."""
    url = reverse("integrations:jira_intake", args=[jira_link.public_id])

    def post(body=None, *, raw: bytes | None = None, address: str = "10.1.1.1"):
        data = raw if raw is not None else json.dumps(body).encode()
        headers = {"X-Elevate-Secret": SECRET}
        return client.post(url, data=data, content_type="application/json", headers=headers, REMOTE_ADDR=address)

    return post


@pytest.fixture
def internal_listener():
    """An HTTP server on loopback that records every request that reaches it."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("content-length") or 0)
            hits.append(self.path)
            server.bodies.append(self.rfile.read(length))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.hits = hits
    server.bodies = []
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
