"""One-click links in notifications: approve, deny, extend.

A link carries a signed token (Django's signing, with its own salt and an age limit), names the
elevation and the action, and usually the one user it was sent to. Following it still requires
signing in, it only opens a confirmation page whose single button posts, and the core service
decides as it would for the web form. A token that was used once is recorded in `UsedLink` and
refused afterwards.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

from requests_app.integrations.conf import setting

SALT = "elevate.integrations.links"
ACTIONS = ("approve", "deny", "extend")


class LinkInvalid(Exception):
    """The link cannot be used; `message` says why in words a person understands."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ActionLink:
    token_id: str
    action: str
    elevation_public_id: str
    user_id: int | None
    minutes: int | None


def link_max_age_seconds(action: str) -> int:
    if action == "extend":
        return setting("ELEVATE_EXTEND_LINK_MAX_AGE_SECONDS")
    return setting("ELEVATE_APPROVAL_LINK_MAX_AGE_SECONDS")


def make_link(*, action: str, elevation, user=None, minutes: int | None = None) -> str:
    """An absolute URL for the action on this elevation, bound to `user` when given."""
    if action not in ACTIONS:
        raise ValueError(action)
    payload = {
        "j": uuid.uuid4().hex,
        "a": action,
        "e": str(elevation.public_id),
        "u": user.pk if user is not None else None,
        "m": minutes,
    }
    token = signing.dumps(payload, salt=SALT, compress=True)
    return settings.ELEVATE_BASE_URL + reverse("integrations:link", args=[token])


def read_link(token: str) -> ActionLink:
    """Check the signature and the age; raise LinkInvalid otherwise."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=None)
        action = payload["a"]
        signing.loads(token, salt=SALT, max_age=link_max_age_seconds(action))
    except signing.SignatureExpired:
        raise LinkInvalid("This link has expired. Open the request in Elevate instead.") from None
    except (signing.BadSignature, KeyError, TypeError):
        raise LinkInvalid("This link is not valid (it may have been cut short).") from None
    if action not in ACTIONS:
        raise LinkInvalid("This link is not valid.")
    return ActionLink(payload["j"], action, payload["e"], payload.get("u"), payload.get("m"))
