"""Personal access tokens: shown once, stored hashed, scoped within the roles, expiring, revocable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings

from requests_app import clock
from requests_app.api.tokens import hash_secret, token_create
from requests_app.errors import NotAllowed, PolicyViolation
from requests_app.models import ApiToken, AuditEvent

pytestmark = pytest.mark.django_db


def test_only_the_hash_of_a_new_token_is_stored(employee):
    token, secret = token_create(user=employee, name="laptop", scopes=["read"])
    assert secret.startswith(f"elv_{token.prefix}_")
    assert token.token_hash == hash_secret(secret)
    assert secret not in str(ApiToken.objects.filter(pk=token.pk).values().get())
    assert secret not in str(AuditEvent.objects.filter(action="api_token.created").values().get())


def test_a_token_lasts_ninety_days_by_default(employee):
    token, _ = token_create(user=employee, name="laptop", scopes=["read"])
    assert token.expires_at - token.created_at == timedelta(days=90)


@override_settings(ELEVATE_API_TOKEN_MAX_DAYS=30)
def test_a_lifetime_beyond_the_admins_maximum_is_refused(employee):
    with pytest.raises(PolicyViolation) as refused:
        token_create(user=employee, name="laptop", scopes=["read"], days=31)
    assert refused.value.field == "days"


@pytest.mark.parametrize("scope", ["approve", "helpdesk", "audit"])
def test_an_employee_cannot_take_a_staff_scope(employee, scope):
    with pytest.raises(NotAllowed):
        token_create(user=employee, name="x", scopes=[scope])


def test_staff_scopes_need_mfa_on_the_account(helpdesk, with_mfa):
    with pytest.raises(NotAllowed, match="two-factor"):
        token_create(user=helpdesk, name="x", scopes=["helpdesk"])
    with_mfa(helpdesk)
    token, _ = token_create(user=helpdesk, name="x", scopes=["helpdesk"])
    assert token.scopes == ["helpdesk"]


def test_a_staff_scope_stops_working_when_mfa_is_removed(bearer, helpdesk, with_mfa):
    with_mfa(helpdesk)
    _, secret = token_create(user=helpdesk, name="x", scopes=["helpdesk"])
    client = bearer(secret)
    assert client.get("helpdesk/people", {"q": "e"}).status_code == 200
    helpdesk.authenticator_set.all().delete()
    refused = client.get("helpdesk/people", {"q": "e"})
    assert refused.status_code == 403
    assert "two-factor" in refused.json()["detail"]


def test_a_scope_stops_working_when_the_role_is_taken_away(bearer, auditor, with_mfa):
    with_mfa(auditor)
    _, secret = token_create(user=auditor, name="x", scopes=["audit"])
    auditor.groups.clear()
    assert bearer(secret).get("audit/events").status_code == 403


def test_expired_revoked_and_unknown_tokens_get_401(bearer, employee):
    token, secret = token_create(user=employee, name="x", scopes=["read"], days=1)
    client = bearer(secret)
    assert client.get("me").status_code == 200
    clock.set_offset(timedelta(days=1, seconds=1))
    expired = client.get("me")
    assert expired.status_code == 401
    assert expired["WWW-Authenticate"].startswith("Bearer")
    clock.set_offset(timedelta(0))
    token.revoked_at = clock.now()
    token.save()
    assert client.get("me").status_code == 401
    assert bearer("elv_nope_nope").get("me").status_code == 401


def test_the_last_used_time_is_noted(bearer, employee):
    token, secret = token_create(user=employee, name="x", scopes=["read"])
    bearer(secret).get("me")
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_the_settings_page_shows_a_new_token_once(bearer, employee_client, employee):
    response = employee_client.post(
        "/settings/tokens/new", {"name": "laptop", "scopes": ["read", "request"], "days": 7}
    )
    assert response.status_code == 200
    secret = response.context["created"]
    assert secret.startswith("elv_") and secret in response.content.decode()
    assert bearer(secret).get("me").json()["scopes"] == ["read", "request"]
    again = employee_client.get("/settings/tokens/")
    assert secret not in again.content.decode()
    assert "laptop" in again.content.decode()


def test_the_settings_page_offers_only_the_users_scopes(employee_client):
    offered = [value for value, _ in employee_client.get("/settings/tokens/").context["form"].fields["scopes"].choices]
    assert offered == ["read", "request"]


def test_a_forged_staff_scope_is_refused_on_the_page(employee_client, employee):
    response = employee_client.post("/settings/tokens/new", {"name": "x", "scopes": ["audit"], "days": 7})
    assert not response.context["created"]
    assert not ApiToken.objects.exists()


def test_the_owner_revokes_from_the_page_and_others_cannot(bearer, employee_client, outsider_client, employee):
    token, secret = token_create(user=employee, name="x", scopes=["read"])
    assert outsider_client.post(f"/settings/tokens/{token.public_id}/revoke").status_code == 404
    employee_client.post(f"/settings/tokens/{token.public_id}/revoke")
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.filter(action="api_token.revoked").exists()
    assert bearer(secret).get("me").status_code == 401


def test_an_admin_sees_and_revokes_everyones_tokens(admin_client, employee):
    token, _ = token_create(user=employee, name="erins-laptop", scopes=["read"])
    assert "erins-laptop" in admin_client.get("/settings/tokens/").content.decode()
    admin_client.post(f"/settings/tokens/{token.public_id}/revoke")
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_the_admins_token_policy_sets_the_default_and_the_maximum(employee, admin, admin_client, with_mfa):
    from requests_app.models import ApiTokenPolicy

    with_mfa(admin)  # the admin site needs it
    response = admin_client.post(
        "/admin/requests_app/apitokenpolicy/add/", {"default_days": 7, "max_days": 14}, follow=True
    )
    assert response.status_code == 200
    assert ApiTokenPolicy.objects.get().max_days == 14
    token, _ = token_create(user=employee, name="x", scopes=["read"])
    assert token.expires_at - token.created_at == timedelta(days=7)
    with pytest.raises(PolicyViolation):
        token_create(user=employee, name="x", scopes=["read"], days=15)
    assert AuditEvent.objects.filter(action="config.apitokenpolicy.created").exists()
