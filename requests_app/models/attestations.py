from __future__ import annotations

from django.conf import settings
from django.db import models


class Attestation(models.Model):
    """What the beneficiary says they did with an elevation that ended (one per elevation).

    The row is opened when an elevation that held admin ends, with the policy's rules of that
    moment (`required`, `due_at`, `blocks_requests`), and filled in once by the beneficiary.
    `text` empty and `attested_at` null mean "still asked for".
    """

    elevation = models.OneToOneField("requests_app.Elevation", on_delete=models.CASCADE, related_name="attestation")
    required = models.BooleanField(default=False)
    blocks_requests = models.BooleanField(default=False)
    due_at = models.DateTimeField()
    text = models.TextField(blank=True)
    ticket_ref = models.CharField(max_length=100, blank=True)
    attested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    attested_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["due_at"]
        indexes = [
            # The overdue list and the request check read only the open, required ones.
            models.Index(
                fields=["due_at"],
                condition=models.Q(attested_at__isnull=True, required=True),
                name="attestation_open_required",
            )
        ]

    def __str__(self) -> str:
        return f"attestation of {self.elevation_id}"

    @property
    def is_given(self) -> bool:
        return self.attested_at is not None

    @property
    def late(self) -> bool:
        return self.attested_at is not None and self.attested_at > self.due_at
