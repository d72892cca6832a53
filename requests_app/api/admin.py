"""Admins see every API token and may revoke any; nobody edits one (the secret is not kept)."""

from __future__ import annotations

from django.contrib import admin, messages

from requests_app.api.tokens import token_revoke
from requests_app.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "scopes", "created_at", "expires_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "user__email")
    readonly_fields = [f.name for f in ApiToken._meta.fields if f.name != "token_hash"]
    exclude = ("token_hash",)
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False  # created by their owner on Settings → API tokens, where the secret is shown once

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoked, not deleted: the audit trail points at it

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset.filter(revoked_at=None):
            token_revoke(token=token, actor=request.user)
        messages.success(request, "Revoked.")
