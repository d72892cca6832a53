"""The elevation states and the moves the table allows (drawn in lifecycle.py).

Below the models (Elevation's `state` field takes its choices from here) and below lifecycle,
whose `transition()` is the only writer of a state.
"""

from __future__ import annotations

from django.db import models


class State(models.TextChoices):
    REQUESTED = "requested", "Requested"
    PENDING_APPROVAL = "pending_approval", "Awaiting approval"
    APPROVED = "approved", "Queued"
    GRANTING = "granting", "Granting"
    ACTIVE = "active", "Active"
    REVOKING = "revoking", "Revoking"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"
    DENIED = "denied", "Denied"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


S = State
TRANSITIONS: dict[str, frozenset[str]] = {
    S.REQUESTED: frozenset({S.PENDING_APPROVAL, S.APPROVED, S.CANCELLED, S.DENIED}),
    # Self-moves are extensions: the state stays, the expiry moves (and is audited).
    S.PENDING_APPROVAL: frozenset({S.PENDING_APPROVAL, S.APPROVED, S.DENIED, S.CANCELLED, S.EXPIRED}),
    S.APPROVED: frozenset({S.APPROVED, S.GRANTING, S.CANCELLED, S.FAILED}),
    # granting -> revoking: revoked (or expired) while the grant call was still running.
    S.GRANTING: frozenset({S.GRANTING, S.ACTIVE, S.FAILED, S.REVOKING}),
    S.ACTIVE: frozenset({S.ACTIVE, S.REVOKING}),
    # A revoke that fails is retried until it succeeds. Revoking ends in failed only for a grant
    # given up on, once whatever it may have made at the provider is gone.
    S.REVOKING: frozenset({S.REVOKED, S.EXPIRED, S.FAILED}),
    S.REVOKED: frozenset(),
    S.EXPIRED: frozenset(),
    S.DENIED: frozenset(),
    S.CANCELLED: frozenset(),
    S.FAILED: frozenset(),
}

LIVE_STATES = frozenset({S.REQUESTED, S.PENDING_APPROVAL, S.APPROVED, S.GRANTING, S.ACTIVE, S.REVOKING})
TERMINAL_STATES = frozenset(s for s, moves in TRANSITIONS.items() if not moves)
# States in which something may exist at the provider and must be revoked before the row ends.
HELD_AT_PROVIDER = frozenset({S.GRANTING, S.ACTIVE, S.REVOKING})
# States that still change by themselves: the UI keeps polling them.
CHANGING_STATES = frozenset({S.REQUESTED, S.APPROVED, S.GRANTING, S.REVOKING})


def can_transition(from_state: str, to_state: str) -> bool:
    return to_state in TRANSITIONS.get(from_state, frozenset())
