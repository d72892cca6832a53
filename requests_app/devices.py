"""Keeping the portal's device list in step with each provider (on sign-in and by beat)."""

from __future__ import annotations

import logging

from django.db import transaction

from requests_app import audit
from requests_app.clock import now
from requests_app.errors import ProviderUnavailable
from requests_app.identities import identity_for
from requests_app.models import Device, ProviderConnection, User
from requests_app.providers.base import ProviderError

log = logging.getLogger(__name__)


def sync_user_devices(*, user: User, connection: ProviderConnection) -> list[Device]:
    """Fetch the user's devices from the provider; bind new ones, unbind vanished ones.

    A device no user is bound to any more, and that the provider no longer lists, is marked
    removed: it can no longer be requested.
    """
    identity = identity_for(user=user, connection=connection)
    listed = connection.provider.list_devices(identity.external_id)
    stamp = now()
    with transaction.atomic():
        seen = []
        for info in listed:
            device, _ = Device.objects.update_or_create(
                connection=connection,
                external_id=info.external_id,
                defaults={
                    "hostname": info.hostname,
                    "os": info.os,
                    "os_family": info.os_family,
                    "last_contact_at": info.last_contact_at,
                    "groups": list(info.groups),
                    "removed_at": None,
                    "synced_at": stamp,
                },
            )
            device.users.add(user)
            seen.append(device.pk)
        gone = user.devices.filter(connection=connection).exclude(pk__in=seen)
        for device in gone:
            device.users.remove(user)
            audit.record("device.unbound", target=device, after={"user": user.email})
        Device.objects.filter(connection=connection, users=None, removed_at=None).exclude(pk__in=seen).update(
            removed_at=stamp
        )
    return list(Device.objects.filter(pk__in=seen))


def sync_all() -> int:
    """Beat: refresh every user with an identity on an enabled connection. Returns users synced."""
    synced = 0
    for connection in ProviderConnection.objects.filter(enabled=True):
        for identity in connection.identities.select_related("user"):
            try:
                sync_user_devices(user=identity.user, connection=connection)
                synced += 1
            except (ProviderError, ProviderUnavailable) as exc:
                log.warning("device sync for %s on %s failed: %s", identity.user, connection, exc)
    return synced
