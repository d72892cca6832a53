"""Configuration changes, role changes, sign-ins: recorded with actor, IP and user agent."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from requests_app.auditing import verify
from requests_app.models import AuditEvent, Policy

UA = {"HTTP_USER_AGENT": "AuditTest/1.0", "REMOTE_ADDR": "192.0.2.7"}


@pytest.fixture
def admin(admin):
    """The admin has MFA set up (the admin site sends staff without it to set it up first)."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    TOTP.activate(admin, generate_totp_secret())
    return admin


def newest(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).order_by("-seq").first()


def test_adding_a_user_to_a_role_in_the_admin_is_recorded_with_actor_ip_and_agent(admin, admin_client, outsider):
    auditor_group = Group.objects.get(name="auditor")
    response = admin_client.post(
        f"/admin/requests_app/user/{outsider.pk}/change/",
        {
            "username": outsider.username,
            "email": outsider.email,
            "timezone": "UTC",
            "is_active": "on",
            "is_staff": "on",
            "groups": [g.pk for g in outsider.groups.all()] + [auditor_group.pk],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "initial-date_joined_0": "2026-01-01",
            "initial-date_joined_1": "00:00:00",
        },
        **UA,
    )
    assert response.status_code == 302, response.content[:2000]
    event = newest("role.membership_added")
    assert (event.actor_id, event.ip, event.user_agent) == (admin.pk, "192.0.2.7", "AuditTest/1.0")
    assert (event.target_type, event.target_id) == ("user", str(outsider.pk))
    assert event.after == {"roles": ["auditor"]}
    flags = newest("user.privileges_changed")
    assert flags.after["is_staff"] is True and flags.actor_id == admin.pk
    assert verify.verify_chain().ok


def test_role_permission_and_membership_changes_in_code_are_recorded(employee):
    group = Group.objects.create(name="contractors")
    group.user_set.add(employee)
    employee.groups.remove(group)
    actions = list(AuditEvent.objects.filter(seq__gt=0).values_list("action", flat=True).order_by("-seq")[:3])
    assert actions == ["role.membership_removed", "role.membership_added", "role.created"]


def test_a_policy_change_in_the_admin_is_recorded(admin_client, admin, default_policy):
    response = admin_client.post(f"/admin/requests_app/policy/{default_policy.pk}/delete/", {"post": "yes"}, **UA)
    assert response.status_code == 302
    event = newest("config.policy.deleted")
    assert (event.actor_id, event.ip) == (admin.pk, "192.0.2.7")
    assert not Policy.objects.filter(pk=default_policy.pk).exists()


def test_a_bulk_delete_from_the_admin_list_is_recorded_per_object(admin_client, admin, default_policy):
    response = admin_client.post(
        "/admin/requests_app/policy/",
        {"action": "delete_selected", "_selected_action": [default_policy.pk], "post": "yes"},
        **UA,
    )
    assert response.status_code == 302
    assert newest("config.policy.deleted").target_id == str(default_policy.pk)


@pytest.mark.parametrize("password", ["wrong-password"])
def test_a_failed_sign_in_is_recorded_with_ip_and_agent(client, employee, password):
    client.post("/accounts/login/", {"login": employee.email, "password": password}, **UA)
    event = newest("auth.sign_in_failed")
    assert event is not None
    assert (event.ip, event.user_agent) == ("192.0.2.7", "AuditTest/1.0")
    assert event.after == {"identifier": employee.email}
