"""Who is who: portal users and Slack users, matched by verified e-mail address; and whether a
role that needs MFA signed in with it recently enough to act from Slack."""

from __future__ import annotations

from datetime import timedelta

from allauth.mfa.models import Authenticator

from requests_app import permissions
from requests_app.clock import now
from requests_app.integrations.conf import setting
from requests_app.integrations.slack_app.client import SlackWebClient
from requests_app.integrations.slack_app.models import SlackApp, SlackUser
from requests_app.models import User


def current_app() -> SlackApp | None:
    return SlackApp.objects.filter(enabled=True).first()


def client_of(app: SlackApp) -> SlackWebClient:
    return SlackWebClient(app.api_url, app.bot_token)


def slack_id_for(user: User, app: SlackApp) -> str | None:
    """The user's Slack id: known, else looked up by their e-mail (None: not in the workspace)."""
    known = SlackUser.objects.filter(user=user).values_list("slack_id", flat=True).first()
    if known:
        return known
    found = client_of(app).lookup_by_email(user.email)
    if found is None or found.get("deleted") or found.get("is_bot"):
        return None
    SlackUser.objects.update_or_create(user=user, defaults={"slack_id": found["id"], "found_at": now()})
    return found["id"]


def user_for(slack_id: str, app: SlackApp) -> User | None:
    """The portal user behind a Slack id: known, else by the Slack profile's confirmed e-mail."""
    known = SlackUser.objects.filter(slack_id=slack_id, user__is_active=True).select_related("user").first()
    if known:
        return known.user
    profile = client_of(app).user_info(slack_id)
    email = (profile.get("profile") or {}).get("email", "")
    if not email or profile.get("deleted") or profile.get("is_bot") or profile.get("is_email_confirmed") is False:
        return None
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    if user is not None:
        SlackUser.objects.update_or_create(user=user, defaults={"slack_id": slack_id, "found_at": now()})
    return user


def recent_mfa(user: User) -> bool:
    """A second factor was used to sign in to the portal within the allowed age."""
    since = now() - timedelta(seconds=setting("ELEVATE_SLACK_MFA_MAX_AGE_SECONDS"))
    return Authenticator.objects.filter(
        user=user, type__in=permissions.SECOND_FACTORS, last_used_at__gte=since
    ).exists()


def needs_portal(user: User) -> bool:
    """Staff roles act from Slack only after a recent MFA sign-in; otherwise in the portal."""
    return permissions.mfa_required_for(user) and not recent_mfa(user)
