"""Calls per token (ELEVATE_API_RATE), counted in the shared cache (Redis outside development)."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class PerTokenThrottle(SimpleRateThrottle):
    scope = "token"

    def get_rate(self) -> str | None:
        return settings.ELEVATE_API_RATE  # read per call, so a changed setting applies at once

    def get_cache_key(self, request, view):
        if request.auth is None:
            return None  # refused before any work: 401
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}
