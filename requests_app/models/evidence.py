from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class EvidencePack(models.Model):
    """A ZIP of compliance evidence for one period, built in the worker for an auditor.

    `status` goes queued → running → done (or failed); `progress` (0-100) and `step` are what
    the page shows meanwhile. `file` is in the default storage; `sha256` is the ZIP's own sum,
    `manifest_sha256` the sum of the MANIFEST.sha256 inside it (both also in the audit trail).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Generating"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField(help_text="Exclusive.")
    period_label = models.CharField(max_length=100, help_text="The dates as the auditor chose them.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    step = models.CharField(max_length=200, blank=True)
    file = models.FileField(upload_to="evidence/", blank=True)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    manifest_sha256 = models.CharField(max_length=64, blank=True)
    chain_head_seq = models.PositiveBigIntegerField(null=True, blank=True)
    chain_head_hash = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"evidence pack {self.period_label} ({self.get_status_display()})"

    @property
    def filename(self) -> str:
        return f"elevate-evidence-{self.period_label.replace(' ', '')}.zip"
