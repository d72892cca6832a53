"""Every write use case of the portal. Views, tasks, Jira intake and the helpdesk call these.

Each service is keyword-only, validates against policy on the server, changes state only through
`lifecycle.transition`, enqueues worker steps with `transaction.on_commit`, and raises
`PortalError` subclasses with messages fit for the person who asked.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from requests_app import audit, permissions, policy, queueing
from requests_app.attestation.services import check_may_request
from requests_app.clock import now
from requests_app.errors import NotAllowed, PolicyViolation, PortalError, ProviderUnavailable, StaleTransition
from requests_app.identities import cached_identity, identity_for, look_up_identity  # noqa: F401  (services API)
from requests_app.lifecycle import LIVE_STATES, State, transition
from requests_app.models import Approval, Device, Elevation, User
from requests_app.providers import gate
from requests_app.providers.base import GrantRequest, ProviderError

# ---------------------------------------------------------------------------------------------
# Request
# ---------------------------------------------------------------------------------------------


def elevation_request(
    *,
    requester: User,
    device: Device,
    minutes: int,
    reason: str,
    beneficiary: User | None = None,
    ticket_ref: str = "",
    without_password: bool = False,
    starts_at: datetime | None = None,
    source: str = Elevation.Source.WEB,
    source_ref: str = "",
    break_glass: bool = False,
) -> Elevation:
    """Ask for admin on a device. A live elevation on the same device is extended instead."""
    beneficiary = beneficiary or requester
    permissions.check_may_act_for(requester, beneficiary)
    if break_glass and not permissions.may_break_glass(requester):
        raise NotAllowed("Only admins may start a break-glass elevation.")
    reason = policy.check_reason(reason)
    _check_device_usable(device, beneficiary)
    current = now()
    starts_at = starts_at or current
    rules = policy.policy_for(beneficiary, device)
    policy.check_duration(rules, minutes)
    policy.check_start(rules, starts_at, current)
    if without_password and not rules.allow_passwordless:
        raise PolicyViolation("This policy does not allow sudo without a password.", field="without_password")

    live = _live_elevation(beneficiary, device)
    if live is not None:
        return elevation_extend(elevation=live, actor=requester, minutes=minutes, reason=reason)
    policy.check_weekly_cap(rules, beneficiary, minutes, current)

    expires_at = max(starts_at, current) + timedelta(minutes=minutes)
    notes = _web_preflight(beneficiary, device, expires_at=expires_at, reason=reason, without_password=without_password)

    needs_approval = rules.needs_approval_for(minutes) and not break_glass
    try:
        elevation = elevation_create(
            requester=requester,
            rules=rules,
            needs_approval=needs_approval,
            audit_action="elevation.break_glass" if break_glass else "elevation.requested",
            audit_after={"device": device.hostname, "beneficiary": beneficiary.email},
            beneficiary=beneficiary,
            connection=device.connection,
            device=device,
            target_kind=Elevation.TargetKind.DEVICE,
            target_label=device.hostname,
            reason=reason,
            ticket_ref=ticket_ref,
            source=source,
            source_ref=source_ref,
            without_password=without_password,
            break_glass=break_glass,
            needs_review=break_glass,
            requested_minutes=minutes,
            starts_at=starts_at,
            expires_at=expires_at,
            notes=notes or [],
            preflight_checked=notes is not None,
        )
    except IntegrityError:
        # Lost a race with a simultaneous request for the same device: extend that one instead.
        live = _live_elevation(beneficiary, device)
        if live is None:
            raise
        return elevation_extend(elevation=live, actor=requester, minutes=minutes, reason=reason)
    return elevation


def _web_preflight(beneficiary: User, device: Device, **grant_fields) -> list[str] | None:
    """The provider's checks, within a short budget: a refusal is shown on the form at once, and a
    slow or rate-limited provider accepts the request unchecked (None); the grant step then runs
    the same checks before granting and shows a refusal live on the elevation."""
    connection = device.connection
    try:
        with gate.budget(settings.ELEVATE_WEB_PROVIDER_BUDGET_SECONDS):
            identity = identity_for(user=beneficiary, connection=connection)
            return connection.provider.preflight(
                GrantRequest(
                    idempotency_key="preflight",
                    user_external_id=identity.external_id,
                    target_external_id=device.external_id,
                    target_kind=Elevation.TargetKind.DEVICE,
                    **grant_fields,
                )
            )
    except ProviderError as exc:
        if exc.permanent:
            raise PolicyViolation(exc.message, field="device") from exc
        return None


def elevation_create(
    *, requester: User, rules, needs_approval: bool, audit_action: str, audit_after: dict, **fields
) -> Elevation:
    """Store a validated new elevation, audit it and route it (approval or the grant queue).

    The one place new elevations are written: the device form, Jira and group mode call it
    after their own checks. One transaction, so a refused route leaves nothing behind.
    """
    if not fields.get("break_glass"):  # an emergency is never held up by paperwork
        check_may_request(fields["beneficiary"])
    current = now()
    fields["ticket_ref"] = (fields.get("ticket_ref") or "").strip()[:100]
    with transaction.atomic():
        # Checked again under the beneficiary's lock: parallel requests for several devices
        # must not each find the week's cap still free.
        _lock_caps_of(fields["beneficiary"].pk)
        policy.check_weekly_cap(rules, fields["beneficiary"], fields["requested_minutes"], current)
        elevation = Elevation.objects.create(
            requester=requester,
            policy=rules if rules.pk else None,
            total_minutes=fields["requested_minutes"],
            created_at=current,
            updated_at=current,
            **fields,
        )
        audit.record(
            audit_action,
            actor=requester,
            target=elevation,
            elevation=elevation,
            after={
                **audit_after,
                "minutes": elevation.requested_minutes,
                "starts_at": elevation.starts_at.isoformat(),
                "expires_at": elevation.expires_at.isoformat(),
                "source": elevation.source,
            },
            reason=elevation.reason,
        )
        route(elevation, rules, needs_approval, requester)
    return elevation


def route(elevation: Elevation, rules, needs_approval: bool, actor: User) -> None:
    """A new elevation goes to approval, or straight to the grant queue."""
    if needs_approval:
        transition(
            elevation,
            State.PENDING_APPROVAL,
            actor=actor,
            decide_by=now() + timedelta(minutes=rules.approval_timeout_minutes),
        )
    else:
        transition(elevation, State.APPROVED, actor=actor, action="elevation.auto_approved")
        enqueue_grant(elevation)


def enqueue_grant(elevation: Elevation) -> None:
    """Fast path: queue the grant after commit (the sweep catches anything this misses)."""
    if elevation.starts_at <= now():
        queueing.after_commit(queueing.grant, elevation.pk)


def _live_elevation(beneficiary: User, device: Device) -> Elevation | None:
    return Elevation.objects.filter(beneficiary=beneficiary, device=device, state__in=LIVE_STATES).first()


def _check_device_usable(device: Device, beneficiary: User) -> None:
    if device.removed_at is not None:
        raise ProviderUnavailable(
            f"{device.hostname} is no longer listed by {device.connection.name} and cannot be elevated.",
            field="device",
        )
    if not device.connection.enabled:
        raise ProviderUnavailable(f"{device.connection.name} is switched off by an admin.", field="device")
    if not device.users.filter(pk=beneficiary.pk).exists():
        raise NotAllowed(f"{device.hostname} is not one of {beneficiary}'s devices.", field="device")


def _reason_for_others(actor: User, elevation: Elevation, reason: str) -> str:
    """Helpdesk acting on someone else's elevation must say why."""
    if not permissions.is_party(actor, elevation):
        return policy.check_reason(reason)
    return (reason or "").strip()[: policy.REASON_MAX_LENGTH]


# ---------------------------------------------------------------------------------------------
# Extend, revoke, cancel
# ---------------------------------------------------------------------------------------------


def elevation_extend(*, elevation: Elevation, actor: User, minutes: int, reason: str = "") -> Elevation:
    """Push the expiry `minutes` later, within the policy's extension limits.

    The checks and the write take turns on the beneficiary's row (a short lock, no network
    call inside): ten parallel extends must each see the others' committed extensions, or the
    policy's caps would hold only for requests that arrive one at a time.
    """
    permissions.check_may_change(actor, elevation)
    reason = _reason_for_others(actor, elevation, reason)
    for _ in range(3):  # retry when a worker moved the row between our read and our write
        try:
            with transaction.atomic():
                _lock_caps_of(elevation.beneficiary_id)
                elevation.refresh_from_db()
                _extend_once(elevation, actor, minutes, reason)
            return elevation
        except StaleTransition:
            continue
    raise StaleTransition("The elevation kept changing; try again.")


def _lock_caps_of(beneficiary_id: int) -> None:
    """Serialise the cap checks (extensions, total, weekly) of one beneficiary's elevations."""
    User.objects.select_for_update().filter(pk=beneficiary_id).values_list("pk", flat=True).first()


def _extend_once(elevation: Elevation, actor: User, minutes: int, reason: str) -> None:
    if elevation.state not in (State.PENDING_APPROVAL, State.APPROVED, State.GRANTING, State.ACTIVE):
        raise PolicyViolation(f"A {elevation.get_state_display().lower()} elevation cannot be extended.")
    rules = permissions.policy_of(elevation)
    policy.check_extension(rules, elevation, minutes)
    policy.check_weekly_cap(rules, elevation.beneficiary, minutes, now())
    base = max(elevation.expires_at, now())
    transition(
        elevation,
        elevation.state,
        actor=actor,
        action="elevation.extended",
        reason=reason,
        expires_at=base + timedelta(minutes=minutes),
        extensions=elevation.extensions + 1,
        total_minutes=elevation.total_minutes + minutes,
        # Marks the new expiry as due for the provider, should the message be lost.
        **({"next_attempt_at": now()} if elevation.state == State.ACTIVE else {}),
    )
    if elevation.state == State.ACTIVE:
        queueing.after_commit(queueing.sync_expiry, elevation.pk)


def elevation_revoke(*, elevation: Elevation, actor: User, reason: str = "") -> Elevation:
    """End an elevation now: revoke what is granted, cancel what is not yet."""
    permissions.check_may_change(actor, elevation)
    reason = _reason_for_others(actor, elevation, reason)
    for _ in range(3):
        elevation.refresh_from_db()
        try:
            return _revoke_once(elevation, actor, reason)
        except StaleTransition:
            continue
    raise StaleTransition("The elevation kept changing; try again.")


def _revoke_once(elevation: Elevation, actor: User, reason: str) -> Elevation:
    if elevation.state in (State.REQUESTED, State.PENDING_APPROVAL, State.APPROVED):
        return transition(elevation, State.CANCELLED, actor=actor, reason=reason, ended_at=now())
    if elevation.state in (State.GRANTING, State.ACTIVE):
        with transaction.atomic():
            transition(
                elevation,
                State.REVOKING,
                actor=actor,
                action="elevation.revoke_requested",
                reason=reason,
                end_state=State.REVOKED,
                next_attempt_at=now(),
                attempts=0,
            )
            queueing.after_commit(queueing.revoke, elevation.pk)
        return elevation
    if elevation.state == State.REVOKING:
        return elevation  # already on its way out
    raise PolicyViolation(f"A {elevation.get_state_display().lower()} elevation cannot be revoked.")


def elevations_revoke_all(
    *, actor: User, reason: str, beneficiary: User | None = None, device: Device | None = None
) -> list[Elevation]:
    """Bulk revoke (offboarding, incident): every live elevation of a user or of a device."""
    if not actor.has_perm(permissions.ACT_FOR_OTHERS):
        raise NotAllowed("Only helpdesk may revoke in bulk.")
    reason = policy.check_reason(reason)
    if beneficiary is None and device is None:
        raise PolicyViolation("Name a user or a device to revoke for.")
    live = Elevation.objects.filter(state__in=LIVE_STATES - {State.REVOKING})
    if beneficiary is not None:
        live = live.filter(beneficiary=beneficiary)
    if device is not None:
        live = live.filter(device=device)
    audit.record(
        "helpdesk.bulk_revoke",
        actor=actor,
        target=beneficiary or device,
        reason=reason,
        after={"count": live.count()},
    )
    return [elevation_revoke(elevation=e, actor=actor, reason=reason) for e in live]


# ---------------------------------------------------------------------------------------------
# Approvals
# ---------------------------------------------------------------------------------------------


def elevation_approve(*, elevation: Elevation, approver: User, reason: str = "") -> Elevation:
    """Record an approval; once the policy's number of approvals is reached, queue the grant."""
    with transaction.atomic():
        _check_decidable(elevation, approver)
        _record_decision(elevation, approver, Approval.Decision.APPROVE, reason)
        approvals = elevation.approvals.filter(decision=Approval.Decision.APPROVE).count()
        if approvals >= max(1, permissions.policy_of(elevation).approvals_required):
            transition(elevation, State.APPROVED, actor=approver, reason=reason)
            enqueue_grant(elevation)
    return elevation


def elevation_deny(*, elevation: Elevation, approver: User, reason: str) -> Elevation:
    reason = policy.check_reason(reason)
    with transaction.atomic():
        _check_decidable(elevation, approver)
        _record_decision(elevation, approver, Approval.Decision.DENY, reason)
        transition(elevation, State.DENIED, actor=approver, reason=reason, ended_at=now())
    return elevation


def _check_decidable(elevation: Elevation, approver: User) -> None:
    # Decisions on one request take turns (row lock): two approvers of an N-of-M policy must not
    # each count the other's uncommitted approval as missing and leave the request pending.
    Elevation.objects.select_for_update().filter(pk=elevation.pk).values_list("pk", flat=True).first()
    elevation.refresh_from_db()
    if elevation.state != State.PENDING_APPROVAL:
        raise PolicyViolation(f"This request is {elevation.get_state_display().lower()}; there is nothing to decide.")
    permissions.check_may_approve(approver, elevation)
    if elevation.approvals.filter(approver=approver).exists():
        raise PolicyViolation("You already decided on this request.")


def _record_decision(elevation: Elevation, approver: User, decision: str, reason: str) -> None:
    Approval.objects.create(elevation=elevation, approver=approver, decision=decision, reason=reason, decided_at=now())
    audit.record(f"approval.{decision}", actor=approver, target=elevation, elevation=elevation, reason=reason)


__all__ = [
    "NotAllowed",
    "PolicyViolation",
    "PortalError",
    "elevation_approve",
    "elevation_deny",
    "elevation_extend",
    "elevation_request",
    "elevation_revoke",
    "elevations_revoke_all",
    "identity_for",
]
