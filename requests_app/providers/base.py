"""The one interface every back end ("provider") implements, and the HTTP helper they share.

A provider turns the portal's domain verbs (grant, extend, revoke, status, devices) into calls
on an identity platform. The lifecycle never talks HTTP itself: it calls these verbs and reacts
to `ProviderError`, whose `permanent` flag decides between retrying and failing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from requests_app import counters
from requests_app.providers import gate

if TYPE_CHECKING:
    from requests_app.models import ProviderConnection

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class ProviderError(Exception):
    """A provider call failed.

    `permanent` errors (bad configuration, refused input) are not retried; the rest are.
    `retry_after` carries the server's Retry-After in seconds when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        status_code: int | None = None,
        may_have_applied: bool = False,
        gated: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after
        self.status_code = status_code
        # The call may have reached the provider and changed something (a timeout or a 5xx after
        # the request was sent): a grant may exist although we got no answer.
        self.may_have_applied = may_have_applied
        # Nothing was sent: the connection is paused (gate.py). Not the elevation's fault, so it
        # does not use up the elevation's attempts.
        self.gated = gated

    @property
    def rate_limited(self) -> bool:
        """Paused, or answered 429: the connection's turn, not the elevation's fault (nothing was
        done at the provider, and the call goes again when the pause is over)."""
        return self.gated or self.status_code == 429


class NotFound(ProviderError):
    """The provider has no such object (for revoke: it is already gone, which counts as done)."""

    def __init__(self, message: str = "not found at the provider") -> None:
        super().__init__(message, permanent=True, status_code=404)


@dataclass(frozen=True)
class GrantRequest:
    """Everything a provider needs to grant one elevation."""

    idempotency_key: str  # the elevation's public id: lets a provider find a grant made before a crash
    user_external_id: str
    target_external_id: str  # a device id, or a user group id in group mode
    target_kind: str  # "device" | "user_group"
    expires_at: datetime
    reason: str
    without_password: bool = False
    starts_at: datetime | None = None
    options: dict[str, Any] = field(default_factory=dict)  # e.g. a device group for group mode


@dataclass(frozen=True)
class GrantResult:
    """What the provider said to a grant. `confirmed` is False while an async grant runs."""

    reference: str
    confirmed: bool = True
    expires_at: datetime | None = None


@dataclass(frozen=True)
class GrantStatus:
    """The provider's view of one grant: `pending`, `active`, `ended` or `missing`."""

    state: str
    expires_at: datetime | None = None
    detail: str = ""

    @property
    def is_live(self) -> bool:
        return self.state in ("pending", "active")


@dataclass(frozen=True)
class DeviceInfo:
    """One device the provider says a user may use."""

    external_id: str
    hostname: str
    os: str = ""
    os_family: str = ""  # "windows" | "macos" | "linux" | ""
    last_contact_at: datetime | None = None
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckResult:
    """One line of "test connection": what was tried and whether it worked."""

    name: str
    ok: bool
    detail: str = ""


class Provider:
    """Base class of the provider plug-ins. Subclasses set `kind` and implement the verbs."""

    kind: ClassVar[str] = ""
    label: ClassVar[str] = ""
    # True when the platform removes the grant itself at `expires_at` (the sweep still checks).
    enforces_expiry: ClassVar[bool] = False
    # True when `revoke` is one idempotent call (a second one finds the grant already gone): the
    # engine then sends a revoke as two copies at once, so one lost call does not delay it.
    hedge_revokes: ClassVar[bool] = False

    def __init__(self, connection: ProviderConnection) -> None:
        self.connection = connection

    # -- identities and devices ---------------------------------------------------------
    def lookup_user(self, email: str) -> str:
        """Return the provider's id for the user with this e-mail, or raise ProviderError."""
        raise NotImplementedError

    def list_devices(self, user_external_id: str) -> list[DeviceInfo]:
        """Return the devices bound to this user at the provider."""
        raise NotImplementedError

    def preflight(self, request: GrantRequest) -> list[str]:
        """Check a grant before it is submitted.

        Raise ProviderError(permanent=True) for what the provider would refuse; return
        notes to show the user (e.g. "sign out and in again on Windows").
        """
        return []

    # -- the grant lifecycle --------------------------------------------------------------
    def grant(self, request: GrantRequest) -> GrantResult:
        raise NotImplementedError

    def find_grant(self, request: GrantRequest) -> GrantResult | None:
        """Find a live grant made for this request before a crash lost its reference."""
        return None

    def status(self, reference: str) -> GrantStatus:
        raise NotImplementedError

    def extend(self, reference: str, expires_at: datetime) -> GrantResult | None:
        raise NotImplementedError

    def revoke(self, reference: str) -> bool | None:
        """Revoke early. A grant that is already gone counts as revoked (no error). Return False
        while the provider has accepted the revoke but not yet confirmed it (asynchronous
        platforms): the engine keeps the elevation revoking and calls again in a few seconds."""
        raise NotImplementedError

    def test_connection(self) -> list[CheckResult]:
        return [CheckResult("configuration", True, "nothing to check")]


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Parse a Retry-After header (seconds or an HTTP date) into seconds from now."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    from django.utils import timezone

    return max(0.0, (when - timezone.now()).total_seconds())


def error_from_response(response: httpx.Response, what: str) -> ProviderError:
    """Map an HTTP error response to a ProviderError a person can act on."""
    code = response.status_code
    body = response.text[:300]
    if code == 404:
        return NotFound(f"{what}: not found at the provider")
    if code in (401, 403):
        return ProviderError(
            f"{what}: the provider refused the credentials (HTTP {code}); check the API key "
            "and that it has a role allowed to make this change",
            permanent=True,
            status_code=code,
        )
    if code == 429:
        return ProviderError(
            f"{what}: rate limited by the provider (HTTP 429)",
            retry_after=retry_after_seconds(response),
            status_code=code,
        )
    if code >= 500:
        return ProviderError(
            f"{what}: the provider had an error (HTTP {code})",
            retry_after=retry_after_seconds(response),
            status_code=code,
        )
    return ProviderError(
        f"{what}: the provider rejected the request (HTTP {code}): {body}",
        permanent=True,
        status_code=code,
    )


def http_client(base_url: str, headers: dict[str, str], timeout: httpx.Timeout | None = None):
    """The one place HTTP clients are built: timeouts always set, secrets never logged."""
    return httpx.Client(
        base_url=base_url,
        headers=headers,
        timeout=timeout or DEFAULT_TIMEOUT,
        follow_redirects=False,
        limits=POOL_LIMITS,
    )


# One client serves every thread of a worker (the provider workers run 16-32): keep a connection
# alive for each, or every wave of calls opens (and with TLS, handshakes) a dozen new ones.
POOL_LIMITS = httpx.Limits(max_connections=128, max_keepalive_connections=64, keepalive_expiry=30)


# Methods that change nothing at the provider: a timeout on these cannot have granted anything.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def send(client: httpx.Client, method: str, url: str, what: str, **kwargs: Any) -> httpx.Response:
    """Send one request through the connection's gate; turn transport failures and error statuses
    into ProviderError, saying whether the call may have changed something at the provider.

    In a worker step, a 429 (nothing was done) and a 5xx on a read are tried again in place once
    the connection's pause has passed, while the step's deadline allows: a step of four calls
    should not start over because its third one was rate-limited. A web request never retries.
    """
    connection = gate.connection_for(str(client.base_url), dict(client.headers))
    while True:
        try:
            return _send_once(connection, client, method, url, what, **kwargs)
        except ProviderError as exc:
            retryable = exc.status_code == 429 or (
                exc.status_code is not None and exc.status_code >= 500 and method.upper() in SAFE_METHODS
            )
            if not retryable or not gate.may_retry_in_place():
                raise


def _send_once(connection: gate.Connection, client: httpx.Client, method: str, url: str, what: str, **kwargs: Any):
    try:
        ticket = gate.before_call(connection)
    except gate.Paused as paused:
        counters.provider_call(connection.label, "paused")
        raise ProviderError(
            f"{what}: the provider asked us to slow down; trying again in {paused.seconds:.0f} s",
            retry_after=paused.seconds,
            gated=True,
        ) from None
    try:
        response = _request(connection, client, method, url, what, **kwargs)
    except BaseException:
        gate.call_abandoned(connection, ticket)  # no answer: it no longer holds the others back
        raise
    retry_after = retry_after_seconds(response) if response.status_code in (429, 503) else None
    gate.after_answer(connection, ticket, response.status_code, retry_after)
    if response.status_code >= 400:
        error = error_from_response(response, what)
        error.may_have_applied = method.upper() not in SAFE_METHODS and response.status_code >= 500
        raise error
    log.debug("%s %s -> %s", method, url, response.status_code)
    return response


def _request(connection: gate.Connection, client: httpx.Client, method: str, url: str, what: str, **kwargs: Any):
    read = gate.read_timeout(client.timeout.read or DEFAULT_TIMEOUT.read or 10.0)
    left = gate.remaining_time()
    if left is not None and left <= 0:
        raise ProviderError(f"{what}: the provider is too slow to answer right now", gated=True)
    if left is not None or read != client.timeout.read:
        bound = read if left is None else min(left, read)
        kwargs["timeout"] = httpx.Timeout(bound, connect=min(bound, client.timeout.connect or 2.0))
    applies = method.upper() not in SAFE_METHODS
    started = time.monotonic()
    try:
        response = client.request(method, url, **kwargs)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        counters.provider_call(connection.label, "unreachable")
        raise ProviderError(f"{what}: could not reach the provider ({type(exc).__name__})") from exc
    except httpx.TimeoutException as exc:
        counters.provider_call(connection.label, "timeout")
        raise ProviderError(f"{what}: the provider did not answer in time", may_have_applied=applies) from exc
    except httpx.TransportError as exc:
        counters.provider_call(connection.label, "error")
        raise ProviderError(
            f"{what}: the connection to the provider broke ({type(exc).__name__})", may_have_applied=applies
        ) from exc
    counters.provider_call(connection.label, str(response.status_code), time.monotonic() - started)
    return response
