"""Rendered list rows, cached by what they show (Rails' "collection caching").

A row's key names its content: an audit event's own hash, or a digest of every value a row
shows. So a cached row is never stale and nothing has to invalidate it; a changed row simply
has a new key. The key also holds the viewer's time zone and today's date there (rows show
local times, some as "tomorrow 09:00") and a digest of the row template's source (a deploy
that changes the row re-renders it). Rendering a list row in Django's template language costs
more than fetching it; a page of cached rows is one MGET.

What belongs to one response rather than to the row (a form's CSRF token, the page to return
to) is never cached: the row template writes `{{ fill.<name> }}`, cached as a marker, and
each response puts its own value there.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.core.cache import cache
from django.template import Context
from django.template.loader import get_template
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from redis.exceptions import RedisError

from requests_app.clock import now

logger = logging.getLogger(__name__)
ROW_SECONDS = 3600  # bounds the cache's memory: recent pages are the ones seen again


def content_key(*values: Any) -> str:
    """A key for a row from every value it shows (ids, times, labels, states)."""
    return hashlib.blake2b(repr(values).encode(), digest_size=12).hexdigest()


def cached_rows(
    template_name: str,
    items: Sequence[Any],
    *,
    key: Callable[[Any], str],
    load: Callable[[list[Any]], Iterable[Any]] | None = None,
    fill: dict[str, str] | None = None,
) -> list[SafeString]:
    """The HTML of `template_name` (a partial, which calls its item `row`) for each item, in order.

    `key(item)` must change whenever anything the row shows changes. `load(missing)` turns the
    items whose HTML is not cached into what the template needs (the same order); by default
    the items themselves. Rows render without the request: what depends on the response goes
    in `fill` (plain text, escaped here).
    """
    if not items:
        return []
    template = get_template(template_name).template
    prefix = _prefix(template_name, template)
    keys = [prefix + key(item) for item in items]
    found = _read(keys)
    missing = {k: item for k, item in zip(keys, items, strict=True) if k not in found}
    if missing:
        loaded = load(list(missing.values())) if load else missing.values()
        context = Context({"fill": _markers(fill)}, autoescape=True)
        rendered = {}
        for k, row in zip(missing, loaded, strict=True):
            with context.push(row=row):
                rendered[k] = str(template.render(context))
        _write(rendered)
        found |= rendered
    fills = _fills(fill)
    return [_filled(found[k], fills) for k in keys]


def cached_fragment(template_name: str, *, key: str, context: dict, fill: dict[str, str] | None = None) -> SafeString:
    """One fragment of a page, cached as cached_rows() caches a row: `key` names everything it
    shows, `context` is what it renders from (without the request), `fill` as for rows."""
    template = get_template(template_name).template
    cache_key = _prefix(template_name, template) + key
    html = _read([cache_key]).get(cache_key)
    if html is None:
        html = str(template.render(Context({**context, "fill": _markers(fill)}, autoescape=True)))
        _write({cache_key: html})
    return _filled(html, _fills(fill))


def _prefix(template_name: str, template) -> str:
    local = timezone.localtime(now())
    zone = timezone.get_current_timezone_name()
    return f"row:{template_name}:{_digest(template)}:{zone}:{local.date()}:"


def _markers(fill: dict[str, str] | None) -> dict[str, SafeString]:
    return {field: _marker(field) for field in fill or ()}


def _fills(fill: dict[str, str] | None) -> list[tuple[str, str]]:
    return [(_marker(field), conditional_escape(value)) for field, value in (fill or {}).items()]


def _filled(html: str, fills: list[tuple[str, str]]) -> SafeString:
    for marker, value in fills:
        html = html.replace(marker, value)
    return mark_safe(html)  # noqa: S308 (our own templates' output, values escaped)


def _read(keys: list[str]) -> dict[str, str]:
    """Cached rows; none when the cache is down (the page renders them all, rather than fail)."""
    try:
        return cache.get_many(keys)
    except RedisError as exc:
        logger.warning("row cache unavailable, rendering every row: %s", exc)
        return {}


def _write(rows: dict[str, str]) -> None:
    try:
        cache.set_many(rows, ROW_SECONDS)
    except RedisError as exc:
        logger.warning("row cache unavailable, rows not kept: %s", exc)


def _marker(field: str) -> SafeString:
    return mark_safe(f"<!--fill:{field}-->")  # noqa: S308 (a fixed comment)


@functools.lru_cache(maxsize=64)
def _digest(template) -> str:
    """A short digest of the partial's source. By template object: the cached loader keeps one
    until the source changes (runserver makes a new one then)."""
    return hashlib.blake2b(template.source.encode(), digest_size=6).hexdigest()
