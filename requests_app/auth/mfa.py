"""Where a staff member without the second factor their role needs is sent (the rule itself is
requests_app.permissions.needs_mfa_setup / needs_mfa_for)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect


def mfa_setup_redirect(request):
    """To the MFA overview (TOTP or a security key), back to where they were going afterwards."""
    messages.warning(
        request, "Your role needs two-factor authentication: add an authenticator app or a security key first."
    )
    url = reverse("mfa_index")
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)
