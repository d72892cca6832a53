from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A personal access token for the REST API and the `elevate` command line.

    Only the SHA-256 of the token is kept (it is shown once, at creation); `prefix` is its
    visible start, to recognise it in lists. `scopes` never exceed the owner's roles when it is
    created, and each call uses only those the owner still holds (api/scopes.py).
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class IdempotencyKey(models.Model):
    """The first answer to a POST sent with an `Idempotency-Key` header, replayed on a retry.

    `status_code` is null while the first call is still running. `fingerprint` is the hash of
    the method, path and body: the same key with another request is refused.
    """

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="idempotency_keys")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["token", "key"], name="idempotency_key_unique_per_token")]

    def __str__(self) -> str:
        return self.key


class ApiTokenPolicy(models.Model):
    """How long personal access tokens last, set by admins (one row; without it the settings
    ELEVATE_API_TOKEN_DAYS and ELEVATE_API_TOKEN_MAX_DAYS apply)."""

    default_days = models.PositiveIntegerField(
        default=90, help_text="A new token's lifetime unless its owner picks one."
    )
    max_days = models.PositiveIntegerField(default=365, help_text="The longest lifetime a token may have.")

    class Meta:
        verbose_name = "API token policy"
        verbose_name_plural = "API token policy"

    def __str__(self) -> str:
        return f"API tokens: {self.default_days} days by default, at most {self.max_days}"

    @classmethod
    def current(cls) -> ApiTokenPolicy:
        return cls.objects.first() or cls(
            default_days=settings.ELEVATE_API_TOKEN_DAYS, max_days=settings.ELEVATE_API_TOKEN_MAX_DAYS
        )
