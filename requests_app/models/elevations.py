from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from requests_app.states import LIVE_STATES, TERMINAL_STATES, State


class Elevation(models.Model):
    """Temporary admin for one beneficiary on one target (a device, or a user group).

    `requester` asked; `beneficiary` gets the rights (they differ when helpdesk acts on behalf).
    `expires_at` is what the portal wants; `provider_expires_at` is what the provider was last
    told: the sweep pushes a difference (an extension made while granting) to the provider.
    `next_attempt_at` is when the sweep should next drive this row (retries, stuck steps).
    """

    class Source(models.TextChoices):
        WEB = "web", "Portal"
        HELPDESK = "helpdesk", "Helpdesk"
        JIRA = "jira", "Jira"
        BREAK_GLASS = "break_glass", "Break-glass"
        API = "api", "API"
        SLACK = "slack", "Slack"

    class TargetKind(models.TextChoices):
        DEVICE = "device", "Device"
        USER_GROUP = "user_group", "User group"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="requested_elevations"
    )
    beneficiary = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="elevations")
    connection = models.ForeignKey(
        "requests_app.ProviderConnection", on_delete=models.PROTECT, related_name="elevations"
    )
    device = models.ForeignKey(
        "requests_app.Device", null=True, blank=True, on_delete=models.PROTECT, related_name="elevations"
    )
    target_kind = models.CharField(max_length=20, choices=TargetKind.choices, default=TargetKind.DEVICE)
    target_ref = models.CharField(max_length=200, blank=True, help_text="User group id in group mode.")
    target_label = models.CharField(max_length=255, blank=True)
    target_options = models.JSONField(default=dict, blank=True)
    policy = models.ForeignKey("requests_app.Policy", null=True, blank=True, on_delete=models.SET_NULL)

    reason = models.TextField()
    ticket_ref = models.CharField(max_length=100, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.WEB)
    source_ref = models.CharField(max_length=200, blank=True, help_text="E.g. the Jira issue key.")
    without_password = models.BooleanField(default=False)
    break_glass = models.BooleanField(default=False)
    needs_review = models.BooleanField(default=False)

    requested_minutes = models.PositiveIntegerField()
    total_minutes = models.PositiveIntegerField(default=0, help_text="Granted minutes including extensions.")
    extensions = models.PositiveSmallIntegerField(default=0)
    starts_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    decide_by = models.DateTimeField(null=True, blank=True)

    state = models.CharField(max_length=20, choices=State.choices, default=State.REQUESTED)
    end_state = models.CharField(max_length=20, blank=True, help_text="revoked or expired, while revoking.")
    provider_ref = models.CharField(max_length=200, blank=True)
    provider_expires_at = models.DateTimeField(null=True, blank=True)
    notes = models.JSONField(default=list, blank=True, help_text="Provider notes for the user.")
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    alerted_at = models.DateTimeField(null=True, blank=True)
    drift = models.CharField(max_length=200, blank=True)
    preflight_checked = models.BooleanField(
        default=False, help_text="The provider's pre-flight ran when it was requested; else the grant step runs it."
    )
    possibly_granted = models.BooleanField(
        default=False, help_text="A grant call may have reached the provider (a timeout, a 5xx, an accepted call)."
    )
    grant_claimed_until = models.DateTimeField(
        null=True, blank=True, help_text="A grant step is calling the provider until then (a revoke waits for it)."
    )
    revoke_claimed_until = models.DateTimeField(
        null=True, blank=True, help_text="A revoke step is calling the provider until then (another sends nothing)."
    )

    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    activated_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One live elevation per beneficiary and target: asking again extends instead.
            models.UniqueConstraint(
                fields=["beneficiary", "device"],
                condition=models.Q(state__in=sorted(LIVE_STATES), device__isnull=False),
                name="one_live_elevation_per_device",
            ),
            models.UniqueConstraint(
                fields=["beneficiary", "connection", "target_ref"],
                condition=models.Q(state__in=sorted(LIVE_STATES), device__isnull=True),
                name="one_live_elevation_per_group",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "expires_at"], name="elev_state_expiry"),
            models.Index(fields=["state", "next_attempt_at"], name="elev_state_next"),
            models.Index(fields=["beneficiary", "-created_at"], name="elev_beneficiary_recent"),
            models.Index(fields=["device", "-created_at"], name="elev_device_recent"),
            # Partial indexes for the pages, each in the order its list is shown: the helpdesk
            # console's live elevations (soonest expiry first, keyset on id), a user's history
            # (newest first) and the break-glass elevations awaiting review. Live and
            # unreviewed rows are a sliver of the table, so these stay small as history grows.
            models.Index(
                fields=["expires_at", "id"], condition=models.Q(state__in=sorted(LIVE_STATES)), name="elev_live_expiry"
            ),
            models.Index(
                fields=["beneficiary", "-updated_at"],
                condition=models.Q(state__in=sorted(TERMINAL_STATES)),
                name="elev_beneficiary_history",
            ),
            models.Index(fields=["-created_at"], condition=models.Q(needs_review=True), name="elev_needs_review"),
        ]
        permissions = [
            ("act_for_others", "Can grant, extend and revoke elevations of other users (helpdesk)"),
            ("approve_elevation", "Can approve or deny elevation requests"),
            ("view_audit", "Can view and export the audit trail"),
            ("break_glass", "Can start an emergency elevation without approval"),
        ]

    def __str__(self) -> str:
        return f"{self.beneficiary} on {self.target_name} ({self.get_state_display()})"

    @property
    def target_name(self) -> str:
        if self.device is not None:
            return self.device.hostname
        return self.target_label or self.target_ref

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_STATES

    @property
    def held_minutes(self) -> int | None:
        """How long admin rights were actually held, in whole minutes (None: never granted).
        Differs from total_minutes when revoked early."""
        if self.activated_at is None or self.ended_at is None:
            return None
        return max(0, int((self.ended_at - self.activated_at).total_seconds() // 60))


class Approval(models.Model):
    """One approver's decision on one elevation (a policy may need several)."""

    class Decision(models.TextChoices):
        APPROVE = "approve", "Approved"
        DENY = "deny", "Denied"

    elevation = models.ForeignKey(Elevation, on_delete=models.CASCADE, related_name="approvals")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    reason = models.TextField(blank=True)
    decided_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["elevation", "approver"], name="one_decision_per_approver")]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} by {self.approver}"


class Heartbeat(models.Model):
    """When a periodic job (the sweep) last ran; stale means beat is not running."""

    name = models.CharField(max_length=50, primary_key=True)
    beat_at = models.DateTimeField()
    detail = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%H:%M:%S}"
