"""The audit trail's writer (append-only, hash-chained); the tables are models/audit_trail.py,
the auditor's side (verify, dashboard, export) is the auditing package.

`record()` is the only writer. Who did it, from which IP and user agent, comes from the
request context the middleware sets, or from `acting_as()` in tasks and commands.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.db import IntegrityError, models, transaction

from requests_app.clock import now
from requests_app.models import AuditChainHead, AuditEvent

GENESIS = "0" * 64


@dataclass(frozen=True)
class RequestContext:
    ip: str | None = None
    user_agent: str = ""
    actor: Any = None
    label: str = ""


_SYSTEM = RequestContext(label="system")
_context: ContextVar[RequestContext | None] = ContextVar("audit_context", default=None)


@contextmanager
def acting_as(context: RequestContext) -> Iterator[None]:
    token = _context.set(context)
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> RequestContext:
    return _context.get() or _SYSTEM


def canonical(fields: dict[str, Any]) -> str:
    """The exact text that is hashed: sorted keys, no spaces, ISO times."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)


def event_content(event) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": event.at.astimezone(UTC).isoformat(),
        "actor": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "target_label": event.target_label,
        "elevation": event.elevation_id,
        "before": event.before,
        "after": event.after,
        "reason": event.reason,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "prev_hash": event.prev_hash,
    }


def event_hash(event) -> str:
    return hashlib.sha256(canonical(event_content(event)).encode()).hexdigest()


@functools.lru_cache(maxsize=4096)
def clean_ip(value: str | None) -> str | None:
    """The address as PostgreSQL's inet gives it back (so the hash survives the round trip);
    None for anything that is not an address (a forged X-Forwarded-For must not fail a write)."""
    try:
        address = ipaddress.ip_address((value or "").strip().split("%")[0])
    except ValueError:
        return None
    return str(address)


def _target_fields(target: Any) -> tuple[str, str, str]:
    if target is None:
        return "", "", ""
    if isinstance(target, models.Model):
        ident = getattr(target, "public_id", None) or target.pk
        return target._meta.model_name or "", str(ident), str(target)[:255]
    return type(target).__name__, "", str(target)[:255]


@dataclass
class EventSpec:
    """One event to append: what `record()` takes, for `record_many()`."""

    action: str
    actor: Any = None
    target: Any = None
    elevation: Any = None
    before: dict | None = None
    after: dict | None = None
    reason: str = ""


def record(
    action: str,
    *,
    actor: Any = None,
    target: Any = None,
    elevation: Any = None,
    before: dict | None = None,
    after: dict | None = None,
    reason: str = "",
):
    """Append one event to the chain (inside the caller's transaction, if any)."""
    spec = EventSpec(action, actor=actor, target=target, elevation=elevation, before=before, after=after, reason=reason)
    return record_many([spec])[0]


def record_many(specs: list[EventSpec]) -> list:
    """Append events to the chain in order, in one insert: the chain head is locked, read and
    moved once for the batch (inside the caller's transaction, if any)."""
    context = current_context()
    at = now().astimezone(UTC)
    # No savepoint inside a caller's transaction (two round trips per audited change): an error
    # here leaves that transaction to roll back whole, and nobody carries on past a failed write.
    with transaction.atomic(savepoint=False):
        head = _lock_head(AuditChainHead)
        seq, prev_hash, events = head.seq, head.hash, []
        for spec in specs:
            actor = spec.actor if spec.actor is not None else context.actor
            if actor is not None and not getattr(actor, "is_authenticated", False):
                actor = None
            target_type, target_id, target_label = _target_fields(spec.target)
            seq += 1
            event = AuditEvent(
                seq=seq,
                at=at,
                actor=actor,
                actor_label=((getattr(actor, "email", "") or str(actor)) if actor else context.label)[:255],
                action=spec.action,
                target_type=target_type,
                target_id=target_id,
                target_label=target_label,
                elevation_id=getattr(spec.elevation, "pk", spec.elevation),
                before=spec.before,
                after=spec.after,
                reason=spec.reason or "",
                ip=clean_ip(context.ip),
                user_agent=(context.user_agent or "")[:400],
                prev_hash=prev_hash,
            )
            event.hash = prev_hash = event_hash(event)
            events.append(event)
        AuditEvent.objects.bulk_create(events)
        AuditChainHead.objects.filter(pk=head.pk).update(seq=seq, hash=prev_hash)
    return events


def _lock_head(model):
    try:
        return model.objects.select_for_update().get(pk=1)
    except model.DoesNotExist:
        try:
            with transaction.atomic():
                model.objects.create(pk=1, seq=0, hash=GENESIS)
        except IntegrityError:
            pass  # another writer created it first
        return model.objects.select_for_update().get(pk=1)
