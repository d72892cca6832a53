"""Reading numbers people (or scripts) put in URLs: page numbers and keyset cursors.

`str.isdigit()` is true for "²" and for a hundred digits alike; `int()` then raises, or a number
too large for the database reaches a query. These readers accept ASCII digits within a bound and
answer None for anything else, so a garbled parameter means "the first page", never a 500.
"""

from __future__ import annotations

BIGINT_MAX = 2**63 - 1  # PostgreSQL bigint: ids, audit sequence numbers, offsets
PAGE_MAX = 1_000_000  # past any real history; Paginator shows the last page for it


def whole_number(value: str | None, *, maximum: int = BIGINT_MAX) -> int | None:
    """A non-negative whole number in ASCII digits, no larger than `maximum`; else None."""
    text = (value or "").strip()
    if not text or not (text.isascii() and text.isdigit()) or len(text) > len(str(maximum)):
        return None
    number = int(text)
    return number if number <= maximum else None


def page_number(value: str | None) -> int | None:
    """A page number as Paginator.get_page() reads it (0 or past the end: the last page), a huge
    one capped at PAGE_MAX; None (the first page) if garbled."""
    text = (value or "").strip()
    if text.isascii() and text.isdigit() and len(text) > len(str(PAGE_MAX)):
        return PAGE_MAX
    return whole_number(text, maximum=PAGE_MAX)
