"""The Slack app in the admin, like the webhooks: secrets write-only, changes audited."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin
from django.urls import reverse

from requests_app.integrations.admin import AuditedSecretsAdmin, secret_field
from requests_app.integrations.slack_app.models import SlackApp, SlackPost, SlackUser


class SlackAppForm(forms.ModelForm):
    bot_token = secret_field("Bot User OAuth Token (xoxb-…), from OAuth & Permissions.")
    signing_secret = secret_field("Signing Secret, from Basic Information.")

    class Meta:
        model = SlackApp
        fields = ("name", "bot_token", "signing_secret", "api_url", "app_id", "enabled")

    def _keep(self, name: str) -> str:
        value = self.cleaned_data.get(name)
        if not value and self.instance.pk:
            return getattr(SlackApp.objects.get(pk=self.instance.pk), name)
        if not value:
            raise forms.ValidationError("Required.")
        return value

    def clean_bot_token(self) -> str:
        return self._keep("bot_token")

    def clean_signing_secret(self) -> str:
        return self._keep("signing_secret")


@admin.register(SlackApp)
class SlackAppAdmin(AuditedSecretsAdmin):
    form = SlackAppForm
    list_display = ("name", "api_url", "enabled")
    readonly_fields = ("request_urls",)

    @admin.display(description="Request URLs for the Slack app's settings")
    def request_urls(self, obj) -> str:
        base = settings.ELEVATE_BASE_URL
        return (
            f"Slash command /elevate: {base}{reverse('integrations:slack_command')} · "
            f"Interactivity: {base}{reverse('integrations:slack_interaction')}"
        )


@admin.register(SlackUser)
class SlackUserAdmin(admin.ModelAdmin):
    list_display = ("user", "slack_id", "found_at")
    search_fields = ("user__email", "slack_id")


@admin.register(SlackPost)
class SlackPostAdmin(admin.ModelAdmin):
    list_display = ("elevation", "recipient", "kind", "channel", "ts", "posted_at")
    readonly_fields = [f.name for f in SlackPost._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
