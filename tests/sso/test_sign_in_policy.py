"""Who may use a password, MFA for staff, step-up before a request, roles from the groups claim."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.urls import reverse

from requests_app.auth import sso
from requests_app.auth.stepup import SIGNED_IN_AT
from requests_app.clock import now
from requests_app.models import AuditEvent


def password_sign_in(client, user):
    return client.post(reverse("account_login"), {"login": user.email, "password": "pw-" + user.email})


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


# -- local passwords: break-glass only, switchable off -----------------------------------------


def test_everyone_may_use_a_password_when_no_sso_is_configured(client, employee):
    assert password_sign_in(client, employee).status_code == 302
    assert signed_in(client)
    assert AuditEvent.objects.filter(action="auth.sign_in", actor=employee).exists()


def test_with_break_glass_only_an_employee_password_is_refused(client, employee, settings):
    settings.ELEVATE_LOCAL_LOGIN_FOR = "break_glass"
    response = password_sign_in(client, employee)
    assert response.status_code == 200  # the form again, with the usual "not correct" error
    assert not signed_in(client)


def test_with_break_glass_only_an_admin_may_use_a_password(client, admin, settings):
    settings.ELEVATE_LOCAL_LOGIN_FOR = "break_glass"
    password_sign_in(client, admin)
    assert signed_in(client)


def test_an_admin_with_mfa_must_also_give_the_second_factor(client, admin, settings):
    settings.ELEVATE_LOCAL_LOGIN_FOR = "break_glass"
    TOTP.activate(admin, generate_totp_secret())
    response = password_sign_in(client, admin)
    assert response["Location"] == reverse("mfa_authenticate")
    assert not signed_in(client)


def test_local_login_switched_off_refuses_even_the_admin(client, admin, settings):
    settings.ELEVATE_LOCAL_LOGIN = False
    password_sign_in(client, admin)
    assert not signed_in(client)
    assert 'id="local-login"' not in client.get(reverse("account_login")).content.decode()


def test_the_admin_site_signs_in_through_allauth(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    login = client.get(response["Location"])
    assert login.status_code == 302  # admin's own login page hands over to allauth's
    assert login["Location"].startswith(reverse("account_login"))


def test_the_login_page_offers_sso_as_a_post_form(client, db):
    from allauth.socialaccount.models import SocialApp

    SocialApp.objects.create(
        provider="openid_connect",
        provider_id="okta",
        name="Okta",
        client_id="x",
        secret="y",
        settings={"server_url": "https://example.okta.com"},
    )
    body = client.get(reverse("account_login")).content.decode()
    assert 'action="/accounts/oidc/okta/login/?process=login"' in body
    assert "Sign in with Okta" in body


# -- MFA for helpdesk and admin ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/helpdesk/", "/approvals/", "/admin/"])
def test_admin_without_mfa_is_sent_to_set_it_up(admin_client, path):
    response = admin_client.get(path)
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_index")


def test_admin_with_mfa_reaches_the_staff_pages(admin, admin_client):
    TOTP.activate(admin, generate_totp_secret())
    assert admin_client.get("/helpdesk/").status_code == 200
    assert admin_client.get("/admin/").status_code == 200


def test_an_approver_needs_no_mfa(approver_client):
    assert approver_client.get("/approvals/").status_code == 200


def test_the_mfa_page_itself_is_reachable(admin_client):
    assert admin_client.get(reverse("mfa_index")).status_code == 200


# -- step-up before asking for admin rights ------------------------------------------------------


def _age_sign_in(client, seconds: int) -> None:
    session = client.session
    session[SIGNED_IN_AT] = now().timestamp() - seconds
    session.save()


def _request(client, device, **headers):
    data = {"device": str(device.public_id), "minutes": "60", "reason": "install the VPN"}
    return client.post(reverse("requests_app:request"), data, headers=headers)


def test_a_fresh_sign_in_asks_no_step_up(employee_client, device):
    response = _request(employee_client, device)
    assert "step-up" not in response.get("Location", "")
    assert "reauthenticate" not in response.get("Location", "")


def test_a_stale_sign_in_with_a_password_reauthenticates_first(employee, employee_client, device, settings):
    settings.ELEVATE_STEP_UP_SECONDS = 600
    _age_sign_in(employee_client, 601)
    response = _request(employee_client, device)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert not employee.elevations.exists()
    # after re-authenticating, allauth replays the stored request
    replay = employee_client.post(response["Location"], {"password": "pw-" + employee.email})
    assert replay.status_code == 302
    assert employee.elevations.count() == 1


def test_a_stale_sso_only_user_is_sent_to_sign_in_again(employee, employee_client, device, settings):
    settings.ELEVATE_STEP_UP_SECONDS = 600
    employee.set_unusable_password()
    employee.save()
    employee_client.force_login(employee)
    _age_sign_in(employee_client, 601)
    response = _request(employee_client, device)
    assert response["Location"].startswith(reverse("portal_auth:step_up"))
    page = employee_client.get(response["Location"])
    assert page.status_code == 200
    assert "Confirm it" in page.content.decode()
    assert not employee.elevations.exists()


def test_htmx_step_up_redirects_the_whole_page(employee, employee_client, device, settings):
    settings.ELEVATE_STEP_UP_SECONDS = 600
    _age_sign_in(employee_client, 601)
    response = _request(employee_client, device, **{"HX-Request": "true"})
    assert response["HX-Redirect"].startswith(reverse("portal_auth:step_up"))
    assert not employee.elevations.exists()


def test_the_request_form_itself_needs_no_step_up(employee_client, settings):
    settings.ELEVATE_STEP_UP_SECONDS = 600
    _age_sign_in(employee_client, 601)
    assert employee_client.get(reverse("requests_app:request")).status_code == 200


def test_step_up_off(employee, employee_client, device, settings):
    settings.ELEVATE_STEP_UP_SECONDS = 0
    _age_sign_in(employee_client, 10**6)
    _request(employee_client, device)
    assert employee.elevations.count() == 1


def test_the_step_up_page_ignores_an_off_site_next(employee_client):
    response = employee_client.get(reverse("portal_auth:step_up"), {"next": "https://evil.example/"})
    assert "evil.example" not in response.content.decode()


# -- roles from the IdP's groups claim -----------------------------------------------------------


def _login_with(claims):
    return SimpleNamespace(account=SimpleNamespace(extra_data={"userinfo": claims}))


def test_without_a_mapping_roles_are_left_alone(employee, settings):
    settings.ELEVATE_SSO_GROUP_ROLES = {}
    sso.sync_from_identity_provider(None, request=None, user=employee, sociallogin=_login_with({"groups": ["x"]}))
    assert list(employee.groups.values_list("name", flat=True)) == ["employee"]


def test_the_mapping_grants_and_removes_roles_and_audits(employee, settings):
    from django.contrib.auth.models import Group

    Group.objects.create(name="vpn-users")
    employee.groups.add(Group.objects.get(name="vpn-users"), Group.objects.get(name="approver"))
    settings.ELEVATE_SSO_GROUP_ROLES = {"it-helpdesk": "helpdesk", "typo": "not-a-role"}
    sso.sync_from_identity_provider(
        None, request=None, user=employee, sociallogin=_login_with({"groups": ["it-helpdesk", "typo"]})
    )
    assert sorted(employee.groups.values_list("name", flat=True)) == ["employee", "helpdesk", "vpn-users"]
    event = AuditEvent.objects.get(action="auth.roles_synced")
    assert event.before == {"roles": ["approver", "employee"]}
    assert event.after == {"roles": ["employee", "helpdesk"]}


def test_the_manager_comes_from_a_claim(employee, approver, settings):
    settings.ELEVATE_SSO_MANAGER_CLAIM = "manager_email"
    sso.sync_from_identity_provider(
        None, request=None, user=employee, sociallogin=_login_with({"manager_email": approver.email.upper()})
    )
    employee.refresh_from_db()
    assert employee.manager == approver


def test_guarding_every_page_keeps_the_mfa_set_up_reachable(helpdesk_client, settings):
    settings.ELEVATE_MFA_REQUIRED_PATHS = ["/"]
    assert helpdesk_client.get(reverse("requests_app:my_elevations"))["Location"] == reverse("mfa_index")
    assert helpdesk_client.get(reverse("mfa_index")).status_code == 200
    activate = helpdesk_client.get(reverse("mfa_activate_totp"))  # allauth may ask for the password first
    assert activate.status_code == 200 or activate["Location"].startswith(reverse("account_reauthenticate"))
