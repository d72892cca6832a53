"""Demo data for the embedded default: one user per role, devices on the demo provider."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from requests_app.models import Device, Policy, ProviderConnection, User
from requests_app.roles import ROLES, ensure_roles

DEMO_PASSWORD = "elevate-demo"
DEMO_USERS = [
    # (email, first, last, roles, time zone)
    ("employee@example.com", "Erin", "Employee", ["employee"], "Europe/Berlin"),
    ("approver@example.com", "Avery", "Approver", ["employee", "approver"], "America/New_York"),
    ("helpdesk@example.com", "Harper", "Helpdesk", ["employee", "helpdesk"], "UTC"),
    ("auditor@example.com", "Alex", "Auditor", ["auditor"], "UTC"),
    ("admin@example.com", "Ada", "Admin", list(ROLES), "UTC"),
]
# Devices in this group need an approver's yes for anything over 30 minutes (the approver's work).
APPROVAL_GROUP = "production"
DEMO_DEVICES = [
    # (external id, hostname, os, family, owner, device groups)
    ("demo-mac-001", "erin-macbook", "macOS 15.2", "macos", "employee@example.com", []),
    ("demo-lin-002", "erin-build-box", "Ubuntu 24.04", "linux", "employee@example.com", [APPROVAL_GROUP]),
    ("demo-win-003", "erin-surface", "Windows 11", "windows", "employee@example.com", []),
    ("demo-mac-004", "avery-macbook", "macOS 15.1", "macos", "approver@example.com", []),
    ("demo-lin-005", "harper-thinkpad", "Fedora 41", "linux", "helpdesk@example.com", []),
    ("demo-lin-006", "ada-workstation", "Debian 13", "linux", "admin@example.com", []),
]


class Command(BaseCommand):
    help = (
        "Create demo users (one per role), the demo provider, its devices, a default policy and an "
        "approval policy for the 'production' device group. Safe to run again."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        ensure_roles()
        connection, _ = ProviderConnection.objects.get_or_create(name="Demo", defaults={"kind": "demo"})
        Policy.objects.get_or_create(
            is_default=True,
            defaults={
                "name": "Default",
                "allowed_durations": [15, 30, 60, 120, 240],
                "max_duration_minutes": 240,
                "max_total_minutes": 480,
                "max_extensions": 3,
                "extension_increments": [15, 30, 60],
                "allow_passwordless": True,
            },
        )
        Policy.objects.update_or_create(
            name="Production servers",
            defaults={
                "device_group": APPROVAL_GROUP,
                "priority": 10,
                "allowed_durations": [15, 30, 60, 120],
                "max_duration_minutes": 120,
                "max_total_minutes": 240,
                "max_extensions": 1,
                "extension_increments": [15, 30],
                "max_schedule_ahead_hours": 72,
                "requires_approval": True,
                "auto_approve_up_to_minutes": 30,
            },
        )
        users = {}
        for email, first, last, roles, tz in DEMO_USERS:
            user, created = User.objects.get_or_create(
                email=email, defaults={"username": email, "first_name": first, "last_name": last, "timezone": tz}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.is_staff = "admin" in roles
                user.is_superuser = "admin" in roles
                user.save()
            user.groups.set(Group.objects.filter(name__in=roles))
            users[email] = user
        users["employee@example.com"].manager = users["approver@example.com"]
        users["employee@example.com"].save(update_fields=["manager"])
        for external_id, hostname, os_name, family, owner, groups in DEMO_DEVICES:
            device, _ = Device.objects.update_or_create(
                connection=connection,
                external_id=external_id,
                defaults={
                    "hostname": hostname,
                    "os": os_name,
                    "os_family": family,
                    "groups": groups,
                    "last_contact_at": timezone.now() - timedelta(minutes=7),
                },
            )
            device.users.add(users[owner])
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready. Sign in with any of these (password: {DEMO_PASSWORD}):")
        )
        for email, _, _, roles, _ in DEMO_USERS:
            self.stdout.write(f"  {email:<24} {', '.join(roles)}")
