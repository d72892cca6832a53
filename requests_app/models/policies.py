from __future__ import annotations

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models


def validate_durations(value) -> None:
    if not isinstance(value, list) or not value or not all(isinstance(v, int) and v > 0 for v in value):
        raise ValidationError("Allowed durations must be a non-empty list of minutes, e.g. [15, 60, 240].")


class Policy(models.Model):
    """The rules for an elevation: durations, extensions, caps, approval, passwordless sudo.

    The default policy applies unless a more specific one matches: an override for a device
    group or a user group (`priority` decides between overrides, highest first).
    """

    name = models.CharField(max_length=100, unique=True)
    is_default = models.BooleanField(default=False)
    priority = models.IntegerField(default=0)
    device_group = models.CharField(max_length=100, blank=True, help_text="Applies to devices in this group.")
    user_group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.CASCADE, help_text="Applies to members of this group."
    )

    allowed_durations = models.JSONField(default=list, validators=[validate_durations], help_text="Presets in minutes.")
    max_duration_minutes = models.PositiveIntegerField(default=240)
    max_total_minutes = models.PositiveIntegerField(default=480, help_text="Including extensions.")
    max_extensions = models.PositiveIntegerField(default=2)
    extension_increments = models.JSONField(default=list, blank=True, help_text="Minutes offered by Extend.")
    weekly_cap_hours = models.PositiveIntegerField(null=True, blank=True, help_text="Elevated hours per user per week.")
    max_schedule_ahead_hours = models.PositiveIntegerField(default=168)

    requires_approval = models.BooleanField(default=False)
    auto_approve_up_to_minutes = models.PositiveIntegerField(null=True, blank=True)
    approvals_required = models.PositiveSmallIntegerField(default=1)
    approver_group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    approval_by_manager = models.BooleanField(default=False)
    approval_timeout_minutes = models.PositiveIntegerField(default=24 * 60)

    allow_passwordless = models.BooleanField(default=False)
    reminder_before_minutes = models.PositiveIntegerField(default=10)

    # After use: what the beneficiary did with it, and which elevations the auditors review.
    attestation_required = models.BooleanField(
        default=False, help_text="The beneficiary must say what they did once the elevation ends."
    )
    attestation_within_hours = models.PositiveIntegerField(
        default=72, help_text="Hours after the end within which the attestation is due."
    )
    attestation_blocks_requests = models.BooleanField(
        default=False, help_text="An overdue attestation refuses new requests until it is given."
    )
    review_over_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Elevations longer than this in total go to the auditors' review queue."
    )

    class Meta:
        ordering = ["-is_default", "-priority", "name"]
        verbose_name_plural = "policies"
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="one_default_policy"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.allowed_durations and max(self.allowed_durations) > self.max_duration_minutes:
            raise ValidationError("A preset duration is longer than the maximum duration.")
        if self.max_total_minutes < self.max_duration_minutes:
            raise ValidationError("The maximum total must be at least the maximum duration.")

    @property
    def increments(self) -> list[int]:
        return self.extension_increments or [d for d in self.allowed_durations if d <= self.max_duration_minutes]

    def needs_approval_for(self, minutes: int) -> bool:
        if not self.requires_approval:
            return False
        return not (self.auto_approve_up_to_minutes and minutes <= self.auto_approve_up_to_minutes)
