"""Request context for the audit trail, and each user's own time zone on screen."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.utils import timezone

from requests_app import audit


def client_ip(request) -> str | None:
    # REMOTE_ADDR is the proxy when ELEVATE_BEHIND_PROXY is set; take the client it forwarded.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR")


class RequestContextMiddleware:
    """Every audit event written while serving a request carries its actor, IP and user agent."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        context = audit.RequestContext(
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            actor=user if user is not None and user.is_authenticated else None,
            label="anonymous",
        )
        with audit.acting_as(context):
            return self.get_response(request)


class UserTimezoneMiddleware:
    """Times are UTC inside; templates render them in the signed-in user's time zone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        name = getattr(user, "timezone", None) if user is not None and user.is_authenticated else None
        try:
            timezone.activate(zoneinfo.ZoneInfo(name)) if name else timezone.deactivate()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    """Send settings.ELEVATE_PERMISSIONS_POLICY as the Permissions-Policy header (Django has no
    setting for it): browser features the portal never uses stay off even if a page were injected."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = settings.ELEVATE_PERMISSIONS_POLICY

    def __call__(self, request):
        response = self.get_response(request)
        if self.policy:
            response.headers.setdefault("Permissions-Policy", self.policy)
        return response
