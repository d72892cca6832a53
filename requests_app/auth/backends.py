"""Password sign-in is the break-glass path: switchable off, and limited to break-glass admins."""

from __future__ import annotations

from allauth.account.auth_backends import AuthenticationBackend
from django.conf import settings


def local_login_allowed_for(user) -> bool:
    """May `user` sign in with a local password under the current settings?"""
    if not settings.ELEVATE_LOCAL_LOGIN:
        return False
    if settings.ELEVATE_LOCAL_LOGIN_FOR == "everyone":
        return True
    return user.is_superuser or user.has_perm("requests_app.break_glass")


class PortalAuthenticationBackend(AuthenticationBackend):
    """allauth's backend (e-mail + password, permissions) with the local-login policy on top.

    Every password check goes through here: allauth's sign-in form, the admin's login form and
    re-authentication. SSO sign-ins never call `authenticate`, so they are not affected.
    """

    def authenticate(self, request, **credentials):
        user = super().authenticate(request, **credentials)
        if user is not None and not local_login_allowed_for(user):
            return None  # the same answer as a wrong password: no account enumeration
        return user
