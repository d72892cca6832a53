from __future__ import annotations

import uuid

from django.db import models

from requests_app.crypto import EncryptedTextField
from requests_app.providers.registry import KIND_CHOICES, provider_for


class ProviderConnection(models.Model):
    """One configured back end (a JumpCloud org, a SailPoint tenant, or the demo).

    `secret` holds the API key or client secret, encrypted at rest; the admin never shows it
    back. `options` carries kind-specific settings (timeouts, entitlement ids, latency...).
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=32, choices=KIND_CHOICES)
    base_url = models.URLField(blank=True)
    org_id = models.CharField(max_length=100, blank=True)
    client_id = models.CharField(max_length=200, blank=True)
    secret = EncryptedTextField(blank=True)
    options = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def provider(self):
        return provider_for(self)


class ProviderPause(models.Model):
    """A provider connection paused until `until` (a 429's Retry-After, a run of 5xx): no call on it
    before then, from any process (providers/gate.py). Kept in PostgreSQL so that losing Redis
    (a restart, a flush) never loses a pause the vendor asked for. `key` is a digest of the
    connection's base URL and credentials, never the credentials."""

    key = models.CharField(max_length=40, primary_key=True)
    label = models.CharField(max_length=200, blank=True)
    until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.label or self.key} paused until {self.until:%H:%M:%S}"
