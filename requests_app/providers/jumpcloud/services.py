"""Use cases the JumpCloud connector adds to the portal's services.

- `group_elevation_request`: helpdesk and admins give a JumpCloud user group sudo (everywhere,
  or on one device group) for a window. The revert is the portal's job: it is an ordinary
  elevation (target_kind "user_group"), so the same sweep that expires device grants reverts it,
  after a worker crash too.
- `elevations_request_devices`: one request for several devices, one elevation per device.

Both follow `requests_app.services`: keyword-only, policy checked on the server, state changed
only through the lifecycle, PortalError messages fit for the person who asked.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from requests_app import permissions, policy, services
from requests_app.clock import now
from requests_app.errors import NotAllowed, PolicyViolation, PortalError, ProviderUnavailable
from requests_app.lifecycle import LIVE_STATES
from requests_app.models import Device, Elevation, ProviderConnection, User
from requests_app.providers.base import GrantRequest, ProviderError

GROUP_KIND = "jumpcloud_group"


def group_elevation_request(
    *,
    requester: User,
    connection: ProviderConnection,
    group_id: str,
    minutes: int,
    reason: str,
    device_group_id: str = "",
    without_password: bool = False,
    ticket_ref: str = "",
    starts_at: datetime | None = None,
) -> Elevation:
    """Give a user group sudo for `minutes` (on one device group when `device_group_id` is set)."""
    if not requester.has_perm(permissions.ACT_FOR_OTHERS):
        raise NotAllowed("Only helpdesk and admins may elevate a user group.")
    if connection.kind != GROUP_KIND:
        raise PolicyViolation(f"{connection.name} is not a JumpCloud user-group connection.", field="connection")
    if not connection.enabled:
        raise ProviderUnavailable(f"{connection.name} is switched off by an admin.", field="connection")
    reason = policy.check_reason(reason)
    group_id, device_group_id = group_id.strip(), device_group_id.strip()
    if not group_id:
        raise PolicyViolation("Choose the user group to elevate.", field="group")
    current = now()
    starts_at = starts_at or current
    rules = policy.policy_for(requester, None)
    policy.check_duration(rules, minutes)
    policy.check_start(rules, starts_at, current)
    if without_password and not rules.allow_passwordless:
        raise PolicyViolation("This policy does not allow sudo without a password.", field="without_password")
    _check_group_free(connection, group_id)
    options = {"device_group_id": device_group_id} if device_group_id else {}
    expires_at = max(starts_at, current) + timedelta(minutes=minutes)
    label, notes = _preflight_group(connection, group_id, device_group_id, expires_at, reason, without_password)
    try:
        elevation = services.elevation_create(
            requester=requester,
            rules=rules,
            needs_approval=rules.needs_approval_for(minutes),
            audit_action="elevation.requested",
            audit_after={"user_group": label},
            beneficiary=requester,
            connection=connection,
            target_kind=Elevation.TargetKind.USER_GROUP,
            target_ref=group_id,
            target_label=label,
            target_options=options,
            reason=reason,
            ticket_ref=ticket_ref,
            source=Elevation.Source.HELPDESK,
            without_password=without_password,
            requested_minutes=minutes,
            starts_at=starts_at,
            expires_at=expires_at,
            notes=notes,
        )
    except IntegrityError:
        _check_group_free(connection, group_id)  # lost a race: say who holds it
        raise
    return elevation


def _check_group_free(connection: ProviderConnection, group_id: str) -> None:
    """One live elevation per group, whoever asked: two would undo each other at revert."""
    holder = (
        Elevation.objects.filter(connection=connection, target_ref=group_id, device=None, state__in=LIVE_STATES)
        .select_related("requester")
        .first()
    )
    if holder is not None:
        raise PolicyViolation(
            f"{holder.target_label or group_id} is already elevated (asked by {holder.requester}, until "
            f"{holder.expires_at:%H:%M} UTC); extend or revoke that elevation instead.",
            field="group",
        )


def _preflight_group(
    connection: ProviderConnection,
    group_id: str,
    device_group_id: str,
    expires_at: datetime,
    reason: str,
    without_password: bool,
) -> tuple[str, list[str]]:
    """Ask JumpCloud before anything is stored: does the group exist, is it free, its name."""
    provider = connection.provider
    request = GrantRequest(
        idempotency_key="preflight",
        user_external_id="",
        target_external_id=group_id,
        target_kind=Elevation.TargetKind.USER_GROUP,
        expires_at=expires_at,
        reason=reason,
        without_password=without_password,
        options={"device_group_id": device_group_id} if device_group_id else {},
    )
    try:
        notes = provider.preflight(request)
        label = provider.group_label(group_id, device_group_id)
    except ProviderError as exc:
        if exc.permanent:
            raise PolicyViolation(exc.message, field="group") from exc
        raise ProviderUnavailable(
            f"{connection.name} cannot be reached right now ({exc.message}); try again in a minute."
        ) from exc
    return label, notes


def elevations_request_devices(
    *, requester: User, devices: Iterable[Device], minutes: int, reason: str, **options
) -> list[Elevation]:
    """One request for several devices: one elevation per device, all of them or none.

    `options` are passed to `services.elevation_request` (beneficiary, ticket_ref,
    without_password, starts_at, source, source_ref). A device that cannot be requested stops
    the whole request, and the message names it.
    """
    unique = list({device.pk: device for device in devices}.values())
    if not unique:
        raise PolicyViolation("Choose at least one device.", field="devices")
    elevations = []
    with transaction.atomic():
        for device in unique:
            try:
                elevation = services.elevation_request(
                    requester=requester, device=device, minutes=minutes, reason=reason, **options
                )
            except PortalError as exc:
                prefix = "" if len(unique) == 1 else f"{device.hostname}: "
                raise type(exc)(prefix + exc.message, field=exc.field) from exc
            elevations.append(elevation)
    return elevations
