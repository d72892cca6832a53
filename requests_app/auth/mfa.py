"""MFA is required for the staff roles: without it they are sent to set it up first."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse

SECOND_FACTORS = [Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]


def mfa_required_for(user) -> bool:
    """True when one of the user's roles needs MFA (superusers count as admins)."""
    if not user.is_authenticated:
        return False
    return user.has_role(*settings.ELEVATE_MFA_REQUIRED_ROLES)


def needs_mfa_setup(user) -> bool:
    # The second factor first: staff who have one (nearly every staff page view) need one
    # query, not two; the roles are only looked up for someone without.
    return user.is_authenticated and not is_mfa_enabled(user, SECOND_FACTORS) and mfa_required_for(user)


def needs_mfa_to_act_on(user, elevation) -> bool:
    """Helpdesk acting on someone else's elevation from its own page (a URL owners share, so no
    ELEVATE_MFA_REQUIRED_PATHS prefix can guard it) needs MFA as the console does; their own
    elevations do not."""
    return user.pk not in (elevation.beneficiary_id, elevation.requester_id) and needs_mfa_setup(user)


def mfa_setup_redirect(request):
    """To the MFA overview (TOTP or a security key), back to where they were going afterwards."""
    messages.warning(
        request, "Your role needs two-factor authentication: add an authenticator app or a security key first."
    )
    url = reverse("mfa_index")
    if request.htmx:
        from django_htmx.http import HttpResponseClientRedirect

        return HttpResponseClientRedirect(url)
    return redirect(url)
