"""Reads. The `_for_user` getters are the single authorisation choke point: an object the user
may not see raises Http404, exactly as if it did not exist (no IDOR by guessing ids)."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet, Window
from django.http import Http404
from django.utils import timezone

from requests_app.lifecycle import LIVE_STATES, TERMINAL_STATES, State
from requests_app.models import Device, Elevation, Heartbeat, User
from requests_app.prepared import PreparedQuery


def _with_relations(queryset: QuerySet[Elevation]) -> QuerySet[Elevation]:
    return queryset.select_related("device", "connection", "beneficiary", "requester")


def can_see_all(user: User) -> bool:
    return user.has_perm("requests_app.act_for_others") or user.has_perm("requests_app.view_audit")


def elevations_visible_to(user: User) -> QuerySet[Elevation]:
    queryset = Elevation.objects.all()
    if not can_see_all(user):
        queryset = queryset.filter(Q(beneficiary=user) | Q(requester=user) | Q(approvals__approver=user)).distinct()
    return _with_relations(queryset)


def elevation_for_user(*, public_id, user: User) -> Elevation:
    """The elevation if `user` may see it (own, helpdesk/auditor, or an approver of it), else 404."""
    elevation = elevations_visible_to(user).filter(public_id=public_id).first()
    if elevation is None:
        from requests_app.services import may_approve

        candidate = _with_relations(Elevation.objects.filter(public_id=public_id, state=State.PENDING_APPROVAL)).first()
        if candidate is not None and may_approve(user, candidate):
            return candidate
        raise Http404("No such elevation.")
    return elevation


def my_live_elevations(user: User) -> list[Elevation]:
    """Active first, then the ones still on their way (approval, queue, granting), each by expiry.
    Sorted here (a person has a handful): a CASE in ORDER BY took longer to build than the query
    to run. No related rows: "My elevations" takes them from what its request form loaded
    (views._live_rows_and_form)."""
    return sorted(_LIVE(user_id=user.pk), key=lambda elevation: elevation.state != State.ACTIVE)


_LIVE = PreparedQuery(
    lambda user_id: Elevation.objects.filter(beneficiary_id=user_id, state__in=LIVE_STATES).order_by("expires_at"),
    user_id=int,
)


HISTORY_FIELDS = (
    *("public_id", "device", "target_label", "target_ref", "reason", "state", "total_minutes"),
    *("activated_at", "ended_at", "updated_at"),
)


def my_history(user: User) -> QuerySet[Elevation]:
    """Newest first, from the partial index elev_beneficiary_history, with the columns the
    history table shows (decoding all of them cost as much as running the query). No device:
    "My elevations" takes them from what its request form loaded (views._share_devices)."""
    return _history(user.pk)


def _history(user_id) -> QuerySet[Elevation]:
    return (
        Elevation.objects.filter(beneficiary_id=user_id, state__in=TERMINAL_STATES)
        .only(*HISTORY_FIELDS)
        .order_by("-updated_at")
    )


def my_history_page(user: User, start: int, size: int) -> list[Elevation]:
    """my_history()[start:start + size], each row carrying the total (COUNT(*) OVER ())."""
    return _HISTORY_PAGE(start, size, user_id=user.pk)


_HISTORY_PAGE = PreparedQuery(
    lambda start, size, user_id: _history(user_id).annotate(total=Window(Count("pk")))[start : start + size],
    user_id=int,
)


def devices_for_user(user: User) -> QuerySet[Device]:
    return _devices(user.pk)


def my_devices(user: User) -> list[Device]:
    """devices_for_user(), run: the request form's list on every page."""
    return _DEVICES(user_id=user.pk)


def _devices(user_id) -> QuerySet[Device]:
    return (
        Device.objects.filter(users=user_id, removed_at=None, connection__enabled=True)
        .select_related("connection")
        .order_by("hostname")
    )


_DEVICES = PreparedQuery(_devices, user_id=int)


def device_for_user(*, public_id, user: User) -> Device:
    device = devices_for_user(user).filter(public_id=public_id).first()
    if device is None:
        raise Http404("No such device.")
    return device


def sweep_heartbeat_age() -> float | None:
    """Seconds since the sweep last ran, or None if it never did."""
    beat = Heartbeat.objects.filter(name="sweep").first()
    if beat is None:
        return None
    return (timezone.now() - beat.beat_at).total_seconds()
