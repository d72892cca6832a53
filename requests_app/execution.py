"""Driving elevations against their providers: the worker-side steps, the sweep, the reconciler.

Every step is idempotent and holds no lock or transaction across a provider call: it claims the
row (committed), calls the provider, and records the outcome in a transaction of its own, on the
condition that the row is still where it left it. The provider reference is stored the moment it
is known, a call that may have reached the provider marks the row `possibly_granted`, and a step
that runs again asks the provider (status / find_grant) before it would act twice. Duplicate
deliveries, crashed workers and lost broker messages therefore all end in the same place, and a
grant that may exist is never left behind: giving up on it goes through find-and-revoke.

The database is the outbox: each row's `next_attempt_at` says when it must be looked at again,
and `sweep()` (beat, every few seconds) drives whatever is due. Celery messages are the fast path.
"""

from __future__ import annotations

import contextvars
import logging
import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone

from requests_app import audit, counters, queueing
from requests_app.clock import now
from requests_app.errors import StaleTransition
from requests_app.lifecycle import State, transition, transition_many
from requests_app.models import Elevation, Heartbeat, ProviderIdentity
from requests_app.providers import gate
from requests_app.providers.base import GrantRequest, GrantResult, GrantStatus, NotFound, ProviderError

log = logging.getLogger(__name__)


# How long a claimed step may run before the sweep assumes its worker died and re-drives it.
def step_lease() -> timedelta:
    return timedelta(seconds=settings.ELEVATE_STEP_LEASE_SECONDS)


# A revoke is one call (plus a search), so a dead worker's revoke is taken over sooner.
def revoke_lease() -> timedelta:
    return timedelta(seconds=min(settings.ELEVATE_STEP_LEASE_SECONDS, settings.ELEVATE_REVOKE_LEASE_SECONDS))


def _within(lease: timedelta) -> float:
    """How long a step's provider calls may take in all (waits and in-place retries included):
    done before its lease runs out, so the sweep never starts a second one beside it."""
    seconds = lease.total_seconds()
    return max(0.8 * seconds, seconds - 5)


# How soon to ask again about an asynchronous grant the provider has accepted but not confirmed.
CONFIRM_POLL = timedelta(seconds=3)
# The longest a failing revoke waits before trying again (unless the provider asks for longer).
REVOKE_RETRY_MAX = 30.0
# A grant is not started with less than this left of its window.
GRANT_MIN_REMAINING = timedelta(seconds=1)
WINDOW_OVER = "the provider could not grant this before its end time"
WORKER = audit.RequestContext(label="worker")


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter, never sooner than the provider's Retry-After."""
    base = settings.ELEVATE_RETRY_BASE_SECONDS
    ceiling = min(settings.ELEVATE_RETRY_MAX_SECONDS, base * 2 ** max(0, attempt - 1))
    delay = random.uniform(base / 2, max(base / 2, ceiling))
    return max(delay, retry_after or 0.0)


def grant_request_for(elevation: Elevation) -> GrantRequest:
    from requests_app.errors import ProviderUnavailable
    from requests_app.services import cached_identity, look_up_identity

    # Read with the row by the grant step (_known_identity), else now. The user row is loaded
    # only when the identity was never looked up (rare: requests do it).
    external_id = getattr(elevation, "known_identity", None)
    if external_id is None:
        try:
            identity = cached_identity(elevation.beneficiary_id, elevation.connection) or look_up_identity(
                user=elevation.beneficiary, connection=elevation.connection
            )
        except ProviderUnavailable as exc:
            raise ProviderError(exc.message, permanent=True) from exc
        external_id = identity.external_id
    target = elevation.device.external_id if elevation.device is not None else elevation.target_ref
    return GrantRequest(
        idempotency_key=str(elevation.public_id),
        user_external_id=external_id,
        target_external_id=target,
        target_kind=elevation.target_kind,
        expires_at=elevation.expires_at,
        reason=elevation.reason,
        without_password=elevation.without_password,
        starts_at=elevation.starts_at,
        options=elevation.target_options or {},
    )


# ---------------------------------------------------------------------------------------------
# Grant
# ---------------------------------------------------------------------------------------------


def grant_step(elevation_id: int) -> float | None:
    """Drive one grant forward. Returns seconds until it should run again, or None when done.

    Claim, call, record: the claim (approved -> granting, with its lease) is committed before the
    provider is called, the call runs outside any transaction, and its outcome is recorded in a
    transaction of its own. A person's revoke or extend therefore never waits on a provider call;
    a revoke that lands meanwhile waits for the call to finish (`grant_claimed_until`) before it
    looks for what the call made. A duplicate delivery finds the claim held and does nothing.
    """
    with audit.acting_as(WORKER):
        elevation = _claim_grant(elevation_id)
        if elevation is None:
            return None
        if elevation.expires_at <= now():
            return _give_up(elevation, WINDOW_OVER)
        try:
            # The claim's lease bounds the step: its calls wait and retry in place within it. So does
            # the window: a grant asked for after its end would be refused (or be admit past it).
            window_left = (elevation.expires_at - now() - GRANT_MIN_REMAINING).total_seconds()
            with gate.urgency(gate.GRANT), gate.step(min(_within(step_lease()), window_left)):
                state, expires_at = _grant_at_provider(elevation)
        except ProviderError as exc:
            return _grant_failed(elevation, exc)
        return _grant_outcome(elevation, state, expires_at)


def _claim_grant(elevation_id: int) -> Elevation | None:
    """Take the row for one provider call (committed); None when it is not ours to drive now."""
    current = now()
    with transaction.atomic():
        elevation = (
            Elevation.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("connection", "device", "beneficiary")  # the audit event names the beneficiary
            .annotate(known_identity=_known_identity())
            .filter(pk=elevation_id, state__in=(State.APPROVED, State.GRANTING))
            .first()
        )
        if elevation is None or elevation.starts_at > current:
            return None  # moved on, held by another step right now, or scheduled for later
        if elevation.grant_claimed_until and elevation.grant_claimed_until > current:
            return None  # another worker is calling the provider for it
        if elevation.state == State.APPROVED and elevation.expires_at <= current:
            # Queued until its window passed (a backlog, an outage): nothing was ever sent.
            _end_failed(elevation, WINDOW_OVER)
            return None
        # The lease covers a status check, a search, a pre-flight and the grant, each bounded by the
        # HTTP timeout; a worker that dies mid-call leaves it to run out, then the sweep re-drives.
        claim: dict[str, Any] = {
            "grant_claimed_until": current + step_lease(),
            "next_attempt_at": current + step_lease(),
        }
        if elevation.state == State.APPROVED:
            transition(elevation, State.GRANTING, **claim)
        else:
            Elevation.objects.filter(pk=elevation.pk).update(**claim)
            for name, value in claim.items():
                setattr(elevation, name, value)
    return elevation


def _known_identity() -> Subquery:
    """The beneficiary's cached provider id (services.cached_identity), as a column of the row."""
    return Subquery(
        ProviderIdentity.objects.filter(user_id=OuterRef("beneficiary_id"), connection_id=OuterRef("connection_id"))
        .order_by()
        .values("external_id")[:1]
    )


class _Polling(ProviderError):
    """Asking about an accepted grant failed: the grant is not in doubt, only its confirmation."""


def _grant_at_provider(elevation: Elevation) -> tuple[str, object]:
    """Ask the provider for the grant: ("active", its expiry) or ("pending", None). No writes but
    the reference, stored the moment it is known, and `possibly_granted` before the call."""
    provider = elevation.connection.provider
    request = grant_request_for(elevation)
    if elevation.provider_ref:
        try:
            status = provider.status(elevation.provider_ref)
        except NotFound:
            status = None
        except ProviderError as exc:
            raise _Polling(
                exc.message,
                permanent=exc.permanent,
                retry_after=exc.retry_after,
                status_code=exc.status_code,
                gated=exc.gated,
            ) from exc
        if status is not None and status.state in ("active", "pending"):
            return status.state, status.expires_at
        # The grant we started is gone (ended or never took): start a fresh one.
    result = provider.find_grant(request) if elevation.possibly_granted or elevation.provider_ref else None
    if result is None:
        _run_preflight(elevation, provider, request)
        result = _grant_call(elevation, provider, request)
    Elevation.objects.filter(pk=elevation.pk).update(provider_ref=result.reference, possibly_granted=True)
    elevation.provider_ref = result.reference
    if not result.confirmed:
        return "pending", None
    return "active", result.expires_at or request.expires_at


def _run_preflight(elevation: Elevation, provider, request: GrantRequest) -> None:
    """The checks the request form runs, when it could not (a slow or rate-limited provider, or a
    request that came another way): never skipped silently. Its notes are shown to the user."""
    if elevation.preflight_checked:
        return
    notes = provider.preflight(request)
    Elevation.objects.filter(pk=elevation.pk).update(notes=notes or elevation.notes, preflight_checked=True)
    elevation.preflight_checked = True


def _grant_call(elevation: Elevation, provider, request: GrantRequest) -> GrantResult:
    """The grant call, marked `possibly_granted` (committed) before it is sent: if this worker dies
    mid-call the row still says a grant may exist. A clear refusal (a 4xx, a 429, a connection
    that never opened) takes the mark back, unless an earlier call set it."""
    if elevation.expires_at <= now() + GRANT_MIN_REMAINING:
        # Waiting for a rate-limited provider used up the window: asking now would be refused.
        raise ProviderError(WINDOW_OVER, permanent=True)
    marked_before = elevation.possibly_granted
    _mark_possibly_granted(elevation)
    try:
        return provider.grant(request)
    except ProviderError as exc:
        if not (exc.may_have_applied or marked_before):
            Elevation.objects.filter(pk=elevation.pk).update(possibly_granted=False)
            elevation.possibly_granted = False
        raise


def _mark_possibly_granted(elevation: Elevation) -> None:
    """A grant may exist: giving up goes through find-and-revoke."""
    if not elevation.possibly_granted:
        Elevation.objects.filter(pk=elevation.pk).update(possibly_granted=True)
        elevation.possibly_granted = True


def _grant_outcome(elevation: Elevation, state: str, expires_at) -> float | None:
    if state == "pending":
        if elevation.expires_at <= now():
            return _give_up(elevation, "the provider did not confirm this grant before its end time")
        _record_grant(elevation, next_attempt_at=now() + CONFIRM_POLL)
        return CONFIRM_POLL.total_seconds()
    try:
        _activate(elevation, expires_at)
    except StaleTransition:
        _after_late_answer(elevation)
    return None


def _record_grant(elevation: Elevation, **fields) -> None:
    """Release the claim, with `fields`, on a row still granting (a revoke may have moved it)."""
    Elevation.objects.filter(pk=elevation.pk, state=State.GRANTING).update(grant_claimed_until=None, **fields)
    Elevation.objects.filter(pk=elevation.pk).exclude(state=State.GRANTING).update(grant_claimed_until=None)


def _after_late_answer(elevation: Elevation) -> None:
    """The grant was made, but the row was revoked (or given up on) meanwhile: release the claim so
    the revoke step, which waits for it, removes what was made."""
    Elevation.objects.filter(pk=elevation.pk).update(grant_claimed_until=None)
    queueing.revoke(elevation.pk)


def _activate(elevation: Elevation, provider_expires_at) -> None:
    transition(
        elevation,
        State.ACTIVE,
        action="elevation.granted",
        activated_at=(activated := now()),
        provider_expires_at=provider_expires_at or elevation.expires_at,
        attempts=0,
        last_error="",
        next_attempt_at=None,
        grant_claimed_until=None,
    )
    counters.observe("grant_seconds", (activated - max(elevation.starts_at, elevation.created_at)).total_seconds())
    queueing.after_commit(queueing.schedule_expiry, elevation)
    if provider_expires_at and provider_expires_at != elevation.expires_at:
        queueing.after_commit(queueing.sync_expiry, elevation.pk)


def _grant_failed(elevation: Elevation, exc: ProviderError) -> float | None:
    # A 429, a paused connection or a failed confirmation poll says nothing about this grant:
    # only real failures of the grant use up its attempts.
    counts = not (exc.rate_limited or isinstance(exc, _Polling))
    attempts = elevation.attempts + int(counts)
    if exc.may_have_applied:
        _mark_possibly_granted(elevation)
    if exc.permanent or attempts >= settings.ELEVATE_GRANT_MAX_ATTEMPTS:
        why = exc.message if exc.permanent else f"gave up after {attempts} attempts; last error: {exc.message}"
        return _give_up(elevation, why, attempts=attempts)
    delay = backoff_seconds(attempts, exc.retry_after) if counts else max(exc.retry_after or 0.0, 1.0)
    if elevation.starts_at + timedelta(seconds=delay) > elevation.expires_at:
        delay = max(0.0, (elevation.expires_at - now()).total_seconds())
    _record_grant(
        elevation, attempts=attempts, last_error=exc.message, next_attempt_at=now() + timedelta(seconds=delay)
    )
    if counts:
        audit.record(
            "elevation.grant_retry",
            target=elevation,
            elevation=elevation,
            after={"attempt": attempts, "retry_in_seconds": round(delay, 1)},
            reason=exc.message,
        )
    return delay


def _give_up(elevation: Elevation, why: str, **fields: Any) -> float | None:
    """End a grant that will not happen. When a call may have reached the provider, what it made is
    found and revoked first (granting -> revoking -> failed); else the row fails at once."""
    if not (elevation.possibly_granted or elevation.provider_ref):
        _end_failed(elevation, why, **fields)
        return None
    try:
        with transaction.atomic():
            transition(
                elevation,
                State.REVOKING,
                action="elevation.grant_abandoned",
                reason=f"{why}; removing whatever the provider may have made",
                end_state=State.FAILED,
                last_error=why,
                next_attempt_at=now(),
                grant_claimed_until=None,
                attempts=0,
            )
            queueing.after_commit(queueing.revoke, elevation.pk)
    except StaleTransition:
        _after_late_answer(elevation)  # revoked meanwhile: that revoke finds what was made
    return None


def _end_failed(elevation: Elevation, why: str, **fields) -> None:
    try:
        transition(
            elevation,
            State.FAILED,
            action="elevation.failed",
            reason=why,
            last_error=why,
            ended_at=now(),
            next_attempt_at=None,
            grant_claimed_until=None,
            **fields,
        )
    except StaleTransition:
        Elevation.objects.filter(pk=elevation.pk).update(grant_claimed_until=None)


# ---------------------------------------------------------------------------------------------
# Expire and revoke
# ---------------------------------------------------------------------------------------------


def expire_if_due(elevation: Elevation) -> bool:
    """active -> revoking (as "expired") when its time is up. Caller holds the row lock."""
    return bool(expire_now([elevation]))


def expire_now(elevations: list[Elevation]) -> list[Elevation]:
    """active -> revoking (as "expired") for those whose time is up, in one move. Caller holds
    the rows' locks."""
    due = [e for e in elevations if e.state == State.ACTIVE and e.expires_at <= now()]
    return transition_many(
        due,
        State.REVOKING,
        action="elevation.expiring",
        end_state=State.EXPIRED,
        next_attempt_at=now() + revoke_lease(),
        attempts=0,
    )


def revoke_step(elevation_id: int) -> float | None:
    """Expire or revoke one elevation at the provider. Never gives up: alerts instead.

    An expiry (active -> revoking) commits on its own first: its audit event locks the chain
    head, and holding that across the provider call would make every audit write in the
    portal (every other revoke, grant, sign-in) wait for one provider's latency.
    """
    with audit.acting_as(WORKER):
        _expire_now_if_due(elevation_id)
        return _revoke_claimed(elevation_id)


def _expire_now_if_due(elevation_id: int) -> None:
    with transaction.atomic():
        elevation = (
            Elevation.objects.select_for_update(of=("self",))
            .select_related("device", "beneficiary")
            .filter(pk=elevation_id, state=State.ACTIVE)
            .first()
        )
        if elevation is not None:
            expire_if_due(elevation)


def _revoke_claimed(elevation_id: int) -> float | None:
    """Revoke a revoking row at the provider: read, call (no transaction), record the outcome."""
    elevation = (
        Elevation.objects.select_related("connection", "device", "beneficiary")
        .annotate(known_identity=_known_identity())
        .filter(pk=elevation_id, state=State.REVOKING)
        .first()
    )
    if elevation is None:
        return None
    if _provider_ends_it(elevation):
        _end_at_provider_expiry([elevation])
        return None
    if elevation.grant_claimed_until and elevation.grant_claimed_until > now():
        # A grant call is in flight: what it makes must be found, so wait for its answer.
        return max(0.5, (elevation.grant_claimed_until - now()).total_seconds())
    if not _claim_revoke(elevation):
        return None  # ended meanwhile, or another delivery is calling: its outcome drives the row
    try:
        with gate.urgency(gate.REVOKE), gate.step(_within(revoke_lease())):
            done = _revoke_at_provider(elevation)
    except ProviderError as exc:
        return _revoke_failed(elevation, exc)
    if not done:
        Elevation.objects.filter(pk=elevation.pk, state=State.REVOKING).update(
            next_attempt_at=now() + CONFIRM_POLL, revoke_claimed_until=None
        )
        return CONFIRM_POLL.total_seconds()
    _end_revoked([elevation])
    return None


def _claim_revoke(elevation: Elevation) -> bool:
    """Claim the revoke call for this step (committed), pushing the sweep's next look past it.

    A second delivery meanwhile (the sweep beside a retry that waited for a thread, a restarted
    worker taking revokes back, a redelivered message) then sends nothing: on a rate-limited
    connection each duplicate would spend calls in the waves the revokes wait for. A step that
    dies leaves its claim to run out with the lease; the sweep drives the row again after it.
    """
    current = now()
    lease = current + revoke_lease()
    return bool(
        Elevation.objects.filter(pk=elevation.pk, state=State.REVOKING)
        .filter(Q(revoke_claimed_until__isnull=True) | Q(revoke_claimed_until__lte=current))
        .update(revoke_claimed_until=lease, next_attempt_at=lease)
    )


def _end_revoked(elevations: list[Elevation]) -> int:
    """revoking -> each row's end state (revoked, expired, failed), in one move per end state."""
    by_end_state: dict[str, list[Elevation]] = {}
    for elevation in elevations:
        by_end_state.setdefault(elevation.end_state or State.REVOKED, []).append(elevation)
    ended = 0
    for end_state, batch in by_end_state.items():
        ended_at = now()
        fields: dict[str, Any] = {"ended_at": ended_at, "next_attempt_at": None, "revoke_claimed_until": None}
        if end_state != State.FAILED:
            fields["last_error"] = ""  # a failed grant keeps its reason
        # `updated_at` of a revoking row is when it started revoking (only transitions set it).
        started = {elevation.pk: elevation.updated_at for elevation in batch}
        try:
            transition_many(batch, end_state, **fields)
        except StaleTransition:
            continue  # another step ended them first
        ended += len(batch)
        for elevation in batch:
            if end_state == State.EXPIRED:
                counters.observe("expiry_lateness_seconds", (ended_at - elevation.expires_at).total_seconds())
            elif end_state == State.REVOKED:
                counters.observe("revoke_seconds", (ended_at - started[elevation.pk]).total_seconds())
    return ended


def _provider_ends_it(elevation: Elevation) -> bool:
    """An expiry the platform carries out itself (JumpCloud access requests, SailPoint activations):
    it was told this end time, or an earlier one, and that time has come. Extensions only move
    the expiry later, so an extension whose push is still in doubt cannot leave a later end there.
    """
    return (
        elevation.state == State.REVOKING
        and elevation.end_state == State.EXPIRED
        and elevation.connection.provider.enforces_expiry
        and bool(elevation.provider_ref)
        and elevation.provider_expires_at is not None
        and elevation.provider_expires_at <= elevation.expires_at <= now()
    )


# How long after an expiry the provider enforces itself we ask it to confirm the grant is gone.
PROVIDER_END_CONFIRM_AFTER = timedelta(seconds=10)


def _end_at_provider_expiry(elevations: list[Elevation]) -> int:
    """revoking -> expired at the end time, without a call: the provider ends the grant itself
    then. It is asked to confirm a little later (`confirm_end_step`), and what it still holds is
    revoked and flagged, so a provider that failed to end it is never trusted blindly."""
    if not elevations:
        return 0
    ended_at = now()
    try:
        transition_many(
            elevations,
            State.EXPIRED,
            reason="ended by the provider at its end time; the portal confirms it",
            ended_at=ended_at,
            last_error="",
            next_attempt_at=ended_at + PROVIDER_END_CONFIRM_AFTER,
            attempts=0,
        )
    except StaleTransition:
        return sum(_end_at_provider_expiry([e]) for e in elevations) if len(elevations) > 1 else 0
    for elevation in elevations:
        counters.observe("expiry_lateness_seconds", (ended_at - elevation.expires_at).total_seconds())
    return len(elevations)


# How long a confirmation's status check may wait for a rate-limited connection in place.
CONFIRM_CHECK_SECONDS = 2.0


def confirm_end_step(elevation_id: int) -> float | None:
    """Ask the provider whether a grant it was to end at its expiry is gone; revoke it if not.
    Idempotent: a confirmed row has no `next_attempt_at`. Returns seconds until it runs again."""
    with audit.acting_as(WORKER):
        elevation = (
            Elevation.objects.select_related("connection")
            .filter(pk=elevation_id, state=State.EXPIRED, next_attempt_at__isnull=False)
            .exclude(provider_ref="")
            .first()
        )
        if elevation is None:
            return None
        provider = elevation.connection.provider
        try:
            # A check, not a revoke: it yields to revokes in a rate-limited wave and does not hold a
            # revoke worker's thread waiting for one (expiries need those threads); it asks again.
            with gate.urgency(gate.GRANT), gate.step(CONFIRM_CHECK_SECONDS):
                try:
                    status = provider.status(elevation.provider_ref)
                except NotFound:
                    status = None
            if status is not None and status.is_live:
                with gate.urgency(gate.REVOKE), gate.step(_within(revoke_lease())):
                    _revoke_reference(provider, elevation.provider_ref)
        except NotFound:
            status = None
        except ProviderError as exc:
            waited = exc.rate_limited
            attempts = elevation.attempts + int(not waited)
            delay = (exc.retry_after or 1.0) if waited else min(REVOKE_RETRY_MAX, 2.0**attempts)
            Elevation.objects.filter(pk=elevation.pk, next_attempt_at__isnull=False).update(
                attempts=attempts, next_attempt_at=now() + timedelta(seconds=max(delay, exc.retry_after or 0.0))
            )
            return delay
        with transaction.atomic():
            if not Elevation.objects.filter(pk=elevation.pk, next_attempt_at__isnull=False).update(
                next_attempt_at=None, attempts=0
            ):
                return None  # another delivery confirmed it first
            if status is not None and status.is_live:
                drift = "still granted at the provider after its end time; revoked"
                Elevation.objects.filter(pk=elevation.pk).update(drift=drift)
                audit.record("elevation.drift", target=elevation, elevation=elevation, reason=drift)
            else:
                audit.record(
                    "elevation.end_confirmed",
                    target=elevation,
                    elevation=elevation,
                    reason="the provider confirms the grant ended at its end time",
                )
    return None


# Expiries in batches: one run per due tick (queueing.schedule_expiry_run), not one task per row.
EXPIRE_BATCH = 50


def expire_due(limit: int = EXPIRE_BATCH) -> int:
    """End every active elevation whose time is up, a batch at a time; returns how many ended.

    A batch is claimed in one transaction (SKIP LOCKED: parallel runs take disjoint rows), the
    provider is called for each row outside any transaction, and the batch ends in a second
    one. Each of the two moves is one UPDATE, one chained audit insert and one announcement for
    the whole batch. A full batch first queues another run, so many expiring at once are revoked
    by as many threads as the revoke workers have, not one batch after another. A row whose revoke
    fails, or whose worker dies meanwhile, stays revoking for the per-row revoke task (and the
    sweep's lease).
    """
    ended = 0
    with audit.acting_as(WORKER):
        while ids := _claim_expired(limit):
            if len(ids) == limit:
                queueing.expire_due()
            ended += _revoke_batch(ids)
    return ended


def _claim_expired(limit: int) -> list[int]:
    with transaction.atomic():
        due = list(
            Elevation.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("device", "beneficiary")
            .filter(state=State.ACTIVE, expires_at__lte=now())
            .order_by("expires_at")[:limit]
        )
        expire_now(due)
        return [elevation.pk for elevation in due]


def _revoke_batch(ids: list[int]) -> int:
    claimed = Elevation.objects.select_related("connection", "device", "beneficiary").annotate(
        known_identity=_known_identity()
    )
    ends_itself: dict[bool, list[Elevation]] = {True: [], False: []}
    for row in claimed.filter(pk__in=ids, state=State.REVOKING):
        ends_itself[_provider_ends_it(row)].append(row)
    ended = _end_at_provider_expiry(ends_itself[True])
    rows = ends_itself[False]
    revoked = _revoke_all_at_provider(rows)
    ended += _end_revoked([e for e in rows if revoked[e.pk]])
    for elevation in rows:
        if not revoked[elevation.pk]:
            queueing.revoke(elevation.pk)  # the per-row step retries with backoff, polls, and alerts
    return ended


# Provider calls of expiry batches in flight at once, per worker process: each waits on the
# network (and on a rate-limited connection's pauses), not on the CPU.
_batch_calls = threading.BoundedSemaphore(settings.ELEVATE_REVOKE_CALLS_AT_ONCE)


def _revoke_all_at_provider(rows: Sequence[Elevation]) -> dict[int, bool]:
    """Revoke a batch at the provider, many calls at once; {pk: done}. Inside a transaction (an
    in-process caller holding uncommitted rows) the calls run here, one after another: another
    thread could not see those rows."""

    def one(elevation: Elevation) -> bool:
        with _batch_calls:
            try:
                with gate.urgency(gate.REVOKE), gate.step(_within(revoke_lease())):
                    return _revoke_at_provider(elevation)
            except ProviderError:
                return False
            finally:
                if threading.current_thread() is not caller:
                    connections.close_all()  # this pool thread's own connections

    caller = threading.current_thread()
    if len(rows) <= 1 or transaction.get_connection().in_atomic_block:
        return {elevation.pk: one(elevation) for elevation in rows}
    # While the provider answers fast, one call after another here beats threads, each of which
    # opens a database connection of its own (several ms apiece): fan out once a call is slow.
    done: dict[int, bool] = {}
    pending = list(rows)
    while pending:
        elevation = pending.pop(0)
        started = time.monotonic()
        done[elevation.pk] = one(elevation)
        if time.monotonic() - started > FAN_OUT_AFTER_SECONDS:
            break
    if pending:
        with ThreadPoolExecutor(max_workers=min(len(pending), settings.ELEVATE_REVOKE_CALLS_AT_ONCE)) as pool:
            done.update(zip([e.pk for e in pending], pool.map(one, pending), strict=True))
    return done


# A revoke call slower than this makes the rest of its batch go out in parallel.
FAN_OUT_AFTER_SECONDS = 0.05


def schedule_upcoming_expiries(at) -> int:
    """Queue an expiry run for each tick in which an active elevation expires before the next
    sweeps have run, so expiries are on time whatever the sweep interval."""
    horizon = at + timedelta(seconds=2 * settings.ELEVATE_SWEEP_SECONDS)
    upcoming = Elevation.objects.filter(state=State.ACTIVE, expires_at__gt=at, expires_at__lte=horizon)
    return sum(queueing.schedule_expiry_run(when) for when in upcoming.values_list("expires_at", flat=True))


def _revoke_at_provider(elevation: Elevation) -> bool:
    """Revoke what the row may hold at the provider. False while the provider has accepted the
    revoke but not yet confirmed it (asynchronous platforms): ask again soon."""
    provider = elevation.connection.provider
    reference = elevation.provider_ref
    if not reference:
        if not (elevation.possibly_granted or elevation.activated_at):
            return True  # no call ever reached the provider: nothing to remove
        # Given up, or revoked while granting, before the reference was known: find what may exist.
        found = provider.find_grant(grant_request_for(elevation))
        reference = found.reference if found else ""
        if reference:
            Elevation.objects.filter(pk=elevation.pk).update(provider_ref=reference)
    if not reference:
        return True
    try:
        return _revoke_reference(provider, reference) is not False
    except NotFound:
        return True  # already gone at the provider: what we wanted


def _revoke_reference(provider, reference: str) -> bool | None:
    """The provider's revoke, hedged where it is one idempotent call (`Provider.hedge_revokes`) and
    the operator has not switched hedging off (ELEVATE_HEDGE_REVOKES: a tight call budget)."""
    if provider.hedge_revokes and settings.ELEVATE_HEDGE_REVOKES:
        return _hedged_revoke(provider, reference)
    return provider.revoke(reference)


# Copies of hedged revokes in flight at once, per worker process (two per revoke).
_revoke_copies = ThreadPoolExecutor(max_workers=32, thread_name_prefix="revoke-copy")


def _hedged_revoke(provider, reference: str) -> bool | None:
    """One revoke, sent as two copies at once; the first copy that succeeds decides. While the step
    has time and a copy failed on the provider's trouble (a 429, a 5xx, no answer), the next round
    sends two fresh copies, which wait for the connection's pause and go with its next wave.

    A revoke is admin nobody wants any more, and a provider's failures are mostly of one call: a
    429 or 5xx from one gateway node, an answer lost on the way back. A lost call costs a whole
    retry (on a rate-limited connection, its next wave: seconds); its twin usually gets through
    in the same wave. A second revoke of a revoked grant finds it already gone. Where a platform
    ends its grants itself (JumpCloud access requests) expiries make no call at all, so the
    copies are spent on people's revokes and on grants that should have ended and did not.
    """
    got_through = threading.Event()  # the other copy then is not sent, if it still waits to be
    failures: list[ProviderError] = []
    for _round in range(HEDGE_ROUNDS):
        copies = [
            _revoke_copies.submit(contextvars.copy_context().run, _revoke_copy, provider, reference, got_through)
            for _ in range(2)
        ]
        round_failures = []
        for copy in as_completed(copies):
            try:
                result = copy.result()
            except ProviderError as exc:
                round_failures.append(exc)
                continue
            got_through.set()
            return result
        failures += round_failures
        provider_trouble = any(not (exc.permanent or exc.gated) for exc in round_failures)
        if not (provider_trouble and gate.may_retry_in_place()):
            break
    # Raise the failure most worth retrying soon: a refusal may be the other copy's success.
    raise min(failures, key=lambda exc: (exc.permanent, not exc.gated))


# Rounds of two copies one hedged revoke step may send (a round per wave of a rate-limited
# connection); after them the step is retried like any failed revoke.
HEDGE_ROUNDS = 3


def _revoke_copy(provider, reference: str, got_through: threading.Event) -> bool | None:
    try:
        with gate.hedged_copy(got_through):
            return provider.revoke(reference)
    finally:
        connections.close_all()  # this pool thread's own, if the gate opened one


def _revoke_failed(elevation: Elevation, exc: ProviderError) -> float:
    attempts = elevation.attempts + 1
    # Permanent errors too are retried: a revoke must not be dropped while the grant may be live.
    # A paused connection is retried as soon as the pause passes. A 5xx, a timeout or a 429 is the
    # provider's trouble, not this row's: the connection's gate already pauses every call after a
    # run of them, so the revoke goes again with the next wave. Only a refusal of this very revoke
    # backs off, and never for long: every second of a failing revoke is admin nobody asked for.
    if exc.gated:
        delay = exc.retry_after or 1.0
    elif not exc.permanent:
        delay = max(exc.retry_after or 0.0, random.uniform(0.5, 1.0))
    else:
        ceiling = min(REVOKE_RETRY_MAX, 2.0 ** (attempts - 1))
        delay = max(exc.retry_after or 0.0, random.uniform(0.5, max(0.5, ceiling)))
    fields = {"attempts": attempts, "next_attempt_at": now() + timedelta(seconds=delay), "revoke_claimed_until": None}
    if elevation.end_state != State.FAILED:
        fields["last_error"] = exc.message  # a given-up grant keeps the reason it failed for
    if attempts >= settings.ELEVATE_REVOKE_ALERT_ATTEMPTS and elevation.alerted_at is None:
        fields["alerted_at"] = now()
        audit.record(
            "elevation.revoke_alert",
            target=elevation,
            elevation=elevation,
            after={"attempts": attempts},
            reason=f"Revoke keeps failing: {exc.message}",
        )
        from requests_app.signals import elevation_alert

        transaction.on_commit(
            lambda: elevation_alert.send(sender=Elevation, elevation_id=elevation.pk, message=exc.message),
            robust=True,
        )
    Elevation.objects.filter(pk=elevation.pk).update(**fields)
    return delay


# ---------------------------------------------------------------------------------------------
# Extensions reaching the provider
# ---------------------------------------------------------------------------------------------


def sync_expiry_step(elevation_id: int) -> float | None:
    """Tell the provider about a new expiry (an extension). Idempotent: compares first, and records
    what it sent only on a row still active (an extension made meanwhile is pushed next)."""
    with audit.acting_as(WORKER):
        elevation = Elevation.objects.select_related("connection").filter(pk=elevation_id).first()
        if elevation is None or elevation.state != State.ACTIVE or not elevation.provider_ref:
            return None
        wanted = elevation.expires_at
        still = Elevation.objects.filter(pk=elevation.pk, state=State.ACTIVE, expires_at=wanted)
        if elevation.provider_expires_at is not None and elevation.provider_expires_at >= wanted:
            still.update(next_attempt_at=None)  # the provider already holds it at least that long
            return None
        try:
            result = elevation.connection.provider.extend(elevation.provider_ref, wanted)
        except NotFound:
            # The grant is gone at the provider although active here: pushing again cannot help.
            # Flag the drift for helpdesk; the expiry still ends the elevation here on time.
            drift = "grant no longer exists at the provider; the extension could not be applied"
            Elevation.objects.filter(pk=elevation.pk).update(drift=drift, next_attempt_at=None)
            audit.record("elevation.drift", target=elevation, elevation=elevation, reason=drift)
            return None
        except ProviderError as exc:
            attempts = elevation.attempts + int(not exc.gated)
            delay = (exc.retry_after or 1.0) if exc.gated else backoff_seconds(attempts, exc.retry_after)
            Elevation.objects.filter(pk=elevation.pk, state=State.ACTIVE).update(
                attempts=attempts, last_error=exc.message, next_attempt_at=now() + timedelta(seconds=delay)
            )
            return delay
        before = elevation.provider_expires_at
        # A provider may answer with a new reference (SailPoint's carries the agreed end), and with
        # the end it now holds, which may be later than asked (SailPoint counts whole minutes from
        # its own start): recorded as it is, so an expiry never trusts the provider to end it
        # earlier than it will (_provider_ends_it).
        reference = result.reference if result is not None and result.reference else elevation.provider_ref
        held = result.expires_at if result is not None and result.expires_at else wanted
        with transaction.atomic():
            Elevation.objects.filter(pk=elevation.pk).update(provider_ref=reference, provider_expires_at=held)
            if not still.update(attempts=0, last_error="", next_attempt_at=None):
                # Extended again (or ended) while we called: the sweep pushes the newer expiry.
                Elevation.objects.filter(pk=elevation.pk, state=State.ACTIVE).update(next_attempt_at=now())
            audit.record(
                "elevation.provider_extended",
                target=elevation,
                elevation=elevation,
                before={"provider_expires_at": before.isoformat() if before else None},
                after={"provider_expires_at": held.isoformat()},
            )
            queueing.after_commit(queueing.schedule_expiry, elevation)
    return None


# ---------------------------------------------------------------------------------------------
# The sweep: the database is the outbox
# ---------------------------------------------------------------------------------------------

SWEEP_BATCH = 500


def due_work(at) -> dict[str, list[int]]:
    """Ids of rows whose next step is due, by the task that drives them."""
    not_leased = {"next_attempt_at__isnull": True}
    leased_due = {"next_attempt_at__lte": at}

    def ids(**filters) -> list[int]:
        return list(Elevation.objects.filter(**filters).order_by("pk").values_list("pk", flat=True)[:SWEEP_BATCH])

    return {
        "grant": ids(state=State.APPROVED, starts_at__lte=at, **not_leased)
        + ids(state__in=[State.APPROVED, State.GRANTING], starts_at__lte=at, **leased_due),
        "revoke": ids(state=State.ACTIVE, expires_at__lte=at, **not_leased)
        + ids(state=State.ACTIVE, expires_at__lte=at, **leased_due)
        + ids(state=State.REVOKING, **leased_due)
        + ids(state=State.REVOKING, **not_leased),
        "sync": ids(state=State.ACTIVE, expires_at__gt=at, **leased_due),
        "undecided": ids(state=State.PENDING_APPROVAL, decide_by__lte=at),
        "confirm_end": ids(state=State.EXPIRED, **leased_due),
    }


def sweep() -> dict[str, int]:
    """Find due work and drive it. Leases each row first so one broken row cannot wedge it."""
    at = now()
    work = due_work(at)
    just_expired = _just_expired(work["revoke"], at)
    per_row = [pk for pk in work["revoke"] if pk not in just_expired]
    work["grant"], work["sync"] = (_lease(ids, at + step_lease()) for ids in (work["grant"], work["sync"]))
    per_row = _lease(per_row, at + revoke_lease())
    work["confirm_end"] = _lease(work["confirm_end"], at + revoke_lease())
    for pk in work["grant"]:
        queueing.grant(pk)
    if just_expired:
        queueing.expire_due()
    for pk in per_row:
        queueing.revoke(pk)
    for pk in work["sync"]:
        queueing.sync_expiry(pk)
    for pk in work["undecided"]:
        expire_undecided(pk)
    for pk in work["confirm_end"]:
        queueing.confirm_end(pk)
    schedule_upcoming_expiries(at)
    counts = {name: len(ids) for name, ids in work.items()}
    Heartbeat.objects.update_or_create(name="sweep", defaults={"beat_at": timezone.now(), "detail": counts})
    return counts


def resume_revokes() -> int:
    """A revoke worker has (re)started: drive every row left revoking now, lease and claim or not.
    A worker killed mid-call leaves its rows leased and claimed (`revoke_lease()`), and the sweep
    would take them back only after that; revokes are idempotent, so asking again at once costs
    at most a call (another revoke worker's call in flight, on a second machine)."""
    revoking = Elevation.objects.filter(state=State.REVOKING)
    revoking.exclude(revoke_claimed_until=None).update(revoke_claimed_until=None)
    ids = list(revoking.order_by("pk").values_list("pk", flat=True))
    for pk in ids:
        queueing.revoke(pk)
    return len(ids)


def _lease(ids: list[int], until) -> list[int]:
    """Lease the rows no other transaction holds right now (a step claiming it: that step needs no
    second message, and waiting for it would stall the sweep)."""
    if not ids:
        return []
    with transaction.atomic():
        free = list(
            Elevation.objects.select_for_update(skip_locked=True).filter(pk__in=ids).values_list("pk", flat=True)
        )
        Elevation.objects.filter(pk__in=free).update(next_attempt_at=until)
    return sorted(free)


def _just_expired(ids: list[int], at) -> set[int]:
    """Active rows among `ids` that expired within the last two sweeps: an expiry run (one batch
    for all of them) takes these. Queueing a revoke task per row as well would bury the runs
    under slow per-row work exactly when many expire at once; rows still active after that
    grace get their own revoke task, as before."""
    if not ids:
        return set()
    grace = timedelta(seconds=2 * settings.ELEVATE_SWEEP_SECONDS)
    recent = Elevation.objects.filter(pk__in=ids, state=State.ACTIVE, expires_at__gt=at - grace)
    return set(recent.values_list("pk", flat=True))


def expire_undecided(elevation_id: int) -> None:
    with audit.acting_as(WORKER), transaction.atomic():
        elevation = Elevation.objects.select_for_update().filter(pk=elevation_id).first()
        if elevation is None or elevation.state != State.PENDING_APPROVAL:
            return
        if elevation.decide_by is not None and elevation.decide_by > now():
            return
        try:
            transition(
                elevation,
                State.EXPIRED,
                action="elevation.approval_timed_out",
                reason="Nobody decided on the request in time.",
                ended_at=now(),
            )
        except StaleTransition:
            return


# ---------------------------------------------------------------------------------------------
# The reconciler: read the provider's state back and flag drift
# ---------------------------------------------------------------------------------------------


ENDED_STATES = (State.REVOKED, State.EXPIRED, State.FAILED, State.CANCELLED)


def reconcile(limit: int = 200) -> dict[str, int]:
    """Compare live and recently ended elevations with the provider; record drift, and revoke
    what is still granted behind an ended row (re-revoke) — including rows that failed or were
    cancelled after a call that may have reached the provider, and rows that never learnt their
    reference (found by `find_grant`)."""
    counts = {"checked": 0, "drift": 0}
    recent = now() - timedelta(days=1)
    maybe_held = Q(possibly_granted=True) | ~Q(provider_ref="")
    candidates = (
        Elevation.objects.filter(Q(state=State.ACTIVE) | Q(state__in=ENDED_STATES, ended_at__gte=recent))
        .filter(maybe_held)
        .select_related("connection", "device", "beneficiary")
        .annotate(known_identity=_known_identity())
        .order_by(F("ended_at").desc(nulls_first=True), "-pk")
    )
    with audit.acting_as(WORKER), gate.urgency(gate.REVOKE):
        for elevation in candidates[:limit]:
            counts["checked"] += 1
            try:
                status, reference = _provider_view(elevation)
            except ProviderError as exc:
                log.warning("reconcile: %s unreachable: %s", elevation.public_id, exc.message)
                continue
            drift = _drift(elevation, status)
            if not drift or drift == elevation.drift:
                continue
            counts["drift"] += 1
            Elevation.objects.filter(pk=elevation.pk).update(drift=drift)
            audit.record("elevation.drift", target=elevation, elevation=elevation, reason=drift)
            if elevation.state in ENDED_STATES:
                # Still live there although ended here: revoke again, right away.
                try:
                    elevation.connection.provider.revoke(reference)
                except ProviderError as exc:
                    log.warning("reconcile: re-revoke of %s failed: %s", elevation.public_id, exc.message)
    return counts


def _provider_view(elevation: Elevation) -> tuple[GrantStatus | None, str]:
    """The provider's view of the row's grant and its reference; (None, "") when it has none."""
    if elevation.provider_ref:
        try:
            return elevation.connection.provider.status(elevation.provider_ref), elevation.provider_ref
        except NotFound:
            return None, ""
    found = elevation.connection.provider.find_grant(grant_request_for(elevation))
    if found is None:
        return None, ""
    return GrantStatus("active" if found.confirmed else "pending", found.expires_at), found.reference


def _drift(elevation: Elevation, status: GrantStatus | None) -> str:
    live = status is not None and status.is_live
    if elevation.state == State.ACTIVE and not live and elevation.expires_at > now():
        return "ended at the provider but active here"
    if elevation.state in ENDED_STATES and live:
        if _target_held_by_another(elevation):
            return ""  # a shared flag (group sudo) that a newer live elevation holds: not drift
        return "still granted at the provider but ended here"
    return ""


def _target_held_by_another(elevation: Elevation) -> bool:
    from requests_app.lifecycle import LIVE_STATES

    live = Elevation.objects.filter(connection_id=elevation.connection_id, state__in=LIVE_STATES).exclude(
        pk=elevation.pk
    )
    if elevation.device_id:
        return live.filter(device_id=elevation.device_id, provider_ref=elevation.provider_ref).exists()
    return live.filter(target_ref=elevation.target_ref).exists()
