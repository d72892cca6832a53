"""Driving elevations against their providers: the worker-side steps, the sweep, the reconciler.

Every step is idempotent. It locks the elevation's row, looks at the state, and acts only if the
row still needs it; the provider reference is stored the moment it is known, and a step that
runs again asks the provider (status / find_grant) before it would act twice. Duplicate
deliveries, crashed workers and lost broker messages therefore all end in the same place.

The database is the outbox: each row's `next_attempt_at` says when it must be looked at again,
and `sweep()` (beat, every few seconds) drives whatever is due. Celery messages are the fast path.
"""

from __future__ import annotations

import contextlib
import logging
import random
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from requests_app import audit
from requests_app.clock import now
from requests_app.errors import StaleTransition
from requests_app.lifecycle import State, transition, transition_many
from requests_app.models import Elevation, Heartbeat, ProviderIdentity
from requests_app.providers.base import GrantRequest, NotFound, ProviderError

log = logging.getLogger(__name__)


# How long a claimed step may run before the sweep assumes its worker died and re-drives it.
def step_lease() -> timedelta:
    return timedelta(seconds=settings.ELEVATE_STEP_LEASE_SECONDS)


# How soon to ask again about an asynchronous grant the provider has accepted but not confirmed.
CONFIRM_POLL = timedelta(seconds=3)
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
    target = elevation.device.external_id if elevation.device_id else elevation.target_ref
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

    One transaction holds the row from the claim through the provider call to its outcome: a
    duplicate delivery waits and then finds the work done, and a worker that dies mid-call
    leaves the row as it was (approved, or granting with its lease) for the sweep, whose retry
    finds the grant already made by its idempotency key. The claim (approved -> granting, with
    its audit event) is written after the call, not committed before it: that commit used to
    sit between the queue and the provider and took longer than the whole Celery round trip;
    and an audit write before the call would hold the chain head across the provider's latency.
    """
    with audit.acting_as(WORKER), transaction.atomic():
        elevation = _grant_row(elevation_id)
        if elevation is None or not _grant_due(elevation):
            return None  # a duplicate delivery, revoked or cancelled meanwhile, or not yet due
        try:
            outcome = _grant_at_provider(elevation)
        except ProviderError as exc:
            _claim_for_grant(elevation)
            return _grant_failed(elevation, exc)
        _claim_for_grant(elevation)
        return _grant_outcome(elevation, *outcome)


def _grant_row(elevation_id: int) -> Elevation | None:
    """Only what the provider call needs is read before it, the user's provider id with it."""
    return (
        Elevation.objects.select_for_update(of=("self",))
        .select_related("connection", "device")
        .annotate(known_identity=_known_identity())
        .filter(pk=elevation_id)
        .first()
    )


def _known_identity() -> Subquery:
    """The beneficiary's cached provider id (services.cached_identity), as a column of the row."""
    return Subquery(
        ProviderIdentity.objects.filter(user_id=OuterRef("beneficiary_id"), connection_id=OuterRef("connection_id"))
        .order_by()
        .values("external_id")[:1]
    )


def _grant_due(elevation: Elevation) -> bool:
    if elevation.state == State.APPROVED:
        return elevation.starts_at <= now()  # one scheduled for later is started by the sweep
    return elevation.state == State.GRANTING


def _claim_for_grant(elevation: Elevation) -> None:
    """approved -> granting (a retry finds it granting already)."""
    if elevation.state == State.APPROVED:
        transition(elevation, State.GRANTING, next_attempt_at=now() + step_lease())


def _grant_at_provider(elevation: Elevation) -> tuple[str, object]:
    """Ask the provider for the grant: ("active", its expiry) or ("pending", None). No writes
    but the reference, which is stored the moment it is known."""
    provider = elevation.connection.provider
    request = grant_request_for(elevation)
    if elevation.provider_ref:
        status = provider.status(elevation.provider_ref)
        if status.state in ("active", "pending"):
            return status.state, status.expires_at
        # The grant we started is gone (ended or never took): start a fresh one.
    result = provider.find_grant(request) or provider.grant(request)
    Elevation.objects.filter(pk=elevation.pk).update(provider_ref=result.reference)
    elevation.provider_ref = result.reference
    if not result.confirmed:
        return "pending", None
    return "active", result.expires_at or request.expires_at


def _grant_outcome(elevation: Elevation, state: str, expires_at) -> float | None:
    if state == "pending":
        return _wait_for_confirmation(elevation)
    _activate(elevation, expires_at)
    return None


def _wait_for_confirmation(elevation: Elevation) -> float:
    Elevation.objects.filter(pk=elevation.pk).update(next_attempt_at=now() + CONFIRM_POLL)
    return CONFIRM_POLL.total_seconds()


def _activate(elevation: Elevation, provider_expires_at) -> None:
    from requests_app import tasks

    transition(
        elevation,
        State.ACTIVE,
        action="elevation.granted",
        activated_at=now(),
        provider_expires_at=provider_expires_at or elevation.expires_at,
        attempts=0,
        last_error="",
        next_attempt_at=None,
    )
    transaction.on_commit(lambda: tasks.schedule_expiry(elevation), robust=True)
    if provider_expires_at and provider_expires_at != elevation.expires_at:
        transaction.on_commit(lambda: tasks.sync_expiry.delay(elevation.pk), robust=True)


def _grant_failed(elevation: Elevation, exc: ProviderError) -> float | None:
    attempts = elevation.attempts + 1
    if exc.permanent or attempts >= settings.ELEVATE_GRANT_MAX_ATTEMPTS:
        why = exc.message if exc.permanent else f"gave up after {attempts} attempts; last error: {exc.message}"
        transition(
            elevation,
            State.FAILED,
            action="elevation.failed",
            reason=why,
            attempts=attempts,
            last_error=why,
            ended_at=now(),
            next_attempt_at=None,
        )
        return None
    delay = backoff_seconds(attempts, exc.retry_after)
    Elevation.objects.filter(pk=elevation.pk).update(
        attempts=attempts, last_error=exc.message, next_attempt_at=now() + timedelta(seconds=delay)
    )
    audit.record(
        "elevation.grant_retry",
        target=elevation,
        elevation=elevation,
        after={"attempt": attempts, "retry_in_seconds": round(delay, 1)},
        reason=exc.message,
    )
    return delay


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
        next_attempt_at=now() + step_lease(),
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
    with transaction.atomic():
        elevation = (
            Elevation.objects.select_for_update(of=("self",))
            .select_related("connection", "device", "beneficiary")
            .filter(pk=elevation_id)
            .first()
        )
        if elevation is None or elevation.state != State.REVOKING:
            return None
        try:
            _revoke_at_provider(elevation)
        except ProviderError as exc:
            return _revoke_failed(elevation, exc)
        transition(elevation, elevation.end_state or State.REVOKED, ended_at=now(), next_attempt_at=None, last_error="")
        return None


# Expiries in batches: one run per due tick (tasks.schedule_expiry_run), not one task per row.
EXPIRE_BATCH = 50


def expire_due(limit: int = EXPIRE_BATCH) -> int:
    """End every active elevation whose time is up, a batch at a time; returns how many ended.

    A batch is claimed in one transaction (SKIP LOCKED: parallel runs take disjoint rows), the
    provider is called for each row outside any transaction, and the batch ends in a second
    one. Each of the two moves is one UPDATE, one chained audit insert and one announcement for
    the whole batch. A row whose revoke fails, or whose worker dies meanwhile, stays revoking
    for the per-row revoke task (and the sweep's lease).
    """
    ended = 0
    with audit.acting_as(WORKER):
        while ids := _claim_expired(limit):
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
    from requests_app import tasks

    claimed = Elevation.objects.select_related("connection", "device", "beneficiary")
    done, failed = [], []
    for elevation in claimed.filter(pk__in=ids, state=State.REVOKING):
        try:
            _revoke_at_provider(elevation)
        except ProviderError:
            failed.append(elevation.pk)
        else:
            done.append(elevation.pk)
    with transaction.atomic():
        ending = list(claimed.select_for_update(of=("self",)).filter(pk__in=done, state=State.REVOKING))
        by_end_state: dict[str, list[Elevation]] = {}
        for elevation in ending:
            by_end_state.setdefault(elevation.end_state or State.REVOKED, []).append(elevation)
        for end_state, batch in by_end_state.items():
            transition_many(batch, end_state, ended_at=now(), next_attempt_at=None, last_error="")
    for pk in failed:
        tasks.revoke.delay(pk)  # the per-row step retries with backoff, and alerts
    return len(ending)


def schedule_upcoming_expiries(at) -> int:
    """Queue an expiry run for each tick in which an active elevation expires before the next
    sweeps have run, so expiries are on time whatever the sweep interval."""
    from requests_app import tasks

    horizon = at + timedelta(seconds=2 * settings.ELEVATE_SWEEP_SECONDS)
    upcoming = Elevation.objects.filter(state=State.ACTIVE, expires_at__gt=at, expires_at__lte=horizon)
    return sum(tasks.schedule_expiry_run(when) for when in upcoming.values_list("expires_at", flat=True))


def _revoke_at_provider(elevation: Elevation) -> None:
    provider = elevation.connection.provider
    reference = elevation.provider_ref
    if not reference:
        # Revoked while granting, before the reference was stored: find what may exist.
        found = provider.find_grant(grant_request_for(elevation))
        reference = found.reference if found else ""
    if reference:
        with contextlib.suppress(NotFound):  # already gone at the provider: what we wanted
            provider.revoke(reference)


def _revoke_failed(elevation: Elevation, exc: ProviderError) -> float:
    attempts = elevation.attempts + 1
    # Permanent errors too are retried: a revoke must not be dropped while the grant may be live.
    delay = backoff_seconds(attempts, exc.retry_after)
    fields = {"attempts": attempts, "last_error": exc.message, "next_attempt_at": now() + timedelta(seconds=delay)}
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
    """Tell the provider about a new expiry (an extension). Idempotent: compares first."""
    with audit.acting_as(WORKER), transaction.atomic():
        elevation = (
            Elevation.objects.select_for_update(of=("self",))
            .select_related("connection")
            .filter(pk=elevation_id)
            .first()
        )
        if elevation is None or elevation.state != State.ACTIVE or not elevation.provider_ref:
            return None
        if elevation.provider_expires_at == elevation.expires_at:
            Elevation.objects.filter(pk=elevation.pk).update(next_attempt_at=None)
            return None
        try:
            result = elevation.connection.provider.extend(elevation.provider_ref, elevation.expires_at)
        except NotFound:
            # The grant is gone at the provider although active here: pushing again cannot help.
            # Flag the drift for helpdesk; the expiry still ends the elevation here on time.
            drift = "grant no longer exists at the provider; the extension could not be applied"
            Elevation.objects.filter(pk=elevation.pk).update(drift=drift, next_attempt_at=None)
            audit.record("elevation.drift", target=elevation, elevation=elevation, reason=drift)
            return None
        except ProviderError as exc:
            attempts = elevation.attempts + 1
            delay = backoff_seconds(attempts, exc.retry_after)
            Elevation.objects.filter(pk=elevation.pk).update(
                attempts=attempts, last_error=exc.message, next_attempt_at=now() + timedelta(seconds=delay)
            )
            return delay
        before = elevation.provider_expires_at
        # A provider may answer with a new reference (SailPoint's carries the agreed end).
        if result is not None and result.reference:
            elevation.provider_ref = result.reference
        Elevation.objects.filter(pk=elevation.pk).update(
            provider_ref=elevation.provider_ref,
            provider_expires_at=elevation.expires_at,
            attempts=0,
            last_error="",
            next_attempt_at=None,
        )
        audit.record(
            "elevation.provider_extended",
            target=elevation,
            elevation=elevation,
            before={"provider_expires_at": before.isoformat() if before else None},
            after={"provider_expires_at": elevation.expires_at.isoformat()},
        )
    from requests_app import tasks

    transaction.on_commit(lambda: tasks.schedule_expiry(elevation), robust=True)
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
    }


def sweep() -> dict[str, int]:
    """Find due work and drive it. Leases each row first so one broken row cannot wedge it."""
    from requests_app import tasks

    at = now()
    work = due_work(at)
    just_expired = _just_expired(work["revoke"], at)
    per_row = [pk for pk in work["revoke"] if pk not in just_expired]
    work["grant"], per_row, work["sync"] = (
        _lease(ids, at + step_lease()) for ids in (work["grant"], per_row, work["sync"])
    )
    for pk in work["grant"]:
        tasks.grant.delay(pk)
    if just_expired:
        tasks.expire_due.delay()
    for pk in per_row:
        tasks.revoke.delay(pk)
    for pk in work["sync"]:
        tasks.sync_expiry.delay(pk)
    for pk in work["undecided"]:
        expire_undecided(pk)
    schedule_upcoming_expiries(at)
    counts = {name: len(ids) for name, ids in work.items()}
    Heartbeat.objects.update_or_create(name="sweep", defaults={"beat_at": timezone.now(), "detail": counts})
    return counts


def _lease(ids: list[int], until) -> list[int]:
    """Lease the rows no step holds right now (a grant keeps its row locked through the provider
    call: waiting for it would stall the sweep, and the step in hand needs no second message)."""
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
        if elevation is None or elevation.state != State.PENDING_APPROVAL or elevation.decide_by > now():
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


def reconcile(limit: int = 200) -> dict[str, int]:
    """Compare live and recently ended elevations with the provider; record drift."""
    counts = {"checked": 0, "drift": 0}
    recent = now() - timedelta(days=1)
    candidates = Elevation.objects.filter(state=State.ACTIVE).exclude(provider_ref="") | Elevation.objects.filter(
        state__in=[State.REVOKED, State.EXPIRED], ended_at__gte=recent
    ).exclude(provider_ref="")
    with audit.acting_as(WORKER):
        for elevation in candidates.select_related("connection")[:limit]:
            counts["checked"] += 1
            try:
                status = elevation.connection.provider.status(elevation.provider_ref)
            except ProviderError as exc:
                log.warning("reconcile: %s unreachable: %s", elevation.public_id, exc.message)
                continue
            drift = _drift(elevation, status)
            if drift and drift != elevation.drift:
                counts["drift"] += 1
                Elevation.objects.filter(pk=elevation.pk).update(drift=drift)
                audit.record("elevation.drift", target=elevation, elevation=elevation, reason=drift)
                if elevation.state in (State.REVOKED, State.EXPIRED):
                    # Still live there although ended here: revoke again, right away.
                    try:
                        elevation.connection.provider.revoke(elevation.provider_ref)
                    except ProviderError as exc:
                        log.warning("reconcile: re-revoke of %s failed: %s", elevation.public_id, exc.message)
    return counts


def _drift(elevation: Elevation, status) -> str:
    if elevation.state == State.ACTIVE and not status.is_live and elevation.expires_at > now():
        return "ended at the provider but active here"
    if elevation.state in (State.REVOKED, State.EXPIRED) and status.state == "active":
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
