"""Sends helpdesk and admin users without MFA to set it up before they use a staff page, or
before they read or act on someone else's elevation anywhere else (a view lets
SecondFactorRequired propagate)."""

from __future__ import annotations

from django.conf import settings

from requests_app.auth.mfa import mfa_setup_redirect
from requests_app.errors import SecondFactorRequired
from requests_app.permissions import needs_mfa_setup


class StaffMfaMiddleware:
    """Guards the staff areas (ELEVATE_MFA_REQUIRED_PATHS) for the roles that need MFA.

    A path prefix rather than a decorator so the Django admin is covered too. Sign-in, sign-out
    and the MFA pages themselves live under /accounts/ and stay reachable.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and request.path.startswith(tuple(settings.ELEVATE_MFA_REQUIRED_PATHS))
            # Sign-in, sign-out and the MFA set-up itself stay open, even with "/" guarded.
            and not request.path.startswith(("/accounts/", "/" + settings.STATIC_URL.lstrip("/")))
            and needs_mfa_setup(user)
        ):
            return mfa_setup_redirect(request)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, SecondFactorRequired):
            return mfa_setup_redirect(request)
        return None
