"""Device sync on sign-in: a person who signs in sees the devices their providers list now.

The periodic sync (beat task `requests_app.sync_all_devices`, portal/celery.py) catches the rest;
this is the fast path. Signing in must never wait for, or fail because of, a provider or the
broker: the receiver only queues a task, and a broker that is down is logged, not raised.
"""

from __future__ import annotations

import logging

from allauth.account.signals import user_logged_in
from celery import shared_task
from django.db import transaction
from django.dispatch import receiver

from requests_app.errors import ProviderUnavailable
from requests_app.providers.base import NotFound, ProviderError

log = logging.getLogger(__name__)


@receiver(user_logged_in, dispatch_uid="jumpcloud.sync_devices_on_sign_in")
def sync_devices_on_sign_in(sender, request, user, **kwargs) -> None:
    transaction.on_commit(lambda: _enqueue(user.pk))


def _enqueue(user_id: int) -> None:
    try:
        sync_user_devices_task.delay(user_id)
    except Exception as exc:  # the broker is down: the periodic sync will catch up
        log.warning("could not queue the sign-in device sync for user %s: %s", user_id, exc)


@shared_task(name="requests_app.sync_user_devices", ignore_result=True)
def sync_user_devices_task(user_id: int) -> int:
    """Refresh one user's devices on every enabled connection. Returns how many were synced."""
    from requests_app.devices import sync_user_devices
    from requests_app.models import ProviderConnection, ProviderIdentity, User

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return 0
    synced = 0
    for connection in ProviderConnection.objects.filter(enabled=True):
        try:
            try:
                sync_user_devices(user=user, connection=connection)
            except NotFound:
                # The cached provider id is gone (account re-created): look the e-mail up again.
                ProviderIdentity.objects.filter(user=user, connection=connection).delete()
                sync_user_devices(user=user, connection=connection)
            synced += 1
        except (ProviderError, ProviderUnavailable) as exc:
            log.warning("sign-in device sync for %s on %s failed: %s", user, connection, exc)
    return synced
