"""SailPoint JIT activations as a provider: the portal's verbs on top of `SailPointClient`.

How the portal maps onto SailPoint: a JIT *entitlement connection* ties one identity to one
privileged entitlement (e.g. "local admin on JDOE-MBP"). The JIT operations act on the
caller's own connections only (`userAuth`), so every verb runs with the beneficiary's own token:
each employee connects their SailPoint identity once (`oauth.py`, the SailPoint page), the
portal's user id on the connection is that SailPoint identity id, and the grant reference
carries it, so status, extend and revoke act as the same person.

An employee's devices are their JIT entitlement connections
(`/entitlement-connections/v1/current-identity`); activate, extend and deactivate address one
of them and answer 202 while a workflow does the work, so a grant stays unconfirmed until the
activation history reports it provisioned, and a revoke until the history says REVOKED.

Connection fields: base URL `https://{tenant}.api.identitynow.com`, client id and secret of
the OAuth client. Options (all optional): `authorize_url`, `token_url`, `scope`,
`max_activation_minutes`, `trust_accepted_activations` (confirm grants without the activation
history, which the tenant's feature flag may switch off).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from requests_app.models import UserAuthorization
from requests_app.providers.base import (
    CheckResult,
    DeviceInfo,
    GrantRequest,
    GrantResult,
    GrantStatus,
    NotFound,
    Provider,
    ProviderError,
)
from requests_app.providers.sailpoint.client import SailPointClient, request_token
from requests_app.providers.sailpoint.oauth import UserTokens, connect_prompt, token_url

log = logging.getLogger(__name__)

# Activation history statuses (they differ from the workflow enum of the 202 answers).
HISTORY_PENDING = {"ACTIVATING", "AWAITING_FRICTIONS", "PROVISIONING"}
HISTORY_ACTIVE = {"PROVISIONED"}
HISTORY_DONE = {"COMPLETE", "CANCELLED", "TIMED_OUT", "REVOKED", "ERROR"}
WORKFLOW_FAILED = {"INVALID", "ERROR"}
# Phrases SailPoint may use (with 400) for a signal sent to a workflow that no longer runs.
NOT_RUNNING_PHRASES = ("already completed", "not running", "does not exist", "no running")


def _now() -> datetime:
    return datetime.now(UTC)


def _parse_time(value: Any) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ActivationReference:
    """The grant's reference: `sp:<identity>:<connection>:<activation>:<end>`.

    `identity` is the beneficiary's SailPoint identity id: whose token status, extend and
    revoke use. SailPoint extends by minutes from the current end and has no call that reports
    the end, so the reference carries the end the portal agreed with SailPoint (epoch seconds).
    """

    identity_id: str
    connection_id: str
    activation_id: str
    ends_at: datetime

    def __str__(self) -> str:
        return f"sp:{self.identity_id}:{self.connection_id}:{self.activation_id}:{int(self.ends_at.timestamp())}"

    @classmethod
    def parse(cls, reference: str) -> ActivationReference:
        parts = reference.split(":")
        if len(parts) == 4:  # made before grants ran in the user's context: no identity
            parts.insert(1, "")
        if len(parts) != 5 or parts[0] != "sp" or not parts[4].isdigit():
            raise ProviderError(f"not a SailPoint activation reference: {reference!r}", permanent=True)
        return cls(parts[1], parts[2], parts[3], datetime.fromtimestamp(int(parts[4]), UTC))


def whole_seconds(moment: datetime) -> datetime:
    """Round up to a whole second, the precision a reference keeps."""
    return datetime.fromtimestamp(math.ceil(moment.timestamp()), UTC)


def minutes_between(start: datetime, end: datetime) -> int:
    """Whole minutes covering start→end (SailPoint periods are integers, at least 1)."""
    return max(1, math.ceil((end - start).total_seconds() / 60))


def _first_text(record: dict[str, Any], *paths: str) -> str:
    """The first non-empty value among dotted paths (`entitlement.name`) of a record."""
    for path in paths:
        value: Any = record
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if value:
            return str(value)
    return ""


class SailPointProvider(Provider):
    """Temporary admin through SailPoint ISC JIT activations, in each employee's own context."""

    kind: ClassVar[str] = "sailpoint"
    label: ClassVar[str] = "SailPoint JIT activations"
    # The workflow deprovisions on its own at the end of the period.
    enforces_expiry: ClassVar[bool] = True

    @property
    def options(self) -> dict[str, Any]:
        return dict(getattr(self.connection, "options", None) or {})

    def client(self, identity_id: str) -> SailPointClient:
        """A client acting as this SailPoint identity (its employee must have connected it)."""
        return SailPointClient(self.connection.base_url, UserTokens.for_identity(self.connection, identity_id))

    # -- identities and devices ---------------------------------------------------------
    def lookup_user(self, email: str) -> str:
        """The SailPoint identity id the employee with this address connected, or the prompt to
        connect it (SailPoint activates only in the employee's own name)."""
        authorization = None
        if getattr(self.connection, "pk", None):
            authorization = (
                UserAuthorization.objects.filter(connection=self.connection, user__email__iexact=email)
                .order_by("revoked_at")
                .first()
            )
        if authorization is None or not authorization.is_live:
            why = "Your SailPoint connection was revoked" if authorization is not None else ""
            raise ProviderError(connect_prompt(self.connection.name, why), permanent=True)
        return authorization.subject_id

    def list_devices(self, user_external_id: str) -> list[DeviceInfo]:
        """The employee's own JIT entitlement connections, each offered as one "device"."""
        with self.client(user_external_id) as client:
            records = client.my_jit_connections()
        devices = []
        for record in records:
            connection_id = _first_text(record, "connectionId", "id")
            if not connection_id or _first_text(record, "type").upper() not in ("", "JIT"):
                continue
            entitlement = _first_text(record, "entitlement.name", "entitlementName", "name") or connection_id
            source = _first_text(record, "source.name", "sourceName", "source.displayName")
            devices.append(
                DeviceInfo(
                    external_id=connection_id,
                    hostname=f"{entitlement} ({source})" if source else entitlement,
                    os=source,
                )
            )
        return sorted(devices, key=lambda device: device.hostname.lower())

    @staticmethod
    def _entitlement_connection_id(request: GrantRequest) -> str:
        connection_id = request.options.get("connection_id") or request.target_external_id
        if not connection_id:
            raise ProviderError("SailPoint: no entitlement connection for this grant", permanent=True)
        return str(connection_id)

    def preflight(self, request: GrantRequest) -> list[str]:
        """A connected identity, the period limit, and the entitlement connection still being the
        employee's own JIT connection. Reads only; a check that cannot run raises a transient error."""
        connection_id = self._entitlement_connection_id(request)
        limit = self.options.get("max_activation_minutes")
        minutes = minutes_between(request.starts_at or _now(), request.expires_at)
        if limit and minutes > int(limit):
            raise ProviderError(
                f"SailPoint allows at most {limit} minutes per activation; {minutes} requested",
                permanent=True,
            )
        try:
            with self.client(request.user_external_id) as client:
                mine = {_first_text(record, "connectionId", "id") for record in client.my_jit_connections()}
        except NotFound:
            return []  # a tenant without the listing: SailPoint's own check at activation decides
        if connection_id not in mine:
            raise ProviderError(
                "This SailPoint entitlement is not one of your own JIT connections (any more), so SailPoint "
                "would refuse to activate it; pick another, or ask your SailPoint administrator.",
                permanent=True,
                status_code=403,
            )
        return []

    # -- the grant lifecycle --------------------------------------------------------------
    def grant(self, request: GrantRequest) -> GrantResult:
        connection_id = self._entitlement_connection_id(request)
        minutes = minutes_between(_now(), request.expires_at)
        with self.client(request.user_external_id) as client:
            try:
                answer = client.activate(connection_id, minutes)
            except ProviderError as exc:
                # An earlier attempt whose answer was lost may have started it: adopt that one.
                if exc.permanent and "already running" in exc.message and (found := self.find_grant(request)):
                    return found
                raise
        status = str(answer.get("status") or "")
        if status in WORKFLOW_FAILED:
            raise ProviderError(f"SailPoint refused the activation (workflow {status})", permanent=True)
        started = _parse_time(answer.get("startTime")) or _now()
        period = int(answer.get("activationPeriodMins") or minutes)
        ends_at = whole_seconds(started + timedelta(minutes=period))
        activation_id = str(answer.get("activationId") or answer.get("id"))
        reference = ActivationReference(request.user_external_id, connection_id, activation_id, ends_at)
        return GrantResult(str(reference), confirmed=status == "PROVISIONED", expires_at=ends_at)

    def find_grant(self, request: GrantRequest) -> GrantResult | None:
        """The activation of this connection that is starting or running, if any (the answer to
        an activate may have been lost to a timeout): the caller's own history says."""
        connection_id = self._entitlement_connection_id(request)
        try:
            with self.client(request.user_external_id) as client:
                records = client.history(connection_id, limit=5)
        except ProviderError as exc:
            if exc.status_code == 403:  # history search switched off for the tenant
                return None
            raise
        for record in records:
            status = record.get("status")
            if status in HISTORY_PENDING or status in HISTORY_ACTIVE:
                ends_at = whole_seconds(request.expires_at)
                reference = ActivationReference(request.user_external_id, connection_id, str(record["id"]), ends_at)
                return GrantResult(str(reference), confirmed=status in HISTORY_ACTIVE, expires_at=ends_at)
        return None

    @staticmethod
    def _history_record(client: SailPointClient, ref: ActivationReference) -> dict | None:
        for record in client.history(ref.connection_id):
            if str(record.get("id")) == ref.activation_id:
                return record
        return None

    def status(self, reference: str) -> GrantStatus:
        ref = ActivationReference.parse(reference)
        try:
            with self.client(ref.identity_id) as client:
                record = self._history_record(client, ref)
        except ProviderError as exc:
            if exc.status_code != 403:
                raise
            return self._status_without_history(ref, exc)
        if record is None:
            return GrantStatus("missing", detail="SailPoint has no record of this activation")
        status = str(record.get("status") or "")
        if status in HISTORY_ACTIVE:
            return GrantStatus("active", expires_at=ref.ends_at)
        if status in HISTORY_PENDING:
            return GrantStatus("pending", expires_at=ref.ends_at, detail=status)
        detail = f"{status}: {record['error']}" if record.get("error") else status
        if status == "ERROR" and not record.get("provisionCompleted"):
            # The workflow failed before granting anything: starting it again would fail the
            # same way, so this is a permanent error for the grant, not a grant that ended.
            raise ProviderError(f"SailPoint could not activate the entitlement ({detail})", permanent=True)
        return GrantStatus("ended", detail=detail)

    def _status_without_history(self, ref: ActivationReference, exc: ProviderError) -> GrantStatus:
        """The activation history is the only read-back; without it, trust the 202 if allowed."""
        if self.options.get("trust_accepted_activations"):
            state = "active" if _now() < ref.ends_at else "ended"
            return GrantStatus(state, expires_at=ref.ends_at, detail="assumed: history not readable")
        raise ProviderError(
            "SailPoint activation history is not readable (HTTP 403), so grants cannot be confirmed: "
            "give the OAuth client the scope idn:jit-activation-history-self:read and enable the "
            "tenant's activation history search, or set the connection option "
            '"trust_accepted_activations": true',
            permanent=True,
            status_code=403,
        ) from exc

    def extend(self, reference: str, expires_at: datetime) -> GrantResult | None:
        ref = ActivationReference.parse(reference)
        if expires_at <= ref.ends_at:
            return GrantResult(reference, expires_at=ref.ends_at)
        minutes = minutes_between(ref.ends_at, expires_at)
        try:
            with self.client(ref.identity_id) as client:
                client.extend(ref.connection_id, minutes)
        except ProviderError as exc:
            if isinstance(exc, NotFound) or self._is_not_running(exc):
                raise ProviderError(
                    "SailPoint: the activation has already ended, so it cannot be extended",
                    permanent=True,
                    status_code=exc.status_code,
                ) from exc
            raise
        ends_at = ref.ends_at + timedelta(minutes=minutes)
        new_reference = ActivationReference(ref.identity_id, ref.connection_id, ref.activation_id, ends_at)
        return GrantResult(str(new_reference), expires_at=ends_at)

    def revoke(self, reference: str) -> bool | None:
        """Deactivate, and say done only when the history says the activation is over.

        False: SailPoint accepted the deactivation (202 DEPROVISIONING) or is still
        deprovisioning; the caller keeps the elevation revoking and asks again, and the signal
        is not sent twice. True: REVOKED (or otherwise ended, or gone).
        """
        ref = ActivationReference.parse(reference)
        with self.client(ref.identity_id) as client:
            # Deactivate addresses the entitlement connection, not the activation: when ours
            # has ended, a signal could stop a newer activation of the same connection.
            try:
                record = self._history_record(client, ref)
                readable = True
            except ProviderError as exc:
                if exc.status_code != 403:
                    raise
                record, readable = None, False
            status = str((record or {}).get("status") or "")
            if status in HISTORY_DONE:
                return True
            if status == "DEPROVISIONING":
                return False
            try:
                answer = client.deactivate(ref.connection_id)
            except ProviderError as exc:
                if isinstance(exc, NotFound) or self._is_not_running(exc):
                    return True  # no workflow runs for the connection: nothing left to end
                raise
        if str(answer.get("status") or "") == "REVOKED":
            return True
        if not readable:
            # Without the history nothing will ever say REVOKED: the next ask deactivates again,
            # and "no running workflow" (404) ends it.
            log.info("SailPoint history not readable: revoke of %s confirmed by the next deactivate", ref)
        return False

    @staticmethod
    def _is_not_running(exc: ProviderError) -> bool:
        message = exc.message.lower()
        return exc.status_code == 400 and any(p in message for p in NOT_RUNNING_PHRASES)

    def test_connection(self) -> list[CheckResult]:
        """The OAuth client (a refresh with a token that cannot exist: "invalid_grant" means the
        client id and secret were accepted) and how many employees have connected."""
        form = {
            "grant_type": "refresh_token",
            "client_id": self.connection.client_id,
            "client_secret": self.connection.secret,
            "refresh_token": "elevate-connection-test",
        }
        try:
            request_token(token_url(self.connection), form, "SailPoint OAuth client")
            client_check = CheckResult("OAuth client", True, "accepted")
        except ProviderError as exc:
            ok = exc.status_code == 400 and "invalid_grant" in exc.message
            client_check = CheckResult("OAuth client", ok, "client id and secret accepted" if ok else exc.message)
        connected = UserAuthorization.objects.filter(
            connection_id=getattr(self.connection, "pk", None), revoked_at=None
        ).count()
        return [client_check, CheckResult("connected employees", True, f"{connected} connected")]
