"""Why a user has no account on a provider, kept for the request page to say so.

The identity lookup runs in the sign-in sync (a Celery task) where nobody sees its errors; the
last refusal per user and connection is kept in the cache until a lookup succeeds.
"""

from __future__ import annotations

from django.core.cache import cache

KEEP_SECONDS = 7 * 24 * 3600


def _key(user_id: int, connection_id: int) -> str:
    return f"identity-problem:{user_id}:{connection_id}"


def remember(*, user_id: int, connection_id: int, message: str) -> None:
    cache.set(_key(user_id, connection_id), message, KEEP_SECONDS)


def forget(*, user_id: int, connection_id: int) -> None:
    cache.delete(_key(user_id, connection_id))


def for_user(user_id: int, connection_ids: list[int]) -> list[str]:
    """The remembered problems of this user on these connections, in connection order."""
    found = cache.get_many([_key(user_id, pk) for pk in connection_ids])
    return [found[_key(user_id, pk)] for pk in connection_ids if _key(user_id, pk) in found]
