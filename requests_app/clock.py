"""The one clock. Tests move time with `clock.travel(...)` instead of sleeping."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta

from django.utils import timezone

_offset = timedelta(0)
_frozen: datetime | None = None


def now() -> datetime:
    if _frozen is not None:
        return _frozen
    return timezone.now() + _offset


def set_offset(offset: timedelta) -> None:
    global _offset
    _offset = offset


def freeze(at: datetime | None) -> None:
    global _frozen
    _frozen = at


@contextmanager
def travel(delta: timedelta):
    """Shift the clock by `delta` for the duration of the block."""
    global _offset
    previous = _offset
    _offset = previous + delta
    try:
        yield
    finally:
        _offset = previous
