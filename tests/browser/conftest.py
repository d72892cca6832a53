"""Playwright against Debian's chromium (never a downloaded browser), signing in through the UI."""

from __future__ import annotations

from pathlib import Path

import pytest

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "browser"


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
