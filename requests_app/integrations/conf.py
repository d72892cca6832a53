"""Settings of the integrations, each overridable in Django settings or by the same-named env var."""

from __future__ import annotations

from django.conf import settings

from portal.env import env_int

DEFAULTS = {
    # How long an approve/deny link in an e-mail or Slack message stays usable.
    "ELEVATE_APPROVAL_LINK_MAX_AGE_SECONDS": lambda: env_int("ELEVATE_APPROVAL_LINK_MAX_AGE_SECONDS", 24 * 3600),
    # How long the one-click extend link of an expiry reminder stays usable.
    "ELEVATE_EXTEND_LINK_MAX_AGE_SECONDS": lambda: env_int("ELEVATE_EXTEND_LINK_MAX_AGE_SECONDS", 12 * 3600),
    # Warn admins this many days before a Jira API token expires (tokens last at most a year).
    "ELEVATE_JIRA_TOKEN_WARN_DAYS": lambda: env_int("ELEVATE_JIRA_TOKEN_WARN_DAYS", 30),
    # Jira intake throttles (calls per minute): per source address before authentication, per
    # connection after it (a looping Automation rule). 0 switches one off.
    "ELEVATE_JIRA_INTAKE_PER_ADDRESS_PER_MINUTE": lambda: env_int("ELEVATE_JIRA_INTAKE_PER_ADDRESS_PER_MINUTE", 60),
    "ELEVATE_JIRA_INTAKE_PER_CONNECTION_PER_MINUTE": lambda: env_int(
        "ELEVATE_JIRA_INTAKE_PER_CONNECTION_PER_MINUTE", 120
    ),
    # Give up on a notification or Jira comment after this many attempts.
    "ELEVATE_NOTIFY_MAX_ATTEMPTS": lambda: env_int("ELEVATE_NOTIFY_MAX_ATTEMPTS", 8),
    # A role that needs MFA acts from Slack only this long after an MFA sign-in to the portal.
    "ELEVATE_SLACK_MFA_MAX_AGE_SECONDS": lambda: env_int("ELEVATE_SLACK_MFA_MAX_AGE_SECONDS", 8 * 3600),
}


def setting(name: str) -> int:
    if hasattr(settings, name):
        return getattr(settings, name)
    return DEFAULTS[name]()
