from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Device(models.Model):
    """A machine on a provider that users may be elevated on.

    `users` are the people bound to it at the provider; only they may request admin on it.
    `removed_at` is set when the provider no longer lists it: it can no longer be requested.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    connection = models.ForeignKey("requests_app.ProviderConnection", on_delete=models.PROTECT, related_name="devices")
    external_id = models.CharField(max_length=200)
    hostname = models.CharField(max_length=255)
    os = models.CharField(max_length=100, blank=True)
    os_family = models.CharField(max_length=20, blank=True)
    last_contact_at = models.DateTimeField(null=True, blank=True)
    groups = models.JSONField(default=list, blank=True)  # device group names, for policy overrides
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="devices", blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["hostname"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "external_id"], name="device_unique_per_connection")
        ]

    def __str__(self) -> str:
        return self.hostname

    @property
    def is_windows(self) -> bool:
        return self.os_family == "windows"


class ProviderIdentity(models.Model):
    """A portal user's id on one provider (looked up by e-mail once, then cached)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="identities")
    connection = models.ForeignKey(
        "requests_app.ProviderConnection", on_delete=models.CASCADE, related_name="identities"
    )
    external_id = models.CharField(max_length=200)
    looked_up_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "connection"], name="identity_unique_per_connection")]

    def __str__(self) -> str:
        return f"{self.user} on {self.connection}: {self.external_id}"
