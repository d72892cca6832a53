"""Slack's request signature (v0, HMAC-SHA256, slack-app.md §1): a 5-minute window, constant-time
comparison, and each signed request accepted once (a replay within the window is refused)."""

from __future__ import annotations

import hashlib
import hmac

from django.core.cache import cache

WINDOW_SECONDS = 300


def signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str | None, given: str | None, body: bytes, *, now: float) -> bool:
    """True when the request is Slack's, recent, and not seen before."""
    if not secret or not timestamp or not given or not timestamp.isdigit():
        return False
    if abs(now - int(timestamp)) > WINDOW_SECONDS:
        return False
    if not hmac.compare_digest(signature(secret, timestamp, body), given):
        return False
    # Seen once: kept a little longer than the window, so a replay inside it finds the mark.
    return cache.add(f"slack-seen:{given}", 1, timeout=WINDOW_SECONDS * 2)
