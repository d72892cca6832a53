"""Helpdesk-only writes that the core services do not cover."""

from __future__ import annotations

from django.db import transaction

from requests_app import audit, permissions, policy
from requests_app.errors import NotAllowed, PolicyViolation
from requests_app.models import Elevation, User


def elevation_mark_reviewed(*, elevation: Elevation, reviewer: User, note: str) -> Elevation:
    """Close the review of a break-glass elevation: someone other than who started it signs off."""
    if not permissions.may_break_glass(reviewer):
        raise NotAllowed("Only admins review break-glass elevations.")
    note = policy.check_reason(note)
    with transaction.atomic():
        current = Elevation.objects.select_for_update().get(pk=elevation.pk)
        if not current.needs_review:
            raise PolicyViolation("This elevation was already reviewed.")
        if reviewer.pk in (current.requester_id, current.beneficiary_id):
            raise NotAllowed("Someone other than the people involved must review a break-glass elevation.")
        Elevation.objects.filter(pk=current.pk).update(needs_review=False)
        elevation.needs_review = False
        audit.record(
            "elevation.reviewed",
            actor=reviewer,
            target=elevation,
            elevation=elevation,
            before={"needs_review": True},
            after={"needs_review": False},
            reason=note,
        )
    return elevation
