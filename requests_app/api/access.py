"""Scope checks: each view names the scope it needs (`required_scope`), or a function of the
request (`scope_for`, e.g. own elevation → request, someone else's → helpdesk)."""

from __future__ import annotations

from rest_framework import exceptions, permissions

from requests_app.api.scopes import STAFF_SCOPES, allowed_scopes, has_mfa


def effective_scopes(request) -> set[str]:
    """The token's scopes that its owner still holds (cached on the request)."""
    cached = getattr(request, "_elevate_scopes", None)
    if cached is None:
        cached = set(request.auth.scopes) & allowed_scopes(request.user)
        request._elevate_scopes = cached
    return cached


def require_scope(request, scope: str) -> None:
    """Raise 403 unless the token holds `scope` and its owner still may use it."""
    if scope in effective_scopes(request):
        return
    if scope in request.auth.scopes and scope in STAFF_SCOPES and not has_mfa(request.user):
        raise exceptions.PermissionDenied(f"The {scope} scope needs two-factor authentication on your account.")
    raise exceptions.PermissionDenied(f"This token does not hold the {scope} scope.")


class TokenScopes(permissions.BasePermission):
    """Signed in with a token that holds the view's `required_scope` (checked per object by the
    views that need more, through require_scope)."""

    def has_permission(self, request, view) -> bool:
        if request.user is None or request.auth is None:
            raise exceptions.NotAuthenticated("Send a personal access token: Authorization: Bearer elv_…")
        scope = getattr(view, "required_scope", None)
        if isinstance(scope, dict):  # by method: {"GET": "read", "POST": "request"}
            scope = scope.get(request.method, scope.get("GET"))
        if scope:
            require_scope(request, scope)
        return True
