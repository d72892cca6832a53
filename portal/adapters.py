"""allauth adapters: nobody signs up by themselves; SSO users arrive with the employee role.

Local passwords are policed by requests_app.auth.backends (break-glass only, switchable off);
roles from the IdP's groups claim by requests_app.auth.sso on every sign-in.
"""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter, get_adapter
from django.conf import settings
from django.urls import reverse

from requests_app.permissions import ACT_FOR_OTHERS, APPROVE, VIEW_AUDIT

# Where each role's work is, first match wins: after signing in without a page to go back to.
LANDING_PAGES = (
    (ACT_FOR_OTHERS, "helpdesk:console"),
    (VIEW_AUDIT, "auditing:dashboard"),
    (APPROVE, "approvals:queue"),
)


def landing_url(user) -> str:
    """The page a user starts on: their role's work, else their own elevations."""
    for permission, url_name in LANDING_PAGES:
        if user.has_perm(permission):
            return reverse(url_name)
    return reverse(settings.LOGIN_REDIRECT_URL)


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        # Accounts come from SSO (or the admin); there is no public sign-up form.
        return False

    def get_login_redirect_url(self, request) -> str:
        return landing_url(request.user)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin) -> bool:
        # The identity provider already decided who may sign in.
        return True

    def save_user(self, request, sociallogin, form=None):
        from django.contrib.auth.models import Group

        from requests_app.roles import ensure_roles

        user = super().save_user(request, sociallogin, form)
        ensure_roles()
        user.groups.add(*Group.objects.filter(name__in=settings.ELEVATE_SSO_DEFAULT_ROLES))
        return user

    def on_authentication_error(self, request, provider, error=None, exception=None, extra_context=None):
        # A refused SSO sign-in (wrong client, state mismatch, IdP error) is worth an audit line.
        from requests_app import audit

        audit.record(
            "auth.sign_in_refused",
            target=None,
            after={
                "provider": getattr(provider, "id", str(provider)),
                "error": str(error or ""),
                "detail": str(exception or "")[:200],
            },
        )


def sso_apps(request) -> list:
    """The configured single sign-on applications (settings and admin), for buttons and step-up."""
    return [app for app in get_adapter().list_apps(request) if app.provider == "openid_connect"]


def local_login_enabled() -> bool:
    return settings.ELEVATE_LOCAL_LOGIN
