"""allauth adapters: nobody signs up by themselves; local passwords can be switched off."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        # Accounts come from SSO (or the admin); there is no public sign-up form.
        return False


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin) -> bool:
        # The identity provider already decided who may sign in.
        return True


def local_login_enabled() -> bool:
    return settings.ELEVATE_LOCAL_LOGIN
