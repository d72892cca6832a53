"""A real OpenID Connect provider (npm oidc-provider, tests/oidc/provider.mjs) on loopback, and
Playwright against Debian's chromium (never a downloaded browser)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_SCRIPT = ROOT / "tests" / "oidc" / "provider.mjs"
CLIENT_ID = "elevate-portal"
CLIENT_SECRET = "elevate-portal-test-secret-0123456789"
PROVIDER_ID = "corp-sso"
# Logins at the test IdP (any password works there) and the claims it returns for them.
ACCOUNTS = {
    "erin": {"email": "erin.sso@example.com", "name": "Erin Example", "groups": ["staff"]},
    "harold": {"email": "harold@example.com", "name": "Harold Helpdesk", "groups": ["staff", "it-helpdesk"]},
}


class IdentityProvider:
    """The node process; `issuer` is its URL (127.0.0.1, while the portal is on localhost)."""

    def __init__(self, redirect_uri: str) -> None:
        if shutil.which("node") is None or not (ROOT / "node_modules" / "oidc-provider").exists():
            pytest.fail("node and `npm ci` (oidc-provider) are needed: run `make install`")
        env = {
            **os.environ,
            "OIDC_CLIENTS": json.dumps(
                [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [redirect_uri]}]
            ),
            "OIDC_ACCOUNTS": json.dumps(ACCOUNTS),
        }
        self.process = subprocess.Popen(
            ["node", str(PROVIDER_SCRIPT)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        line = self.process.stdout.readline()
        if not line:
            self.stop()
            raise RuntimeError("the OpenID provider did not start")
        self.issuer = json.loads(line)["issuer"]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def identity_provider(live_server):
    idp = IdentityProvider(f"{live_server.url}/accounts/oidc/{PROVIDER_ID}/login/callback/")
    yield idp
    idp.stop()


@pytest.fixture
def sso_app(identity_provider, transactional_db):
    """The IdP configured the way an admin would: a Social application in the database."""
    from allauth.socialaccount.models import SocialApp

    return SocialApp.objects.create(
        provider="openid_connect",
        provider_id=PROVIDER_ID,
        name="Corp SSO",
        client_id=CLIENT_ID,
        secret=CLIENT_SECRET,
        settings={"server_url": identity_provider.issuer, "scope": ["openid", "profile", "email", "groups"]},
    )


@pytest.fixture
def sso_sign_in(live_server):
    """Click through: portal sign-in page -> IdP login -> IdP consent -> back at the portal."""

    def go(page, login: str, *, expect_back: bool = True) -> None:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_role("button", name="Sign in with Corp SSO").click()
        page.locator("input[name=login]").fill(login)
        page.locator("input[name=password]").fill("any-password")
        page.locator("button[type=submit]").click()
        page.get_by_role("button", name="Continue").click()  # the IdP's consent page
        if expect_back:
            page.wait_for_url(f"{live_server.url}/**")

    return go
