"""What the integrations keep: Jira sites and intakes, outbound comments, notification settings
and deliveries, and used one-click links."""

from __future__ import annotations

import uuid
from datetime import date

from django.conf import settings
from django.db import models

from requests_app.crypto import EncryptedTextField

EVENT_CHOICES = [
    ("approval_needed", "Approval needed"),
    ("granted", "Granted"),
    ("extended", "Extended"),
    ("expiring_soon", "Expiring soon"),
    ("expired", "Expired"),
    ("revoked", "Revoked"),
    ("failed", "Failed"),
    ("denied", "Denied"),
    ("admin_alert", "Admin alert"),
]
ALL_EVENTS = [value for value, _ in EVENT_CHOICES]
# What a delivery may carry: the events above, and the managers' weekly digest (requests_app/digests),
# which is not a per-user preference (it is part of the access review, so it always goes out).
DELIVERY_EVENT_CHOICES = [*EVENT_CHOICES, ("manager_digest", "Manager digest")]
# What a user receives by e-mail until they change their preferences.
DEFAULT_EMAIL_EVENTS = ["approval_needed", "granted", "expiring_soon", "expired", "revoked", "failed", "denied"]


def default_email_events() -> list[str]:
    return list(DEFAULT_EMAIL_EVENTS)


class JiraConnection(models.Model):
    """A Jira Cloud site: takes admin-access requests from an Automation rule, gets comments back.

    The Automation rule posts to `/integrations/jira/<public_id>/intake` with `intake_secret`
    in the `X-Elevate-Secret` header (and, if `signing_secret` is set, an HMAC signature).
    Jira API tokens last at most a year: `api_token_expires_on` drives the admins' warning.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100, unique=True)
    site_url = models.URLField(help_text="e.g. https://your-domain.atlassian.net")
    email = models.EmailField(help_text="The Atlassian account the portal comments as.")
    api_token = EncryptedTextField(help_text="Stored encrypted; never shown again.")
    api_token_expires_on = models.DateField(
        null=True, blank=True, help_text="Shown in Atlassian's API token list; admins are warned before."
    )
    intake_secret = EncryptedTextField(help_text="The shared secret the Automation rule sends.")
    signing_secret = EncryptedTextField(blank=True, help_text="Optional: also require an HMAC signature.")
    verify_reporter = models.BooleanField(
        default=True,
        help_text="Read each issue through the Jira API and accept the call only if its reporter has the "
        "e-mail the rule sent (exact match).",
    )
    enabled = models.BooleanField(default=True)
    token_warned_on = models.DateField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def token_days_left(self, today: date) -> int | None:
        if self.api_token_expires_on is None:
            return None
        return (self.api_token_expires_on - today).days

    def client(self):
        from requests_app.integrations.jira.client import JiraClient

        return JiraClient(self.site_url, self.email, self.api_token)


class JiraIntake(models.Model):
    """One Jira issue's request. Unique per issue: a retried call finds this row and stops."""

    connection = models.ForeignKey(JiraConnection, on_delete=models.PROTECT, related_name="intakes")
    issue_key = models.CharField(max_length=50)
    reporter_email = models.EmailField()
    elevation = models.ForeignKey(
        "requests_app.Elevation", null=True, on_delete=models.PROTECT, related_name="jira_intakes"
    )
    outcome = models.CharField(max_length=20, help_text="created, or extended (a live one existed).")
    calls = models.PositiveIntegerField(default=1, help_text="How often Jira sent this issue.")
    received_at = models.DateTimeField()
    last_call_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["connection", "issue_key"], name="one_intake_per_issue")]

    def __str__(self) -> str:
        return self.issue_key


class Delivery(models.Model):
    """One outbound message (an e-mail, a Slack post or a Jira comment), sent at most once.

    `key` names the message (event, elevation, moment, channel, recipient), so the same
    lifecycle event announced twice still makes one delivery.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        SLACK = "slack", "Slack"
        JIRA = "jira", "Jira comment"
        SLACK_APP = "slack_app", "Slack app message"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    key = models.CharField(max_length=255, unique=True)
    event = models.CharField(max_length=30, choices=DELIVERY_EVENT_CHOICES)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    elevation = models.ForeignKey(
        "requests_app.Elevation", null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    slack_channel = models.ForeignKey("SlackChannel", null=True, blank=True, on_delete=models.CASCADE)
    jira_intake = models.ForeignKey(JiraIntake, null=True, blank=True, on_delete=models.CASCADE)
    payload = models.JSONField(default=dict, blank=True, help_text="Extra context, e.g. link tokens.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    external_id = models.CharField(max_length=100, blank=True, help_text="e.g. the Jira comment id.")
    created_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["status", "created_at"], name="delivery_status_created")]

    def __str__(self) -> str:
        return f"{self.event} by {self.channel} ({self.status})"


class SlackChannel(models.Model):
    """A Slack channel reached through an incoming webhook, with the events it wants."""

    name = models.CharField(max_length=100, unique=True, help_text="e.g. #it-admin-rights")
    webhook_url = EncryptedTextField(help_text="The URL is the secret: stored encrypted.")
    events = models.JSONField(default=list, blank=True, help_text=f"Any of: {', '.join(ALL_EVENTS)}")
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class NotificationPreference(models.Model):
    """Which events one user receives, by e-mail and on their own Slack webhook."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    email_events = models.JSONField(default=default_email_events, blank=True)
    slack_events = models.JSONField(default=list, blank=True)
    slack_webhook_url = EncryptedTextField(blank=True, help_text="A personal incoming webhook (optional).")

    def __str__(self) -> str:
        return f"notifications of {self.user}"


class UsedLink(models.Model):
    """A one-click link (approve, deny, extend) that was used: it cannot be used again."""

    token_id = models.CharField(max_length=64, unique=True)
    used_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    used_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.token_id


# The Slack app's models live beside its code; importing them here registers them with this app.
from requests_app.integrations.slack_app.models import SlackApp, SlackPost, SlackUser  # noqa: E402

__all__ = ["SlackApp", "SlackPost", "SlackUser"]
