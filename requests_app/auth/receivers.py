"""Connects the sign-in and helpdesk receivers (imported once from requests_app/receivers.py)."""

from requests_app.auth import sso, stepup  # noqa: F401
from requests_app.helpdesk import notify  # noqa: F401
