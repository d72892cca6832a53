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
        page.wait_for_url(lambda url: "/accounts/login/" not in url)

    return go


# ---------------------------------------------------------------------------------------------
# Strict pages: console errors, CSP violations, accessibility, phones
# ---------------------------------------------------------------------------------------------
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# CSP violations reach the console as errors too; this makes sure of it (an init script runs
# before the page's own and is not subject to its CSP).
REPORT_CSP = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error("CSP violation: " + event.violatedDirective + " blocked " + event.blockedURI);
});
"""


@pytest.fixture
def strict_page(page):
    """A page whose console errors, uncaught exceptions and CSP violations fail the test, with
    axe-core (from node_modules, never a CDN) loaded into every document."""
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(f"console: {message.text}"))
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    page.add_init_script(script=REPORT_CSP)
    page.add_init_script(path=str(AXE))
    yield page
    assert not problems, "the browser reported errors:\n" + "\n".join(problems)


@pytest.fixture
def check_page(screenshot):
    """Check the page as it stands: no serious or critical axe-core violations, screenshots at
    1280 px and 390 px, and no sideways scrolling on the phone."""

    def check(page, name: str) -> None:
        found = page.evaluate(
            """async () => {
              const result = await axe.run(document, {resultTypes: ["violations"]});
              return result.violations
                .filter((v) => v.impact === "serious" || v.impact === "critical")
                .map((v) => v.id + " (" + v.impact + "): " + v.nodes.map((n) => n.target.join(" ")).join(", "));
            }"""
        )
        assert not found, f"{name}: accessibility violations:\n" + "\n".join(found)
        page.set_viewport_size(DESKTOP)
        screenshot(page, f"{name}-1280")
        page.set_viewport_size(PHONE)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        screenshot(page, f"{name}-390")
        page.set_viewport_size(DESKTOP)
        assert overflow <= 0, f"{name}: {overflow} px of sideways scrolling at 390 px"

    return check


@pytest.fixture
def sign_in_as(live_server):
    """A browser session for `user` without the sign-in form (staff with MFA would be asked for
    a code there; tests/sso walks that path): the test client's session cookie, in the browser."""
    from django.test import Client

    def go(page, user, path: str = "/") -> None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies["sessionid"]
        page.context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])
        page.goto(f"{live_server.url}{path}")

    return go
