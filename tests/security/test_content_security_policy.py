"""Every page is sent with a strict Content-Security-Policy and a Permissions-Policy, and holds
nothing that policy would block (issue 17, item 5)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from helpers import watch_csp_violations
from requests_app.lifecycle import State

# An executable inline script (not a JSON data block), an inline event handler, a style attribute
# or block, or a javascript: URL: each is refused by script-src/style-src 'self'.
INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>"
    r"|\son[a-z]+\s*=|\sstyle\s*=|<style[\s>]|javascript:",
    re.IGNORECASE,
)


@pytest.fixture
def signed_in_pages(admin, with_mfa, employee, device, make_elevation):
    with_mfa(admin)
    elevation = make_elevation(employee, device, State.ACTIVE)
    client = Client()
    client.force_login(admin)
    urls = [
        "/",
        "/request/",
        f"/elevations/{elevation.public_id}/",
        "/helpdesk/",
        f"/helpdesk/users/{employee.pk}/",
        f"/helpdesk/devices/{device.public_id}/",
        "/approvals/",
        "/audit/",
        "/integrations/notifications/",
    ]
    return [(client, url) for url in urls] + [(Client(), "/accounts/login/")]


@pytest.mark.django_db
def test_every_page_is_sent_with_a_strict_csp_and_a_permissions_policy(signed_in_pages):
    for client, url in signed_in_pages:
        response = client.get(url)
        assert response.status_code == 200, url
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
        assert "frame-ancestors 'none'" in policy
        assert "camera=()" in response["Permissions-Policy"]


@pytest.mark.django_db
def test_no_page_holds_inline_script_or_style_the_policy_would_block(signed_in_pages):
    for client, url in signed_in_pages:
        html = client.get(url).content.decode()
        found = INLINE.search(html)
        assert found is None, f"{url}: {html[max(0, found.start() - 80) : found.end() + 80]}"


@pytest.mark.browser
def test_the_browser_refuses_an_injected_inline_script_and_the_tests_see_it(live_server, browser):
    # The check every browser test runs (tests/conftest.py `context`) must see a real violation.
    context = browser.new_context()
    violations = watch_csp_violations(context)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")

    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.injected = 1';"
        " document.head.appendChild(s); }"
    )

    assert page.evaluate("() => window.injected") is None
    page.wait_for_timeout(200)
    context.close()
    assert violations and "script-src" in violations[0]
