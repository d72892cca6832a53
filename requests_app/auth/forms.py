"""allauth's sign-in form, told whether the local password path is open (break-glass only)."""

from __future__ import annotations

from allauth.account.forms import LoginForm as AllauthLoginForm
from django.conf import settings


class LoginForm(AllauthLoginForm):
    """The page shows SSO first; the password form only when ELEVATE_LOCAL_LOGIN is on."""

    @property
    def local_login_enabled(self) -> bool:
        return settings.ELEVATE_LOCAL_LOGIN

    @property
    def break_glass_only(self) -> bool:
        return settings.ELEVATE_LOCAL_LOGIN_FOR == "break_glass"
