"""A helpdesk member's first day, in chromium: SSO sign-in with roles from the IdP, MFA set-up
forced before the console, then the console revokes with a reason without reloading the page,
and the next sign-in asks for the second factor."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.core.cache import cache
from playwright.sync_api import expect

from requests_app import services
from requests_app.lifecycle import State
from requests_app.models import AuditEvent, User

pytestmark = [pytest.mark.browser]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "sso"


def totp_code(secret: str) -> str:
    """The authenticator app's code, good for at least 8 s more: one typed as its 30 s window
    rolls over would be refused (no tolerance), and a loaded machine takes seconds to submit."""
    if 30 - time.time() % 30 < 8:
        time.sleep(30 - time.time() % 30 + 0.1)
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_helpdesk_signs_in_sets_up_mfa_and_revokes_from_the_console(
    live_server, page, sso_app, sso_sign_in, settings, employee, device
):
    settings.ELEVATE_SSO_GROUP_ROLES = {"staff": "employee", "it-helpdesk": "helpdesk"}
    live = services.elevation_request(requester=employee, device=device, minutes=60, reason="printer driver")

    sso_sign_in(page, "harold")
    page.goto(f"{live_server.url}/helpdesk/")
    assert urlparse(page.url).path == "/accounts/2fa/"
    page.goto(f"{live_server.url}/accounts/2fa/totp/activate/")
    secret = page.locator("#authenticator_secret").input_value()
    page.locator("input[name=code]").fill(totp_code(secret))
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_role("heading", name="Activate Authenticator App")).to_have_count(0)
    harold = User.objects.get(email="harold@example.com")
    assert Authenticator.objects.filter(user=harold, type=Authenticator.Type.TOTP).exists()

    page.goto(f"{live_server.url}/helpdesk/")
    expect(page.get_by_role("heading", name="Helpdesk", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Helpdesk")).to_be_visible()  # the nav link, for helpdesk only
    page.get_by_label("Search people and devices").fill("erin")
    expect(page.locator("#search-results").get_by_role("link", name="erin-laptop")).to_be_visible()
    shot(page, "01-helpdesk-console")

    page.evaluate("window.__sameDocument = true")
    row = page.locator(f"#hd-elevation-{live.public_id}")
    row.locator("summary", has_text="Revoke").click()
    revoke = row.locator("details[data-action=revoke]")
    revoke.get_by_label("Reason (required, audited)").fill("laptop reported stolen")
    revoke.get_by_role("button", name="Yes, revoke now").click()
    expect(page.locator("#messages")).to_contain_text("Revoking")
    expect(page.locator(f"#hd-elevation-{live.public_id}")).to_have_count(0)
    assert page.evaluate("window.__sameDocument === true"), "the revoke must not reload the page"
    live.refresh_from_db()
    assert live.state == State.CANCELLED
    event = AuditEvent.objects.filter(elevation=live).latest("seq")
    assert (event.actor, event.reason) == (harold, "laptop reported stolen")
    shot(page, "02-helpdesk-after-revoke")

    # the next sign-in, SSO again, asks for the second factor before the portal lets harold in
    page.context.clear_cookies()
    sso_sign_in(page, "harold")
    assert urlparse(page.url).path == "/accounts/2fa/authenticate/"
    code = totp_code(secret)
    # In the window of the activation the same code counts as used (replay protection): forget that.
    cache.delete(TOTP(Authenticator.objects.get(user=harold, type="totp"))._get_used_cache_key(code))
    page.locator("input[name=code]").fill(code)
    page.locator("button[type=submit]").first.click()
    page.wait_for_url(f"{live_server.url}/helpdesk/")  # helpdesk lands on its console
    assert AuditEvent.objects.filter(action="auth.sign_in", actor=harold).count() == 2


def test_a_security_key_satisfies_the_mfa_requirement(live_server, page, sso_app, sso_sign_in, settings):
    """WebAuthn with chromium's virtual authenticator (CDP), instead of an authenticator app."""
    settings.ELEVATE_SSO_GROUP_ROLES = {"it-helpdesk": "helpdesk"}
    settings.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True  # http://localhost in the test
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    sso_sign_in(page, "harold")
    page.goto(f"{live_server.url}/helpdesk/")
    assert urlparse(page.url).path == "/accounts/2fa/"
    page.goto(f"{live_server.url}/accounts/2fa/webauthn/add/")
    page.get_by_role("button", name="Add").click()
    page.wait_for_url(lambda url: "/webauthn/add/" not in url)
    harold = User.objects.get(email="harold@example.com")
    assert Authenticator.objects.filter(user=harold, type=Authenticator.Type.WEBAUTHN).exists()
    page.goto(f"{live_server.url}/helpdesk/")
    expect(page.get_by_role("heading", name="Helpdesk", exact=True)).to_be_visible()
