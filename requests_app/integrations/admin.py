"""Admin for the integrations. Secrets (API token, shared secrets, webhook URLs) are write-only."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.urls import reverse

from requests_app import audit
from requests_app.clock import now
from requests_app.integrations.conf import setting
from requests_app.integrations.models import Delivery, JiraConnection, JiraIntake, SlackChannel

SECRET_FIELDS = ("api_token", "intake_secret", "signing_secret", "webhook_url")


def secret_field(help_text: str, *, required: bool = True) -> forms.CharField:
    return forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=f"{help_text} Stored encrypted; leave blank to keep the current value.",
    )


class WriteOnlySecretsForm(forms.ModelForm):
    """Secret fields are never rendered back and keep their value when left blank."""

    def _keep(self, name: str):
        value = self.cleaned_data.get(name)
        if not value and self.instance.pk:
            return getattr(type(self.instance).objects.get(pk=self.instance.pk), name)
        if not value and name != "signing_secret":
            raise forms.ValidationError("Required.")
        return value

    def clean_api_token(self):
        return self._keep("api_token")

    def clean_intake_secret(self):
        return self._keep("intake_secret")

    def clean_signing_secret(self):
        return self._keep("signing_secret")

    def clean_webhook_url(self):
        return self._keep("webhook_url")


class JiraConnectionForm(WriteOnlySecretsForm):
    api_token = secret_field("Atlassian API token of the account above.")
    intake_secret = secret_field("Shared secret the Automation rule sends in X-Elevate-Secret.")
    signing_secret = secret_field("Optional HMAC key; when set, requests must be signed.")

    class Meta:
        model = JiraConnection
        fields = (
            "name",
            "site_url",
            "email",
            "api_token",
            "api_token_expires_on",
            "intake_secret",
            "signing_secret",
            "verify_reporter",
            "enabled",
        )


class SlackChannelForm(WriteOnlySecretsForm):
    webhook_url = secret_field("Incoming webhook URL (https://hooks.slack.com/services/…).")

    class Meta:
        model = SlackChannel
        fields = ("name", "webhook_url", "events", "enabled")


class AuditedSecretsAdmin(admin.ModelAdmin):
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        changed = [f"{n} (value not recorded)" if n in SECRET_FIELDS else n for n in form.changed_data]
        action = f"config.{obj._meta.model_name}.{'changed' if change else 'created'}"
        audit.record(action, actor=request.user, target=obj, after={"fields": changed})


@admin.register(JiraConnection)
class JiraConnectionAdmin(AuditedSecretsAdmin):
    form = JiraConnectionForm
    list_display = ("name", "site_url", "email", "token_status", "enabled")
    readonly_fields = ("intake_url", "token_warned_on")
    actions = ["check_sign_in"]

    @admin.action(description="Check that the API token signs in")
    def check_sign_in(self, request, queryset):
        from django.contrib import messages

        from requests_app.providers.base import ProviderError

        for connection in queryset:
            try:
                with connection.client() as client:
                    account = client.myself()
            except ProviderError as exc:
                self.message_user(request, f"{connection}: {exc.message}", messages.ERROR)
            else:
                name = account.get("displayName") or account.get("emailAddress")
                self.message_user(request, f"{connection}: signed in as {name}.", messages.SUCCESS)

    @admin.display(description="API token")
    def token_status(self, obj: JiraConnection) -> str:
        days = obj.token_days_left(now().date())
        if days is None:
            return "expiry not recorded"
        if days < 0:
            return f"EXPIRED {-days} days ago"
        warn = " (replace it soon)" if days <= setting("ELEVATE_JIRA_TOKEN_WARN_DAYS") else ""
        return f"expires in {days} days{warn}"

    @admin.display(description="Automation URL")
    def intake_url(self, obj: JiraConnection) -> str:
        if not obj.pk:
            return "shown after saving"
        from django.conf import settings

        return settings.ELEVATE_BASE_URL + reverse("integrations:jira_intake", args=[obj.public_id])


@admin.register(SlackChannel)
class SlackChannelAdmin(AuditedSecretsAdmin):
    form = SlackChannelForm
    list_display = ("name", "events", "enabled")


@admin.register(JiraIntake)
class JiraIntakeAdmin(admin.ModelAdmin):
    list_display = ("issue_key", "reporter_email", "outcome", "calls", "received_at", "elevation")
    search_fields = ("issue_key", "reporter_email")
    readonly_fields = [f.name for f in JiraIntake._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("event", "channel", "status", "attempts", "created_at", "sent_at", "last_error")
    list_filter = ("status", "channel", "event")
    readonly_fields = [f.name for f in Delivery._meta.fields]

    def has_add_permission(self, request):
        return False
