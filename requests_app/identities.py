"""A portal user's id on a provider: found once (by e-mail), then cached in ProviderIdentity.

Below services, devices and execution, which all need it."""

from __future__ import annotations

from requests_app import identity_problems
from requests_app.auth.sso import address_as_sent
from requests_app.errors import ProviderUnavailable
from requests_app.models import ProviderConnection, ProviderIdentity, User
from requests_app.providers.base import ProviderError


def cached_identity(user_id: int, connection: ProviderConnection) -> ProviderIdentity | None:
    """The identity found before, if any (needs only the user's id)."""
    return ProviderIdentity.objects.filter(user_id=user_id, connection=connection).first()


def identity_for(*, user: User, connection: ProviderConnection) -> ProviderIdentity:
    """The user's id on the provider: cached, else looked up by e-mail and cached."""
    return cached_identity(user.pk, connection) or look_up_identity(user=user, connection=connection)


def look_up_identity(*, user: User, connection: ProviderConnection) -> ProviderIdentity:
    """Ask the provider for the user's id (by e-mail) and cache it."""
    try:
        external_id = connection.provider.lookup_user(address_as_sent(user))
    except ProviderError as exc:
        if not exc.permanent:
            raise  # transient: the caller decides whether to retry or to tell the user
        message = f"No account for {user.email} was found on {connection.name}: {exc.message}"
        identity_problems.remember(user_id=user.pk, connection_id=connection.pk, message=message)
        raise ProviderUnavailable(message) from exc
    identity, _ = ProviderIdentity.objects.update_or_create(
        user=user, connection=connection, defaults={"external_id": external_id}
    )
    identity_problems.forget(user_id=user.pk, connection_id=connection.pk)
    return identity
