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

import functools
import json
from typing import Any

from django.db import models, transaction

from requests_app import audit
from requests_app.clock import now
from requests_app.errors import InvalidTransition, StaleTransition
from requests_app.models import Elevation
from requests_app.signals import elevation_changed
from requests_app.states import (  # noqa: F401  (the states are read from here too)
    CHANGING_STATES,
    HELD_AT_PROVIDER,
    LIVE_STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    State,
    can_transition,
)


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
            transaction.on_commit(functools.partial(_announce, ids, seen["state"], to, action), robust=True)
    return elevations


# Worker bookkeeping that steps rewrite with plain UPDATEs under their own lease (when to look
# again, how often it failed): a hint, not a fact another change is computed from.
UNCOMPARED_FIELDS = frozenset(
    {"updated_at", "next_attempt_at", "attempts", "last_error", "alerted_at", "revoke_claimed_until"}
)


def _seen_values(elevation: Elevation, fields: dict[str, Any]) -> dict[str, Any]:
    """The values the caller saw of every field it changes: the UPDATE matches only if they still
    hold, so a change computed from a stale read (extensions + 1 twice from 1) loses instead of
    overwriting a committed one."""
    seen: dict[str, Any] = {"state": elevation.state}
    for name in fields:
        if name in UNCOMPARED_FIELDS or name == "state":
            continue
        field = elevation._meta.get_field(name)
        assert isinstance(field, models.Field)  # a column of the elevation, not a reverse relation
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
    elevation_changed.send(
        sender=State, elevation_ids=elevation_ids, from_state=from_state, to_state=to_state, action=action
    )
