"""Reads for the helpdesk console. Helpdesk sees everything, so the getters only 404 on absence."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from requests_app.lifecycle import LIVE_STATES
from requests_app.models import Device, Elevation, User

SEARCH_LIMIT = 25


def _elevations() -> QuerySet[Elevation]:
    return Elevation.objects.select_related("device", "connection", "beneficiary", "requester")


def live_elevations() -> QuerySet[Elevation]:
    return _elevations().filter(state__in=LIVE_STATES).order_by("expires_at")


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


def usable_devices(user: User) -> QuerySet[Device]:
    return Device.objects.filter(users=user, removed_at=None, connection__enabled=True).order_by("hostname")
