"""Reads for the helpdesk console. Helpdesk sees everything, so the getters only 404 on absence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import F, Func, Q, QuerySet, Subquery, prefetch_related_objects
from django.http import Http404

from requests_app.lifecycle import LIVE_STATES
from requests_app.models import Device, Elevation, User
from requests_app.parsing import whole_number

SEARCH_LIMIT = 25
# The console lists live elevations a page at a time: every row carries two forms, so a page of
# all of them (hundreds in a big company) took longer to render than the rest of the page.
LIVE_PAGE_SIZE = 20
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LAST_MICROSECOND = (datetime.max.replace(tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)


def _elevations() -> QuerySet[Elevation]:
    return Elevation.objects.select_related("device", "connection", "beneficiary", "requester")


# What helpdesk/_elevation_rows.html shows, and no more: loading and decoding every column of
# four tables cost more than rendering the rows. A user shows as their name or e-mail (__str__).
_PERSON = ("first_name", "last_name", "email", "username")
ROW_FIELDS = (
    *("public_id", "beneficiary", "requester", "device", "state", "expires_at", "break_glass"),
    *("target_label", "target_ref", "device__public_id", "device__hostname"),
    *(f"beneficiary__{field}" for field in _PERSON),
)


def live_elevations(*, with_requester: bool = True) -> QuerySet[Elevation]:
    """Live elevations with what their rows show (no connection: each joined table adds to
    PostgreSQL's planning time, a large part of this query's). Without the requester, the
    caller gives the rows theirs (share_requesters)."""
    related = ("device", "beneficiary", "requester") if with_requester else ("device", "beneficiary")
    fields = (*ROW_FIELDS, *(f"requester__{field}" for field in _PERSON)) if with_requester else ROW_FIELDS
    return Elevation.objects.select_related(*related).only(*fields).filter(state__in=LIVE_STATES).order_by("expires_at")


def share_requesters(rows: list[Elevation]) -> list[Elevation]:
    """Most people ask for themselves: their requester is the beneficiary already loaded; the
    others' (helpdesk grants) are fetched in one query, and only when the page has some."""
    for elevation in rows:
        if elevation.requester_id == elevation.beneficiary_id:
            elevation.requester = elevation.beneficiary
    prefetch_related_objects(rows, "requester")
    return rows


@dataclass(frozen=True)
class LivePage:
    """One page of live elevations, soonest expiry first, with keyset cursors for its neighbours."""

    rows: list[Elevation]
    total: int  # live elevations in all
    later: str | None  # pass as ?after= for the next page
    sooner: str | None  # pass as ?before= for the previous page


def cursor_of(elevation: Elevation) -> str:
    """A row's place in the (expires_at, id) order, as a URL-safe token."""
    micros = (elevation.expires_at - _EPOCH) // timedelta(microseconds=1)
    return f"{micros}-{elevation.pk}"


def parse_cursor(value: str | None) -> tuple[datetime, int] | None:
    """The (expires_at, id) of a cursor, or None for a missing or malformed one (the first page)."""
    micros, _, pk = (value or "").partition("-")
    offset, row_id = whole_number(micros, maximum=_LAST_MICROSECOND), whole_number(pk)
    if offset is None or row_id is None:
        return None
    return _EPOCH + timedelta(microseconds=offset), row_id


def live_page(*, after: str | None = None, before: str | None = None, size: int = LIVE_PAGE_SIZE) -> LivePage:
    """A page of live elevations by keyset on (expires_at, id): rows expire and new ones arrive all
    the time, so offsets would skip or repeat rows; the partial index elev_live_expiry serves it."""
    sooner, later = parse_cursor(before), parse_cursor(after)
    if sooner is None and later is None:
        # The usual view, in one query: the rows carry the total (an uncorrelated subquery
        # PostgreSQL runs once, from the index).
        first = list(
            live_elevations(with_requester=False)
            .annotate(live_total=_LIVE_TOTAL)
            .order_by("expires_at", "pk")[: size + 1]
        )
        return _forward(first, first[0].live_total if first else 0, size, from_start=True)
    live = live_elevations(with_requester=False)
    total = live.count()
    if sooner is not None:
        at, pk = sooner
        earlier = live.filter(Q(expires_at__lt=at) | Q(expires_at=at, pk__lt=pk))
        rows: list[Elevation] = list(earlier.order_by("-expires_at", "-pk")[: size + 1])
        if len(rows) <= size:  # back at the start (rows before it expired meanwhile): the first page
            return live_page(size=size)
        rows = share_requesters(rows[:size][::-1])
        return LivePage(rows, total, cursor_of(rows[-1]), cursor_of(rows[0]))
    assert later is not None  # one of the two cursors parsed
    at, pk = later
    after_it = live.filter(Q(expires_at__gt=at) | Q(expires_at=at, pk__gt=pk))
    rows = list(after_it.order_by("expires_at", "pk")[: size + 1])
    if not rows:  # everything after it ended meanwhile
        return live_page(size=size)
    return _forward(rows, total, size, from_start=False)


def _forward(rows: Sequence[Elevation], total: int, size: int, *, from_start: bool) -> LivePage:
    """A page read forward: `size` + 1 rows fetched, the extra one saying there are later ones."""
    page = share_requesters(list(rows[:size]))
    later = cursor_of(page[-1]) if len(rows) > size else None
    sooner = cursor_of(page[0]) if page and not from_start else None
    return LivePage(page, total, later, sooner)


_LIVE_TOTAL = Subquery(
    Elevation.objects.filter(state__in=LIVE_STATES).order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")
)


def needing_review() -> QuerySet[Elevation]:
    """Break-glass elevations nobody has reviewed yet, newest first."""
    return _elevations().filter(needs_review=True).order_by("-created_at")


def search_users(query: str) -> QuerySet[User]:
    query = query.strip()
    if not query:
        return User.objects.none()
    return User.objects.filter(
        Q(email__icontains=query) | Q(first_name__icontains=query) | Q(last_name__icontains=query)
    ).order_by("email")[:SEARCH_LIMIT]


def search_devices(query: str) -> QuerySet[Device]:
    query = query.strip()
    if not query:
        return Device.objects.none()
    return (
        Device.objects.filter(
            Q(hostname__icontains=query) | Q(external_id__iexact=query) | Q(users__email__iexact=query)
        )
        .select_related("connection")
        .distinct()
        .order_by("hostname")[:SEARCH_LIMIT]
    )


def user_by_id(user_id: int) -> User:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise Http404("No such user.")
    return user


def device_by_public_id(public_id) -> Device:
    device = Device.objects.select_related("connection").filter(public_id=public_id).first()
    if device is None:
        raise Http404("No such device.")
    return device


def elevation_by_public_id(public_id) -> Elevation:
    elevation = _elevations().filter(public_id=public_id).first()
    if elevation is None:
        raise Http404("No such elevation.")
    return elevation


def live_for_user(user: User) -> QuerySet[Elevation]:
    return live_elevations().filter(beneficiary=user)


def live_for_device(device: Device) -> QuerySet[Elevation]:
    return live_elevations().filter(device=device)
