"""SailPoint JIT activations as a provider: the portal's verbs on top of `SailPointClient`.

How the portal maps onto SailPoint: a JIT *entitlement connection* ties one identity to one
privileged entitlement (e.g. "local admin on JDOE-MBP"). In the portal it is the grant's target:
a device registered for a SailPoint connection carries the entitlement connection id as its
external id (`connection.options["connection_id"]` is the fallback for single-entitlement
set-ups). Activate, extend and deactivate all address the entitlement connection, and are
accepted with 202 while a workflow does the work, so a grant stays unconfirmed until the
activation history reports it provisioned.

Connection options (all optional): `token_url`, `scope`, `connection_id`,
`max_activation_minutes`, `trust_accepted_activations` (confirm grants without the activation
history, which needs an ORG_ADMIN token), `entitlement_connections` (a list of
`{"id", "name", "users": [e-mail …], "os"}` offered as devices), `identities`
(`{e-mail: identity id}`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

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
from requests_app.providers.sailpoint.client import SailPointClient

# Activation history statuses (they differ from the workflow enum of the 202 answers).
HISTORY_PENDING = {"ACTIVATING", "AWAITING_FRICTIONS", "PROVISIONING"}
HISTORY_ACTIVE = {"PROVISIONED"}
HISTORY_ENDED = {"DEPROVISIONING", "COMPLETE", "CANCELLED", "TIMED_OUT", "REVOKED", "ERROR"}
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
    """What the portal stores as the grant's reference: `sp:<connection>:<activation>:<end>`.

    SailPoint extends by minutes from the current end and has no call that reports the end,
    so the reference carries the end the portal agreed with SailPoint (epoch seconds).
    """

    connection_id: str
    activation_id: str
    ends_at: datetime

    def __str__(self) -> str:
        return f"sp:{self.connection_id}:{self.activation_id}:{int(self.ends_at.timestamp())}"

    @classmethod
    def parse(cls, reference: str) -> ActivationReference:
        parts = reference.split(":")
        if len(parts) != 4 or parts[0] != "sp" or not parts[3].isdigit():
            raise ProviderError(f"not a SailPoint activation reference: {reference!r}", permanent=True)
        return cls(parts[1], parts[2], datetime.fromtimestamp(int(parts[3]), UTC))


def whole_seconds(moment: datetime) -> datetime:
    """Round up to a whole second, the precision a reference keeps."""
    return datetime.fromtimestamp(math.ceil(moment.timestamp()), UTC)


def minutes_between(start: datetime, end: datetime) -> int:
    """Whole minutes covering start→end (SailPoint periods are integers, at least 1)."""
    return max(1, math.ceil((end - start).total_seconds() / 60))


class SailPointProvider(Provider):
    """Temporary admin through SailPoint ISC JIT activations of an entitlement connection."""

    kind: ClassVar[str] = "sailpoint"
    label: ClassVar[str] = "SailPoint JIT activations"
    # The workflow deprovisions on its own at the end of the period.
    enforces_expiry: ClassVar[bool] = True

    @property
    def options(self) -> dict[str, Any]:
        return dict(getattr(self.connection, "options", None) or {})

    def client(self) -> SailPointClient:
        options = self.options
        return SailPointClient(
            self.connection.base_url,
            self.connection.client_id,
            self.connection.secret,
            token_url=options.get("token_url") or None,
            scope=options.get("scope") or None,
        )

    # -- identities and devices ---------------------------------------------------------
    def lookup_user(self, email: str) -> str:
        """The identity id from `options["identities"]`, else the e-mail itself.

        The JIT API addresses entitlement connections, never identities, so the e-mail is a
        sufficient key for matching a user to the connections offered to them.
        """
        identities = {k.lower(): v for k, v in (self.options.get("identities") or {}).items()}
        return str(identities.get(email.lower(), email.lower()))

    def list_devices(self, user_external_id: str) -> list[DeviceInfo]:
        wanted = user_external_id.lower()
        devices = []
        for entry in self.options.get("entitlement_connections") or []:
            users = {str(u).lower() for u in entry.get("users") or []}
            if users and wanted not in users:
                continue
            devices.append(
                DeviceInfo(
                    external_id=str(entry["id"]),
                    hostname=str(entry.get("name") or entry["id"]),
                    os=str(entry.get("os") or ""),
                    os_family=str(entry.get("os_family") or ""),
                )
            )
        return devices

    def _entitlement_connection_id(self, request: GrantRequest) -> str:
        connection_id = (
            request.options.get("connection_id") or request.target_external_id or self.options.get("connection_id")
        )
        if not connection_id:
            raise ProviderError(
                "SailPoint: no entitlement connection id for this grant; set the device's "
                "external id or the connection's `connection_id` option",
                permanent=True,
            )
        return str(connection_id)

    def preflight(self, request: GrantRequest) -> list[str]:
        self._entitlement_connection_id(request)
        limit = self.options.get("max_activation_minutes")
        minutes = minutes_between(request.starts_at or _now(), request.expires_at)
        if limit and minutes > int(limit):
            raise ProviderError(
                f"SailPoint allows at most {limit} minutes per activation; {minutes} requested",
                permanent=True,
            )
        return []

    # -- the grant lifecycle --------------------------------------------------------------
    def grant(self, request: GrantRequest) -> GrantResult:
        connection_id = self._entitlement_connection_id(request)
        minutes = minutes_between(_now(), request.expires_at)
        with self.client() as client:
            answer = client.activate(connection_id, minutes)
        status = str(answer.get("status") or "")
        if status in WORKFLOW_FAILED:
            raise ProviderError(f"SailPoint refused the activation (workflow {status})", permanent=True)
        started = _parse_time(answer.get("startTime")) or _now()
        period = int(answer.get("activationPeriodMins") or minutes)
        ends_at = whole_seconds(started + timedelta(minutes=period))
        reference = ActivationReference(connection_id, str(answer.get("activationId") or answer.get("id")), ends_at)
        return GrantResult(str(reference), confirmed=status == "PROVISIONED", expires_at=ends_at)

    def find_grant(self, request: GrantRequest) -> GrantResult | None:
        connection_id = self._entitlement_connection_id(request)
        try:
            with self.client() as client:
                records = client.history(connection_id, limit=5)
        except ProviderError as exc:
            if exc.status_code == 403:  # history search switched off for the tenant
                return None
            raise
        for record in records:
            status = record.get("status")
            if status in HISTORY_PENDING or status in HISTORY_ACTIVE:
                ends_at = whole_seconds(request.expires_at)
                reference = ActivationReference(connection_id, str(record["id"]), ends_at)
                return GrantResult(str(reference), confirmed=status in HISTORY_ACTIVE, expires_at=ends_at)
        return None

    def _history_record(self, client: SailPointClient, ref: ActivationReference) -> dict | None:
        records = client.history(ref.connection_id)
        for record in records:
            if str(record.get("id")) == ref.activation_id:
                return record
        return None

    def status(self, reference: str) -> GrantStatus:
        ref = ActivationReference.parse(reference)
        try:
            with self.client() as client:
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
            "give the API client idn:jit-activation-history:read (an ORG_ADMIN token) and enable the "
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
            with self.client() as client:
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
        new_reference = ActivationReference(ref.connection_id, ref.activation_id, ends_at)
        return GrantResult(str(new_reference), expires_at=ends_at)

    def revoke(self, reference: str) -> None:
        ref = ActivationReference.parse(reference)
        with self.client() as client:
            # Deactivate addresses the entitlement connection, not the activation: when ours
            # has ended, a signal could stop a newer activation of the same connection.
            try:
                record = self._history_record(client, ref)
            except ProviderError as exc:
                if exc.status_code != 403:
                    raise
                record = None
            if record is not None and record.get("status") in HISTORY_ENDED:
                return
            try:
                client.deactivate(ref.connection_id)
            except ProviderError as exc:
                if isinstance(exc, NotFound) or self._is_not_running(exc):
                    return
                raise

    @staticmethod
    def _is_not_running(exc: ProviderError) -> bool:
        message = exc.message.lower()
        return exc.status_code == 400 and any(p in message for p in NOT_RUNNING_PHRASES)

    def test_connection(self) -> list[CheckResult]:
        results = []
        with self.client() as client:
            try:
                client.token()
                results.append(CheckResult("sign-in", True, "client credentials accepted"))
            except ProviderError as exc:
                return [CheckResult("sign-in", False, exc.message)]
            connection_id = self.options.get("connection_id")
            if connection_id:
                try:
                    client.history(str(connection_id), limit=1)
                    results.append(CheckResult("activation history", True, "readable"))
                except ProviderError as exc:
                    results.append(CheckResult("activation history", False, exc.message))
        return results
