"""What the Slack app keeps: its credentials, who is who in Slack, and the messages it posted."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from requests_app.crypto import EncryptedTextField


class SlackApp(models.Model):
    """The workspace's Slack app: its bot token (xoxb-…) and signing secret, both encrypted.

    The first enabled one is used. `api_url` is Slack's Web API unless pointed at the simulator.
    """

    name = models.CharField(max_length=100, unique=True)
    bot_token = EncryptedTextField(help_text="Bot User OAuth Token (xoxb-…). Stored encrypted.")
    signing_secret = EncryptedTextField(help_text="Basic Information → Signing Secret. Stored encrypted.")
    api_url = models.URLField(default="https://slack.com/api/", help_text="Slack's Web API base URL.")
    app_id = models.CharField(max_length=40, blank=True, help_text="Optional: refuse requests of other apps.")
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SlackUser(models.Model):
    """A portal user's Slack id, found by their verified e-mail address."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="slack_user")
    slack_id = models.CharField(max_length=40, unique=True)
    found_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.user} is {self.slack_id}"


class SlackPost(models.Model):
    """A message the app posted about an elevation: where it is (`channel` + `ts`, the handle
    chat.update needs) and whom it is for, so it can be updated in place as the state changes."""

    class Kind(models.TextChoices):
        APPROVAL = "approval", "Approval request"
        STATUS = "status", "Requester's status"

    elevation = models.ForeignKey("requests_app.Elevation", on_delete=models.CASCADE, related_name="slack_posts")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    channel = models.CharField(max_length=40)
    ts = models.CharField(max_length=40)
    posted_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "ts"], name="slack_post_unique_message")]
        indexes = [models.Index(fields=["elevation", "kind"], name="slack_post_elevation_kind")]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient} ({self.channel}/{self.ts})"
