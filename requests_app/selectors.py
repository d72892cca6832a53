"""Reads. The `_for_user` getters are the single authorisation choke point: an object the user
may not see raises Http404, exactly as if it did not exist (no IDOR by guessing ids)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from requests_app import permissions
from requests_app.lifecycle import LIVE_STATES, TERMINAL_STATES, State
from requests_app.models import Device, Elevation, Heartbeat, User


def _with_relations(queryset: QuerySet[Elevation]) -> QuerySet[Elevation]:
    return queryset.select_related("device", "connection", "beneficiary", "requester")


def elevation_for_user(*, public_id, user: User) -> Elevation:
    """The elevation if `user` may see it (permissions.may_view), else 404, exactly as if it did
    not exist. SecondFactorRequired when it is someone else's and their role needs MFA first."""
    elevation = _with_relations(Elevation.objects.filter(public_id=public_id)).first()
    if elevation is None or not permissions.may_view(user, elevation):
        raise Http404("No such elevation.")
    permissions.check_mfa_for(user, elevation)
    return elevation


def my_live_elevations(user: User) -> list[Elevation]:
    """Active first, then the ones still on their way (approval, queue, granting), each by expiry.
    Sorted here (a person has a handful): a CASE in ORDER BY took longer to build than the query
    to run. No related rows: "My elevations" takes them from what its request form loaded
    (views._live_rows_and_form)."""
    live = Elevation.objects.filter(beneficiary_id=user.pk, state__in=LIVE_STATES).order_by("expires_at")
    return sorted(live, key=lambda elevation: elevation.state != State.ACTIVE)


HISTORY_FIELDS = (
    *("public_id", "device", "target_label", "target_ref", "reason", "state", "total_minutes"),
    *("ended_at", "updated_at"),
)


def my_history(user: User) -> QuerySet[Elevation]:
    """Newest first, from the partial index elev_beneficiary_history, with the columns the
    history table shows (decoding all of them cost as much as running the query). No device:
    "My elevations" takes them from what its request form loaded (views._share_devices)."""
    return (
        Elevation.objects.filter(beneficiary_id=user.pk, state__in=TERMINAL_STATES)
        .only(*HISTORY_FIELDS)
        .order_by("-updated_at")
    )


def devices_for_user(user: User) -> QuerySet[Device]:
    """The devices `user` may ask for admin on: theirs, still listed, on an enabled connection."""
    return (
        Device.objects.filter(users=user.pk, removed_at=None, connection__enabled=True)
        .select_related("connection")
        .order_by("hostname")
    )


def sweep_heartbeat_age() -> float | None:
    """Seconds since the sweep last ran, or None if it never did."""
    beat = Heartbeat.objects.filter(name="sweep").first()
    if beat is None:
        return None
    return (timezone.now() - beat.beat_at).total_seconds()
