"""The "Test connection" admin action: what works with this connection, check by check.

Works for every provider kind (each implements `test_connection`). The API key never appears:
providers do not put it in their messages, and anything that looks like it is masked anyway.
"""

from __future__ import annotations

from django.contrib import admin, messages

from requests_app import audit
from requests_app.providers.base import ProviderError


def _masked(text: str, secret: str) -> str:
    return text.replace(secret, "••••••") if secret else text


@admin.action(description="Test connection (reports what works)")
def test_connection(modeladmin, request, queryset) -> None:
    for connection in queryset:
        secret = connection.secret or ""
        try:
            checks = connection.provider.test_connection()
        except (ProviderError, ValueError) as exc:
            modeladmin.message_user(request, f"{connection.name}: {_masked(str(exc), secret)}", messages.ERROR)
            continue
        for check in checks:
            status = "works" if check.ok else "FAILS"
            text = f"{connection.name} — {check.name}: {status}. {_masked(check.detail, secret)}".strip()
            modeladmin.message_user(request, text, messages.SUCCESS if check.ok else messages.ERROR)
        audit.record(
            "config.providerconnection.tested",
            actor=request.user,
            target=connection,
            after={"checks": {check.name: check.ok for check in checks}},
        )
