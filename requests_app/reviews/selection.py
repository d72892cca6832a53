"""Which ended elevations go to review, decided deterministically so anyone with the key can
reproduce the decision: the sample draw is HMAC-SHA256(key, public id) read as a fraction."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings

from requests_app.lifecycle import TERMINAL_STATES, State
from requests_app.models import Elevation, ReviewItem

# The end states in which the elevation held admin (activated_at set) and so may be reviewed.
HELD_ADMIN_END_STATES = frozenset({State.REVOKED, State.EXPIRED})
# Origins of the selection when the elevation ends (a manager's item is raised, not selected).
SELECTED_ORIGINS = (ReviewItem.Origin.BREAK_GLASS, ReviewItem.Origin.OVER_THRESHOLD, ReviewItem.Origin.SAMPLE)


@dataclass(frozen=True)
class Decision:
    origin: str | None  # None: not reviewed
    score: float  # the sample draw in [0, 1)
    percent: int


def sample_score(public_id, key: str | None = None) -> float:
    """The elevation's draw in [0, 1): the first 8 bytes of HMAC-SHA256(key, str(public_id))."""
    key = settings.ELEVATE_REVIEW_SAMPLE_KEY if key is None else key
    digest = hmac.new(key.encode(), str(public_id).encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def decide(elevation: Elevation, *, percent: int | None = None) -> Decision:
    """Why `elevation` is reviewed, if it is; it must have ended."""
    percent = settings.ELEVATE_REVIEW_SAMPLE_PERCENT if percent is None else percent
    score = sample_score(elevation.public_id)
    if elevation.state not in TERMINAL_STATES:
        return Decision(None, score, percent)
    if elevation.break_glass:
        return Decision(ReviewItem.Origin.BREAK_GLASS, score, percent)
    if elevation.state not in HELD_ADMIN_END_STATES or elevation.activated_at is None:
        return Decision(None, score, percent)
    threshold = elevation.policy.review_over_minutes if elevation.policy else None
    if threshold and elevation.total_minutes > threshold:
        return Decision(ReviewItem.Origin.OVER_THRESHOLD, score, percent)
    if score < percent / 100:
        return Decision(ReviewItem.Origin.SAMPLE, score, percent)
    return Decision(None, score, percent)
