"""Admins see every employee's SailPoint connection (never a token) and may revoke one."""

from __future__ import annotations

from django.contrib import admin, messages

from requests_app.errors import PortalError
from requests_app.providers.sailpoint.services import user_authorization_revoke


@admin.action(description="Revoke (forget the employee's SailPoint tokens)")
def revoke_authorizations(modeladmin, request, queryset) -> None:
    for authorization in queryset.select_related("connection", "user"):
        try:
            user_authorization_revoke(authorization=authorization, actor=request.user, reason="revoked by an admin")
        except PortalError as exc:
            modeladmin.message_user(request, f"{authorization}: {exc.message}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"{authorization}: revoked", messages.SUCCESS)


class UserAuthorizationAdmin(admin.ModelAdmin):
    list_display = ("user", "connection", "subject_name", "subject_id", "connected_at", "refreshed_at", "revoked_at")
    list_filter = ("connection",)
    search_fields = ("user__email", "subject_id", "subject_name")
    fields = (
        "user",
        "connection",
        "subject_id",
        "subject_name",
        "scope",
        "connected_at",
        "refreshed_at",
        "revoked_at",
        "revoked_by",
        "revoke_reason",
    )
    readonly_fields = fields
    actions = [revoke_authorizations]

    def has_add_permission(self, request):
        return False  # only the employee's own sign-in at SailPoint creates one

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
