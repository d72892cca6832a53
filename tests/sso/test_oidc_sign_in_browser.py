"""Signing in through a real OpenID Connect provider on loopback, in chromium."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from allauth.socialaccount.models import SocialAccount
from playwright.sync_api import expect

from requests_app.models import AuditEvent, User

pytestmark = [pytest.mark.browser]


def session_user(page, live_server) -> str | None:
    """Who the portal thinks the browser is: the e-mail in the top bar, or None when signed out."""
    page.goto(f"{live_server.url}/")
    if "/accounts/login/" in page.url:
        return None
    return page.locator(".who").get_attribute("title")


def test_sso_sign_in_creates_the_user_audits_it_and_maps_roles(live_server, page, sso_app, sso_sign_in, settings):
    settings.ELEVATE_SSO_GROUP_ROLES = {"staff": "employee", "it-helpdesk": "helpdesk"}
    sso_sign_in(page, "harold")
    assert session_user(page, live_server) == "harold@example.com"

    user = User.objects.get(email="harold@example.com")
    assert not user.has_usable_password()
    assert sorted(user.groups.values_list("name", flat=True)) == ["employee", "helpdesk"]
    account = SocialAccount.objects.get(user=user)
    assert (account.provider, account.uid) == ("corp-sso", "harold")
    assert AuditEvent.objects.filter(action="auth.sign_in", actor=user).count() == 1
    assert AuditEvent.objects.filter(action="auth.roles_synced", actor=user).exists()

    # helpdesk needs MFA before the console
    page.goto(f"{live_server.url}/helpdesk/")
    assert urlparse(page.url).path == "/accounts/2fa/"
    expect(page.get_by_text("needs two-factor authentication")).to_be_visible()

    # sign-out is audited too
    page.goto(f"{live_server.url}/")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/**")
    assert AuditEvent.objects.filter(action="auth.sign_out", actor=user).exists()
    assert session_user(page, live_server) is None


def test_a_second_sign_in_follows_the_idps_groups(live_server, page, sso_app, sso_sign_in, settings):
    settings.ELEVATE_SSO_GROUP_ROLES = {"it-helpdesk": "helpdesk"}
    sso_sign_in(page, "harold")
    user = User.objects.get(email="harold@example.com")
    assert user.groups.filter(name="helpdesk").exists()

    settings.ELEVATE_SSO_GROUP_ROLES = {"someone-else": "helpdesk"}  # harold left the IdP group
    page.context.clear_cookies()
    sso_sign_in(page, "harold")
    assert session_user(page, live_server) == "harold@example.com"
    assert not user.groups.filter(name="helpdesk").exists()
    assert user.groups.filter(name="employee").exists()


def test_the_sign_in_start_is_a_post(live_server, page, sso_app):
    """A GET on the provider's login URL only shows a confirmation page: no sign-in CSRF."""
    page.goto(f"{live_server.url}/accounts/oidc/corp-sso/login/")
    assert urlparse(page.url).netloc == urlparse(live_server.url).netloc  # still at the portal
    expect(page.locator("form[method=post]")).to_have_count(1)


def test_a_wrong_client_secret_is_refused_and_signs_nobody_in(live_server, page, sso_app, sso_sign_in):
    sso_app.secret = "not-the-secret"
    sso_app.save()
    sso_sign_in(page, "erin", expect_back=False)
    expect(page.get_by_role("heading", name="Sign-in failed")).to_be_visible()
    assert session_user(page, live_server) is None
    assert not User.objects.filter(email="erin.sso@example.com").exists()
    assert AuditEvent.objects.filter(action="auth.sign_in_refused").exists()
    assert not AuditEvent.objects.filter(action="auth.sign_in").exists()


def test_an_unknown_client_is_stopped_at_the_idp(live_server, page, sso_app):
    sso_app.client_id = "not-registered"
    sso_app.save()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("button", name="Sign in with Corp SSO").click()
    expect(page.get_by_text("invalid_client")).to_be_visible()
    assert session_user(page, live_server) is None
    assert not User.objects.exists()


def test_a_state_mismatch_is_refused_and_signs_nobody_in(live_server, page, browser, sso_app, sso_sign_in):
    """Login CSRF: a callback made for someone else's sign-in (their code and state) is loaded in
    a browser that started its own sign-in. The state does not match: nobody is signed in."""
    attacker = browser.new_context()
    attacker_page = attacker.new_page()
    callbacks = []
    attacker_page.on("request", lambda r: callbacks.append(r.url) if "/login/callback/" in r.url else None)
    sso_sign_in(attacker_page, "harold")
    attacker.close()
    assert callbacks

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("button", name="Sign in with Corp SSO").click()  # the victim's own pending sign-in
    page.locator("input[name=login]").wait_for()
    page.goto(callbacks[0])
    expect(page.get_by_role("heading", name="Sign-in failed")).to_be_visible()
    assert session_user(page, live_server) is None
    assert not User.objects.filter(email="erin.sso@example.com").exists()
    assert AuditEvent.objects.filter(action="auth.sign_in_refused").exists()


def test_pkce_is_sent(live_server, page, sso_app):
    """The IdP requires PKCE of every client; this shows the challenge leaves the portal too."""
    seen = []
    page.on("request", lambda request: seen.append(request.url) if "/auth?" in request.url else None)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("button", name="Sign in with Corp SSO").click()
    page.locator("input[name=login]").wait_for()
    query = parse_qs(urlparse(seen[0]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43
