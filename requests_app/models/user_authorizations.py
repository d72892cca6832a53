from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from requests_app.crypto import EncryptedTextField


class UserAuthorization(models.Model):
    """An employee's own OAuth authorization on a provider that acts in the user's context.

    SailPoint's JIT activations apply to the caller's own entitlement connections, so each
    employee connects their SailPoint identity once (authorization code + PKCE). The refresh
    token (and the current access token) are encrypted at rest and never shown; `subject_id` is
    the identity id the token answered with. Revoking clears the tokens and keeps the row (who,
    when, by whom) so the page can say why a new connection is needed.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="authorizations")
    connection = models.ForeignKey(
        "requests_app.ProviderConnection", on_delete=models.CASCADE, related_name="user_authorizations"
    )
    subject_id = models.CharField(max_length=200, blank=True)
    subject_name = models.CharField(max_length=200, blank=True)
    scope = models.CharField(max_length=1000, blank=True)
    refresh_token = EncryptedTextField(blank=True)
    access_token = EncryptedTextField(blank=True)
    access_expires_at = models.DateTimeField(null=True, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoke_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "connection"], name="authorization_unique_per_connection")
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.connection}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and bool(self.refresh_token)
