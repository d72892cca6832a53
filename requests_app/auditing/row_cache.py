"""Rendered audit-trail rows, cached under the event's own hash.

An event never changes once written (the table is append-only and hash-chained), so its hash
names everything the row shows; nothing has to invalidate a row. The key's prefix holds what
else the HTML depends on: the release (ELEVATE_RELEASE), the row template's source and the
viewer's time zone (rows show local times). Only our own template's output, rendered with
autoescape on, is ever stored, so only that is marked safe when read back.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.template import Context, Engine
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
ROW_TEMPLATE = "auditing/dashboard.html#audit-event"
ROW_SECONDS = 3600  # bounds the cache's memory: recent pages are the ones seen again


def audit_rows(events: Sequence[dict[str, Any]], *, load: Callable[[list[dict]], Iterable[dict]]) -> list[SafeString]:
    """The HTML of each event's row, in order. `events` carry at least `hash`; `load(missing)`
    returns the full rows (same order) for those not cached."""
    if not events:
        return []
    template = Engine.get_default().get_template(ROW_TEMPLATE)
    prefix = row_key_prefix(template)
    keys = [prefix + event["hash"] for event in events]
    found = _read(keys)
    missing = {key: event for key, event in zip(keys, events, strict=True) if key not in found}
    if missing:
        context = Context(autoescape=True)
        rendered = {}
        for key, row in zip(missing, load(list(missing.values())), strict=True):
            with context.push(row=row):
                rendered[key] = str(template.render(context))
        _write(rendered)
        found |= rendered
    return [mark_safe(found[key]) for key in keys]  # noqa: S308 (our template's escaped output, see above)


def row_key_prefix(template) -> str:
    zone = timezone.get_current_timezone_name()
    return f"audit-row:{settings.ELEVATE_RELEASE}:{_source_digest(template)}:{zone}:"


@functools.lru_cache(maxsize=8)
def _source_digest(template) -> str:
    """By template object: the cached loader keeps one until the source changes."""
    return hashlib.blake2b(template.source.encode(), digest_size=6).hexdigest()


def _read(keys: list[str]) -> dict[str, str]:
    """Cached rows; none when the cache is down (the page renders them all, rather than fail)."""
    try:
        return cache.get_many(keys)
    except RedisError as exc:
        logger.warning("audit row cache unavailable, rendering every row: %s", exc)
        return {}


def _write(rows: dict[str, str]) -> None:
    try:
        cache.set_many(rows, ROW_SECONDS)
    except RedisError as exc:
        logger.warning("audit row cache unavailable, rows not kept: %s", exc)
