"""The elevation state machine: the states, the allowed moves, and `transition()`, the only writer.

    requested ─┬─> pending_approval ─┬─> approved ──> granting ──> active ──> revoking ─┬─> revoked
               │                     ├─> denied          │           │  ↺ extend        └─> expired
               └─> approved          ├─> cancelled       └─> failed  │           └─> failed
                                     └─> expired (undecided in time) └─> (revoke/expiry)

A grant that may exist at the provider never ends as failed straight away: giving up on a grant
that may have reached the provider goes granting -> revoking (end state failed), and the revoke
step finds and removes whatever was made before the row ends (execution.py). An approved row whose
window ended before any call was made goes to failed directly: nothing was sent.

A transition is a conditional UPDATE on the state the caller saw, so two workers (or a worker
and a person) racing on one row cannot both move it: the loser gets StaleTransition. The audit
event is written in the same transaction, so there is never a state change without its event.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.db import models, transaction

from requests_app.errors import InvalidTransition, StaleTransition

if TYPE_CHECKING:
    from requests_app.models import Elevation


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


def transition(
    elevation: Elevation,
    to: str,
    *,
    actor: Any = None,
    action: str | None = None,
    reason: str = "",
    **fields: Any,
) -> Elevation:
    """Move `elevation` to state `to`, updating `fields` too, and audit it, atomically.

    Raises InvalidTransition when the table forbids the move and StaleTransition when the row
    is no longer in the state the caller loaded (someone else moved it first).
    """
    transition_many([elevation], to, actor=actor, action=action, reason=reason, **fields)
    return elevation


def transition_many(
    elevations: list[Elevation],
    to: str,
    *,
    actor: Any = None,
    action: str | None = None,
    reason: str = "",
    **fields: Any,
) -> list[Elevation]:
    """`transition()` for a batch that makes the same move (10,000 expiries in a minute): one
    UPDATE per state moved from, one chained audit insert, one announcement. All or none: if
    any row is no longer in the state its caller loaded, nothing changes (StaleTransition).
    """
    from requests_app import audit
    from requests_app.clock import now
    from requests_app.models import Elevation

    if not elevations:
        return []
    for elevation in elevations:
        if not can_transition(elevation.state, to):
            raise InvalidTransition(f"An elevation cannot go from {State(elevation.state).label} to {State(to).label}.")
    fields = {**fields, "state": to, "updated_at": now()}
    after = {k: _plain(v) for k, v in fields.items() if k != "updated_at"}
    ids_by_seen: dict[str, tuple[dict[str, Any], list[int]]] = {}
    for elevation in elevations:
        seen = _seen_values(elevation, fields)
        key = json.dumps({k: _plain(v) for k, v in seen.items()}, sort_keys=True, default=str)
        ids_by_seen.setdefault(key, (seen, []))[1].append(elevation.pk)
    events = [
        audit.EventSpec(
            action or f"elevation.{to}",
            actor=actor,
            target=elevation,
            elevation=elevation,
            before={"state": elevation.state, **{k: _plain(getattr(elevation, k)) for k in after if k != "state"}},
            after=after,
            reason=reason,
        )
        for elevation in elevations
    ]
    with transaction.atomic():
        for seen, ids in ids_by_seen.values():
            if Elevation.objects.filter(pk__in=ids, **seen).update(**fields) != len(ids):
                raise StaleTransition(
                    f"The elevation was changed by someone else (it is no longer {State(seen['state']).label.lower()})."
                )
        for elevation in elevations:
            for name, value in fields.items():
                setattr(elevation, name, value)
        audit.record_many(events)
        for seen, ids in ids_by_seen.values():
            transaction.on_commit(lambda ids=ids, seen=seen["state"]: _announce(ids, seen, to, action), robust=True)
    return elevations


# Worker bookkeeping that steps rewrite with plain UPDATEs under their own lease (when to look
# again, how often it failed): a hint, not a fact another change is computed from.
UNCOMPARED_FIELDS = frozenset({"updated_at", "next_attempt_at", "attempts", "last_error", "alerted_at"})


def _seen_values(elevation: Elevation, fields: dict[str, Any]) -> dict[str, Any]:
    """The values the caller saw of every field it changes: the UPDATE matches only if they still
    hold, so a change computed from a stale read (extensions + 1 twice from 1) loses instead of
    overwriting a committed one."""
    seen: dict[str, Any] = {"state": elevation.state}
    for name in fields:
        if name in UNCOMPARED_FIELDS or name == "state":
            continue
        field = elevation._meta.get_field(name)
        value = getattr(elevation, field.attname)
        if value is None and isinstance(field, models.JSONField):
            seen[f"{field.attname}__isnull"] = True
        else:
            seen[field.attname] = value
    return seen


def _plain(value: Any) -> Any:
    """JSON-friendly value for the audit before/after."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, models.Model):
        return str(value.pk)
    return value


def _announce(elevation_ids: list[int], from_state: str, to_state: str, action: str | None) -> None:
    from requests_app.signals import elevation_changed

    elevation_changed.send(
        sender=State, elevation_ids=elevation_ids, from_state=from_state, to_state=to_state, action=action
    )
