from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from requests_app import audit
from requests_app.api import admin as api_admin  # noqa: F401  (registers ApiTokenAdmin)
from requests_app.models import (
    ApiTokenPolicy,
    Attestation,
    AuditEvent,
    Device,
    Elevation,
    EvidencePack,
    Policy,
    ProviderConnection,
    ReviewItem,
    User,
    UserAuthorization,
)
from requests_app.providers.jumpcloud.admin import test_connection
from requests_app.providers.sailpoint.admin import UserAuthorizationAdmin


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (*(BaseUserAdmin.fieldsets or ()), ("Elevate", {"fields": ("timezone", "manager")}))
    list_display = ("email", "username", "first_name", "last_name", "is_staff")
    search_fields = ("email", "username", "first_name", "last_name")
    list_filter = (*BaseUserAdmin.list_filter, ("manager", admin.RelatedOnlyFieldListFilter))

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if "manager" in form.changed_data:  # the manager receives the weekly digest of this user
            before = form.initial.get("manager")
            audit.record(
                "user.manager_changed",
                actor=request.user,
                target=obj,
                before={"manager": str(User.objects.filter(pk=before).first() or "") or None},
                after={"manager": obj.manager.email if obj.manager_id else None},
                reason="Set in the admin.",
            )


class ProviderConnectionForm(forms.ModelForm):
    """The secret is write-only: never rendered back, kept unchanged when left blank."""

    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="API key or client secret. Stored encrypted; leave blank to keep the current one.",
    )

    class Meta:
        model = ProviderConnection
        fields = ("name", "kind", "base_url", "org_id", "client_id", "secret", "options", "enabled")

    def clean_secret(self):
        value = self.cleaned_data.get("secret")
        if not value and self.instance.pk:
            return ProviderConnection.objects.get(pk=self.instance.pk).secret
        return value


class AuditedAdmin(admin.ModelAdmin):
    """Configuration changes made in the admin are audit events (secrets never included)."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        changed = [name for name in form.changed_data if name != "secret"]
        if "secret" in form.changed_data:
            changed.append("secret (value not recorded)")
        audit.record(
            f"config.{obj._meta.model_name}.{'changed' if change else 'created'}",
            actor=request.user,
            target=obj,
            after={"fields": changed},
        )

    def delete_model(self, request, obj):
        audit.record(f"config.{obj._meta.model_name}.deleted", actor=request.user, target=obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        # The changelist's "delete selected" action skips delete_model.
        for obj in queryset:
            audit.record(f"config.{obj._meta.model_name}.deleted", actor=request.user, target=obj)
        super().delete_queryset(request, queryset)


@admin.register(ProviderConnection)
class ProviderConnectionAdmin(AuditedAdmin):
    form = ProviderConnectionForm
    actions = [test_connection]
    list_display = ("name", "kind", "base_url", "enabled", "updated_at")


@admin.register(Policy)
class PolicyAdmin(AuditedAdmin):
    list_display = ("name", "is_default", "priority", "max_duration_minutes", "requires_approval")


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ("hostname", "connection", "os", "last_contact_at", "removed_at")
    search_fields = ("hostname", "external_id")
    filter_horizontal = ("users",)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Listed, never edited here: these rows change only through the services."""

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Elevation)
class ElevationAdmin(ReadOnlyAdmin):
    """Elevations change only through the lifecycle services."""

    list_display = ("public_id", "beneficiary", "target_label", "state", "expires_at")
    list_filter = ("state", "source")
    search_fields = ("beneficiary__email", "target_label", "public_id")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("seq", "at", "actor_label", "action", "target_label")
    list_filter = ("action",)
    search_fields = ("actor_label", "target_label", "action")


admin.site.register(UserAuthorization, UserAuthorizationAdmin)


# After use: written only by their services (which audit every step); the admin shows them.
@admin.register(Attestation)
class AttestationAdmin(ReadOnlyAdmin):
    list_display = ("elevation", "required", "due_at", "attested_at", "blocks_requests")
    list_filter = ("required", "blocks_requests")
    search_fields = ("elevation__beneficiary__email", "text", "ticket_ref")


@admin.register(ReviewItem)
class ReviewItemAdmin(ReadOnlyAdmin):
    list_display = ("elevation", "origin", "status", "decided_by", "created_at")
    list_filter = ("origin", "status")
    search_fields = ("elevation__beneficiary__email", "comment", "raised_comment")


@admin.register(EvidencePack)
class EvidencePackAdmin(ReadOnlyAdmin):
    list_display = ("period_label", "requested_by", "status", "sha256", "created_at")
    list_filter = ("status",)
    search_fields = ("period_label", "requested_by__email", "sha256")


@admin.register(ApiTokenPolicy)
class ApiTokenPolicyAdmin(AuditedAdmin):
    """One row: how long API tokens last (Settings → API tokens uses it)."""

    list_display = ("__str__",)

    def has_add_permission(self, request) -> bool:
        return super().has_add_permission(request) and not ApiTokenPolicy.objects.exists()
