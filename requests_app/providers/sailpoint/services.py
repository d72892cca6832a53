"""Use cases of SailPoint in each employee's own context: connect an identity, revoke it.

Keyword-only, PortalError messages fit for the person who asked, an audit event for every
change. Tokens are never part of a message or an audit record.
"""

from __future__ import annotations

import secrets

from django.db import transaction

from requests_app import audit, identity_problems
from requests_app.clock import now
from requests_app.errors import NotAllowed, PortalError, ProviderUnavailable
from requests_app.models import ProviderConnection, ProviderIdentity, User, UserAuthorization
from requests_app.providers.base import ProviderError
from requests_app.providers.jumpcloud.sync import sync_user_devices_task
from requests_app.providers.sailpoint import oauth

KIND = "sailpoint"
MANAGE_PERMISSION = "requests_app.change_providerconnection"


def sailpoint_connections():
    return ProviderConnection.objects.filter(kind=KIND, enabled=True)


def sailpoint_connect_start(*, connection: ProviderConnection) -> tuple[str, dict[str, str]]:
    """The authorize URL to send the browser to, and what the callback must find in the session."""
    if connection.kind != KIND or not connection.enabled:
        raise PortalError(f"{connection.name} is not an enabled SailPoint connection.")
    if not connection.client_id or not connection.secret:
        raise ProviderUnavailable(f"{connection.name} has no OAuth client yet: an admin sets its client id and secret.")
    state = secrets.token_urlsafe(24)
    verifier, challenge = oauth.pkce_pair()
    pending = {"state": state, "verifier": verifier, "connection": str(connection.public_id)}
    return oauth.authorize_url(connection, state=state, code_challenge=challenge), pending


def sailpoint_connect_complete(
    *, user: User, pending: dict[str, str] | None, state: str, code: str, error: str = ""
) -> UserAuthorization:
    """Finish the authorization-code flow: check the state, trade the code, store the tokens."""
    if not pending or not state or not secrets.compare_digest(pending.get("state", ""), state):
        raise PortalError(
            "This SailPoint sign-in is not the one Elevate started (or it was used already); start again."
        )
    if error:
        raise PortalError(f"SailPoint did not connect your identity ({error}).")
    if not code:
        raise PortalError("SailPoint sent no authorization code; start again.")
    connection = sailpoint_connections().filter(public_id=pending["connection"]).first()
    if connection is None:
        raise PortalError("That SailPoint connection is no longer available.")
    try:
        payload = oauth.exchange_code(connection, code=code, code_verifier=pending["verifier"])
    except ProviderError as exc:
        raise ProviderUnavailable(f"SailPoint did not accept the sign-in: {exc.message}") from exc
    subject = str(payload.get("identity_id") or "")
    if not subject or not payload.get("refresh_token"):
        raise ProviderUnavailable(
            "SailPoint's answer had no identity or no refresh token: the OAuth client must allow the "
            "AUTHORIZATION_CODE and REFRESH_TOKEN grant types (see the README's SailPoint section)."
        )
    taken = UserAuthorization.objects.filter(connection=connection, subject_id=subject, revoked_at=None).exclude(
        user=user
    )
    if taken.exists():
        raise PortalError(
            "This SailPoint identity is already connected to another Elevate account; sign in to SailPoint "
            "as yourself, or ask an admin to revoke the other connection."
        )
    with transaction.atomic():
        authorization, created = UserAuthorization.objects.update_or_create(
            user=user,
            connection=connection,
            defaults={
                "subject_id": subject,
                "subject_name": str(payload.get("user_name") or payload.get("user_id") or ""),
                "scope": str(payload.get("scope") or ""),
                "refresh_token": payload["refresh_token"],
                "access_token": payload["access_token"],
                "access_expires_at": oauth.expiry_of(payload),
                "connected_at": now(),
                "refreshed_at": None,
                "revoked_at": None,
                "revoked_by": None,
                "revoke_reason": "",
            },
        )
        ProviderIdentity.objects.update_or_create(user=user, connection=connection, defaults={"external_id": subject})
        identity_problems.forget(user_id=user.pk, connection_id=connection.pk)
        audit.record(
            "sailpoint.connected",
            actor=user,
            target=authorization,
            after={"connection": connection.name, "identity": subject, "first": created},
        )
        transaction.on_commit(lambda: _sync_devices(user.pk))
    return authorization


def _sync_devices(user_id: int) -> None:
    try:
        sync_user_devices_task.delay(user_id)
    except Exception:  # the broker is down: the periodic sync catches up
        return


def user_authorization_revoke(*, authorization: UserAuthorization, actor: User, reason: str = "") -> UserAuthorization:
    """Forget an employee's SailPoint tokens (the employee themself, or an admin)."""
    if authorization.user_id != actor.pk and not actor.has_perm(MANAGE_PERMISSION):
        raise NotAllowed("Only the employee or an admin may disconnect this SailPoint identity.")
    if authorization.revoked_at is not None:
        return authorization
    with transaction.atomic():
        UserAuthorization.objects.filter(pk=authorization.pk).update(
            refresh_token="",
            access_token="",
            access_expires_at=None,
            revoked_at=now(),
            revoked_by=actor,
            revoke_reason=reason[:300],
        )
        ProviderIdentity.objects.filter(
            user_id=authorization.user_id, connection_id=authorization.connection_id
        ).delete()
        audit.record(
            "sailpoint.disconnected",
            actor=actor,
            target=authorization,
            after={"connection": authorization.connection.name, "identity": authorization.subject_id},
            reason=reason,
        )
    authorization.refresh_from_db()
    return authorization
