from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class ReviewItem(models.Model):
    """One elevation in the auditors' review queue: why it is there, and their verdict.

    Picked when the elevation ends (every break-glass, every one over its policy's review
    threshold, a reproducible random sample of the rest; `sample_score` is the draw) or raised
    by a manager from their digest. An auditor signs it off or flags it with a comment; a
    flagged item stays in the queue until someone resolves it.
    """

    class Origin(models.TextChoices):
        BREAK_GLASS = "break_glass", "Break-glass"
        OVER_THRESHOLD = "over_threshold", "Over the policy's review threshold"
        SAMPLE = "sample", "Random sample"
        MANAGER = "manager", "Raised by a manager"

    class Status(models.TextChoices):
        OPEN = "open", "To review"
        SIGNED_OFF = "signed_off", "Signed off"
        FLAGGED = "flagged", "Flagged"
        RESOLVED = "resolved", "Resolved"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    elevation = models.ForeignKey("requests_app.Elevation", on_delete=models.PROTECT, related_name="review_items")
    origin = models.CharField(max_length=20, choices=Origin.choices)
    sample_score = models.FloatField(null=True, blank=True, help_text="The draw in [0, 1) of a sampled one.")
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    raised_comment = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    comment = models.TextField(blank=True, help_text="The reviewer's comment on signing off or flagging.")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at"]
        constraints = [models.UniqueConstraint(fields=["elevation", "origin"], name="one_review_per_origin")]
        indexes = [models.Index(fields=["status", "created_at"], name="review_status_created")]

    def __str__(self) -> str:
        return f"{self.get_origin_display()} review of {self.elevation_id} ({self.get_status_display()})"
