"""A fixed-window request counter in the shared cache (Redis in production): enough to stop a
runaway caller without holding anything in the database."""

from __future__ import annotations

import time

from django.core.cache import cache


def over_limit(key: str, limit: int, window_seconds: int) -> int | None:
    """Count one call against `key`; the seconds until the window ends when over `limit`, else None.

    A limit of 0 switches the throttle off.
    """
    if limit <= 0:
        return None
    window = int(time.time()) // window_seconds
    bucket = f"throttle:{key}:{window}"
    cache.add(bucket, 0, window_seconds + 1)
    try:
        count = cache.incr(bucket)
    except ValueError:  # expired between add and incr: this call opens the next window
        cache.add(bucket, 1, window_seconds + 1)
        count = 1
    if count <= limit:
        return None
    return max(1, (window + 1) * window_seconds - int(time.time()))
