"""Playwright against Debian's chromium (never a downloaded browser), signing in through the UI."""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "browser"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args():
    # Not built on the plugin's own: that one asks for a `device` fixture (an emulated phone),
    # a name our tests/conftest.py uses for a Device.
    return {"viewport": {"width": 1280, "height": 900}, "locale": "en-US"}


@pytest.fixture
def screenshot():
    """Save a full-page screenshot under var/test-artifacts/browser/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def sign_in(live_server):
    """Sign in through the local login form, as a person would."""

    def go(page, user) -> None:
        page.goto(f"{live_server.url}/accounts/login/")
        form = page.locator("form:has(input[name=password])")
        form.locator("input[name=login]").fill(user.email)
        form.locator("input[name=password]").fill("pw-" + user.email)
        form.locator("button[type=submit]").click()
        page.wait_for_url(f"{live_server.url}/")

    return go
