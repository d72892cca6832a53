from __future__ import annotations

from django.db import models


class DemoGrant(models.Model):
    """A grant held by the built-in demo provider (its "platform" lives in our own database)."""

    reference = models.CharField(max_length=64, unique=True)
    idempotency_key = models.CharField(max_length=64, db_index=True)
    user_external_id = models.CharField(max_length=200)
    target_external_id = models.CharField(max_length=200)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.reference
