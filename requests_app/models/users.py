from __future__ import annotations

import zoneinfo

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (e.g. Europe/Berlin).")


class User(AbstractUser):
    """A portal user. Times are shown in `timezone`; `manager` may approve their requests."""

    email = models.EmailField("email address", unique=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    manager = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports")

    def __str__(self) -> str:
        return self.get_full_name() or self.email or self.username

    def has_role(self, *roles: str) -> bool:
        """True when the user is in any of the named role groups (superusers hold every role)."""
        if self.is_superuser:
            return True
        return any(group.name in roles for group in self.groups.all())
