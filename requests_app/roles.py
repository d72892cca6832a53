"""The portal's roles as Django groups with permissions, kept in step after every migrate."""

from __future__ import annotations

EMPLOYEE, APPROVER, HELPDESK, AUDITOR, ADMIN = "employee", "approver", "helpdesk", "auditor", "admin"
ROLES = (EMPLOYEE, APPROVER, HELPDESK, AUDITOR, ADMIN)

ROLE_PERMISSIONS: dict[str, list[str]] = {
    EMPLOYEE: [],
    APPROVER: ["approve_elevation"],
    HELPDESK: ["act_for_others", "view_elevation", "view_device"],
    AUDITOR: ["view_audit", "view_elevation", "view_device", "view_auditevent"],
    ADMIN: [
        "act_for_others",
        "approve_elevation",
        "view_audit",
        "break_glass",
        "view_elevation",
        "view_device",
        "view_auditevent",
        "add_providerconnection",
        "change_providerconnection",
        "view_providerconnection",
        "view_userauthorization",
        "add_policy",
        "change_policy",
        "delete_policy",
        "view_policy",
        "add_device",
        "change_device",
        "view_device",
    ],
}


def ensure_roles(**kwargs) -> None:
    from django.contrib.auth.models import Group, Permission

    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        perms = Permission.objects.filter(content_type__app_label="requests_app", codename__in=codenames)
        group.permissions.set(perms)
