"""SailPoint tokens in each employee's own user context: authorization code with PKCE, and a
refresh token kept encrypted in `UserAuthorization` and used to renew the access token before
it expires (contract notes, section 9).

`UserTokens` is the `TokenSource` the client uses for one employee; the connect page uses
`authorize_url`, `redirect_uri` and `exchange_code`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from requests_app import crypto
from requests_app.clock import now
from requests_app.models import ProviderConnection, UserAuthorization
from requests_app.providers.base import ProviderError
from requests_app.providers.sailpoint.client import request_token

# Renew this long before an access token expires (capped to a fifth of short lifetimes).
RENEW_MARGIN = timedelta(seconds=60)
CONNECT_PAGE = "/sailpoint/"


def connect_prompt(connection_name: str, why: str = "") -> str:
    """The message that sends an employee to connect their SailPoint identity."""
    reason = why or "Your SailPoint identity is not connected to Elevate yet"
    return (
        f"{reason}. Connect SailPoint on the SailPoint page ({CONNECT_PAGE}) for {connection_name}, "
        "then ask again: SailPoint activates admin rights only in your own name."
    )


def token_url(connection: ProviderConnection) -> str:
    return (connection.options or {}).get("token_url") or f"{connection.base_url.rstrip('/')}/oauth/token"


def authorize_endpoint(connection: ProviderConnection) -> str:
    """`https://{tenant}.login.sailpoint.com/oauth/authorize` for `{tenant}.api.identitynow.com`;
    the `authorize_url` option overrides; other hosts (a simulator) serve it themselves."""
    option = (connection.options or {}).get("authorize_url")
    if option:
        return option
    host = urlsplit(connection.base_url).hostname or ""
    if host.endswith(".api.identitynow.com"):
        tenant = host.split(".", 1)[0]
        return f"https://{tenant}.login.sailpoint.com/oauth/authorize"
    return f"{connection.base_url.rstrip('/')}/oauth/authorize"


def redirect_uri() -> str:
    """The one redirect URI to register on the SailPoint OAuth client."""
    return settings.ELEVATE_BASE_URL + reverse("sailpoint:callback")


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) per RFC 7636."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(connection: ProviderConnection, *, state: str, code_challenge: str) -> str:
    query = {
        "client_id": connection.client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri(),
        "state": state,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
    }
    scope = (connection.options or {}).get("scope")
    if scope:
        query["scope"] = scope
    return f"{authorize_endpoint(connection)}?{urlencode(query)}"


def exchange_code(connection: ProviderConnection, *, code: str, code_verifier: str) -> dict[str, Any]:
    """Trade the authorization code for the employee's tokens."""
    form = {
        "grant_type": "authorization_code",
        "client_id": connection.client_id,
        "client_secret": connection.secret,
        "code": code,
        "redirect_uri": redirect_uri(),
        "code_verifier": code_verifier,
    }
    return request_token(token_url(connection), form, "SailPoint sign-in")


def expiry_of(payload: dict[str, Any]):
    lifetime = timedelta(seconds=float(payload.get("expires_in") or 0))
    return now() + lifetime - min(RENEW_MARGIN, lifetime / 5)


class UserTokens:
    """One employee's tokens on one connection: the stored access token while it is fresh,
    else a new one from the refresh token (stored again: SailPoint may rotate it)."""

    def __init__(self, authorization: UserAuthorization) -> None:
        self.authorization = authorization

    @classmethod
    def for_identity(cls, connection: ProviderConnection, subject_id: str) -> UserTokens:
        authorization = None
        if subject_id and getattr(connection, "pk", None):
            authorization = (
                UserAuthorization.objects.filter(connection=connection, subject_id=subject_id)
                .select_related("connection")
                .first()
            )
        if authorization is None or not authorization.is_live:
            why = "Your SailPoint connection was revoked" if authorization is not None else ""
            raise ProviderError(connect_prompt(connection.name, why), permanent=True, status_code=401)
        return cls(authorization)

    def access_token(self) -> str:
        auth = self.authorization
        if auth.access_token and auth.access_expires_at and now() < auth.access_expires_at:
            return auth.access_token
        self.renew()
        return self.authorization.access_token

    def renew(self) -> None:
        auth = self.authorization
        connection = auth.connection
        stored = auth.refresh_token
        refresh_token = latest_refresh_token(stored)
        form = {
            "grant_type": "refresh_token",
            "client_id": connection.client_id,
            "client_secret": connection.secret,
            "refresh_token": refresh_token,
        }
        try:
            payload = request_token(token_url(connection), form, "SailPoint token renewal")
        except ProviderError as exc:
            if not exc.permanent:
                raise
            fresh = UserAuthorization.objects.filter(pk=auth.pk).first()
            if fresh is not None and fresh.is_live and fresh.refresh_token != stored:
                self.authorization = fresh  # another worker renewed (and rotated) it first
                return self.renew()
            raise ProviderError(
                connect_prompt(
                    connection.name, "SailPoint no longer accepts your connection (expired or revoked there)"
                ),
                permanent=True,
                status_code=401,
            ) from exc
        auth.access_token = payload["access_token"]
        auth.access_expires_at = expiry_of(payload)
        auth.refresh_token = payload.get("refresh_token") or refresh_token
        auth.refreshed_at = now()
        if auth.refresh_token != stored:
            remember_successor(refresh_token, auth.refresh_token)
        UserAuthorization.objects.filter(pk=auth.pk, revoked_at=None).update(
            access_token=auth.access_token,
            access_expires_at=auth.access_expires_at,
            refresh_token=auth.refresh_token,
            refreshed_at=auth.refreshed_at,
        )


# A rotated refresh token is spent the moment SailPoint answers. The row is written inside the
# caller's transaction (a grant step holds one), and a rollback would lose the only valid token;
# so each rotation is also kept, encrypted, in the cache (outside any transaction), keyed by a
# digest of the token it replaced, and a renewal follows that chain from the stored token first.
SUCCESSOR_SECONDS = 30 * 24 * 3600


def _successor_key(refresh_token: str) -> str:
    return "sailpoint-refresh-successor:" + hashlib.sha256(refresh_token.encode()).hexdigest()


def remember_successor(old: str, new: str) -> None:
    cache.set(_successor_key(old), crypto.encrypt(new), SUCCESSOR_SECONDS)


def latest_refresh_token(refresh_token: str) -> str:
    """The newest token that rotation made from `refresh_token` (itself when there is none)."""
    for _ in range(10):  # a chain grows by one per rotation that lost its write: stays short
        successor = cache.get(_successor_key(refresh_token))
        if not successor:
            break
        refresh_token = crypto.decrypt(successor)
    return refresh_token
