"""Reads of attestations: what a person is asked for, what is overdue, what blocks a request."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from requests_app.clock import now
from requests_app.lifecycle import State
from requests_app.models import Attestation, Elevation, User

# The end states of an elevation that held admin (activated_at set): only these are attested.
ENDED_WITH_ADMIN = frozenset({State.REVOKED, State.EXPIRED})


def ended_with_admin(elevation: Elevation) -> bool:
    return elevation.state in ENDED_WITH_ADMIN and elevation.activated_at is not None


def _open() -> QuerySet[Attestation]:
    return Attestation.objects.filter(attested_at__isnull=True).select_related(
        "elevation__beneficiary", "elevation__device"
    )


def asked_of(user: User) -> list[Attestation]:
    """What `user` is asked to attest: every open required one, and optional ones until due."""
    current = now()
    return list(
        _open().filter(elevation__beneficiary=user).filter(Q(required=True) | Q(due_at__gt=current)).order_by("due_at")
    )


def overdue() -> QuerySet[Attestation]:
    """Required attestations past their due time, oldest first (the helpdesk list)."""
    return _open().filter(required=True, due_at__lte=now()).order_by("due_at")


def blocking_overdue(user: User) -> list[Attestation]:
    """Overdue attestations of `user` whose policy refuses new requests until they are given."""
    return list(overdue().filter(elevation__beneficiary=user, blocks_requests=True))


def attestation_of(elevation: Elevation) -> Attestation | None:
    return Attestation.objects.filter(elevation=elevation).select_related("attested_by").first()
