"""The one-click "this looks wrong" link of a manager's digest.

Signed with its own salt and an age limit, bound to the manager it was sent to and naming one
elevation. Following it still needs signing in as that manager; it opens a page whose one
button posts, and `review_raise` decides (once per elevation).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "elevate.reviews.raise"
MAX_AGE_SECONDS = 30 * 24 * 3600  # a digest is read within the month it was sent


class LinkInvalid(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class RaiseLink:
    elevation_public_id: str
    manager_id: int


def make_raise_link(*, elevation, manager) -> str:
    token = signing.dumps({"e": str(elevation.public_id), "u": manager.pk}, salt=SALT, compress=True)
    return settings.ELEVATE_BASE_URL + reverse("reviews:raise", args=[token])


def read_raise_link(token: str) -> RaiseLink:
    try:
        payload = signing.loads(token, salt=SALT, max_age=MAX_AGE_SECONDS)
        return RaiseLink(str(payload["e"]), int(payload["u"]))
    except signing.SignatureExpired:
        raise LinkInvalid("This link has expired. Tell the auditors what looks wrong directly.") from None
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise LinkInvalid("This link is not valid (it may have been cut short).") from None
