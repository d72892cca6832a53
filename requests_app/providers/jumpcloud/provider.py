"""JumpCloud providers: the portal's verbs on top of `client.JumpCloudClient`.

- `JumpCloudDeviceProvider` ("jumpcloud"): temporary admin on one device through an access
  request. JumpCloud removes the grant itself at expiry; the portal still checks.
- `JumpCloudGroupProvider` ("jumpcloud_group"): sudo for a whole user group (group attribute)
  or for a user group on one device group (association attribute). JumpCloud never reverts
  these, so the portal's expiry sweep does, through `revoke`.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode

from django.core.cache import cache

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
from requests_app.providers.jumpcloud.client import (
    DEVICE_ADMIN_OPERATION_ID,
    USER_GROUP_WRITABLE_FIELDS,
    shared_client,
)

log = logging.getLogger(__name__)

# accessState values: "granted" is confirmed; the others are our best reading (contract 2.2).
_LIVE_STATES = {"granted": "active", "pending": "pending", "approved": "pending"}
_WINDOWS_NOTE = (
    "Windows applies the change at the next sign-in: sign out and back in on {host} once "
    "the request is granted (and again after it ends)."
)
_MARKER = "[elevate {}]"
NAME_CACHE_SECONDS = 30 * 24 * 3600  # names of groups, shown when JumpCloud cannot say them now
_MARKER_PATTERN = re.compile(r"\[elevate ([^\]]+)\]")


def format_expiry(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds and a Z, as in JumpCloud's own examples."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _sudo_of(attributes: Any) -> dict[str, Any] | None:
    sudo = (attributes or {}).get("sudo") if isinstance(attributes, dict) else None
    return sudo if isinstance(sudo, dict) else None


def _sudo_enabled(attributes: Any) -> bool:
    return bool((_sudo_of(attributes) or {}).get("enabled"))


def _os_family(system: dict[str, Any]) -> str:
    family = str(system.get("osFamily") or system.get("os") or "").lower()
    if "windows" in family:
        return "windows"
    if family in ("darwin", "macos") or "mac" in family:
        return "macos"
    if family:
        return "linux"
    return ""


def _timeout_option(value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = 0.0
    if seconds <= 0:
        raise ProviderError(
            f"The connection's options.timeout must be a number of seconds, not {value!r}.", permanent=True
        )
    return seconds


class _JumpCloudProvider(Provider):
    """What both JumpCloud kinds share: the client, identities, devices, connection checks."""

    def __init__(self, connection: Any) -> None:
        super().__init__(connection)
        options = dict(getattr(connection, "options", None) or {})
        self.options = options
        self.client = shared_client(
            base_url=connection.base_url or "https://console.jumpcloud.com",
            api_key=connection.secret or "",
            org_id=connection.org_id or "",
            timeout=_timeout_option(options.get("timeout")),
        )

    # -- identities and devices ---------------------------------------------------------
    def lookup_user(self, email: str) -> str:
        """Find the JumpCloud user by e-mail, whatever the case of either copy of the address.

        The v1 `filter` is case sensitive (contract 5), so the address exactly as the identity
        provider sent it goes first; then a search, which does not depend on case, compared
        here without case; where a tenant has no search endpoint, the lower-case address.
        """
        users = self._users_with_email(email)
        if not users:
            raise ProviderError(
                f"No JumpCloud user has the e-mail address {email} (in any mix of capitals). Ask IT to "
                "add you to JumpCloud with this address, or to correct the address on your JumpCloud account.",
                permanent=True,
            )
        if len(users) > 1:
            raise ProviderError(
                f"More than one JumpCloud user has the e-mail address {email}; ask IT to "
                "fix the duplicate accounts in JumpCloud.",
                permanent=True,
            )
        user = users[0]
        if user.get("suspended") or user.get("state") == "SUSPENDED":
            raise ProviderError(
                f"The JumpCloud account for {email} is suspended; ask IT to reactivate it.",
                permanent=True,
            )
        return str(user["_id"])

    def _users_with_email(self, email: str) -> list[dict[str, Any]]:
        wanted = email.casefold()

        def same_address(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
            unique = {str(u.get("_id")): u for u in found if str(u.get("email", "")).casefold() == wanted}
            return list(unique.values())

        users = same_address(self.client.find_users_by_email(email))
        if users:
            return users
        try:
            return same_address(self.client.search_users_by_email(email))
        except NotFound:
            log.info("JumpCloud has no user search here; trying the lower-case address")
        if email.lower() == email:
            return []
        return same_address(self.client.find_users_by_email(email.lower()))

    def list_devices(self, user_external_id: str) -> list[DeviceInfo]:
        devices = []
        for bound in self.client.user_systems(user_external_id):
            if bound.get("type", "system") != "system":
                continue
            try:
                system = self.client.get_system(str(bound["id"]))
            except NotFound:
                continue  # removed between the two calls
            devices.append(self._device_info(bound, system))
        return sorted(devices, key=lambda device: device.hostname.lower())

    @staticmethod
    def _device_info(bound: dict[str, Any], system: dict[str, Any]) -> DeviceInfo:
        groups = {
            hop["to"]["id"]
            for path in bound.get("paths") or []
            for hop in path
            if (hop.get("to") or {}).get("type") == "system_group"
        }
        os_name = " ".join(part for part in (system.get("os"), system.get("version")) if part)
        return DeviceInfo(
            external_id=str(bound["id"]),
            hostname=str(system.get("displayName") or system.get("hostname") or bound["id"]),
            os=os_name,
            os_family=_os_family(system),
            last_contact_at=parse_time(system.get("lastContact")),
            groups=tuple(sorted(groups)),
        )

    def _object_name(self, object_type: str, object_id: str, read: Any) -> str:
        key = f"jumpcloud:name:{self.connection.base_url}:{object_type}:{object_id}"
        try:
            name = str(read(object_id).get("name") or "")
        except ProviderError as exc:
            log.info("no name for JumpCloud %s %s (%s); using the last one seen", object_type, object_id, exc.message)
            return str(cache.get(key) or object_id)
        if name:
            cache.set(key, name, NAME_CACHE_SECONDS)
        return name or object_id

    # -- "test connection" ----------------------------------------------------------------
    def test_connection(self) -> list[CheckResult]:
        """Report what works, one check per line; the API key is never part of a message."""
        checks = [self._check("API key and organization (v1 users)", self._check_users)]
        checks.append(self._check("Graph API (v2 user groups)", self._check_groups))
        checks.extend(self._extra_checks())
        return checks

    def _check(self, name: str, probe: Any) -> CheckResult:
        try:
            return CheckResult(name, True, probe())
        except ProviderError as exc:
            return CheckResult(name, False, exc.message)

    def _check_users(self) -> str:
        total = self.client.list_system_users(limit=1).get("totalCount", 0)
        return f"accepted; the organization has {total} users"

    def _check_groups(self) -> str:
        return f"reachable; {len(self.client.list_user_groups())} user groups"

    def _extra_checks(self) -> list[CheckResult]:
        return []


class JumpCloudDeviceProvider(_JumpCloudProvider):
    """Temporary admin (sudo / local administrator) on one device via an access request."""

    kind: ClassVar[str] = "jumpcloud"
    label: ClassVar[str] = "JumpCloud device admin"
    enforces_expiry: ClassVar[bool] = True
    hedge_revokes: ClassVar[bool] = True  # POST …/revoke; 404 or 410 for one already revoked

    def _binding(self, user_id: str, device_id: str) -> dict[str, Any] | None:
        for bound in self.client.user_systems(user_id):
            if str(bound.get("id")) == device_id:
                return bound
        return None

    def _system_facts(self, device_id: str) -> tuple[str, str]:
        """(name, OS family) of a device: from the device sync when it has it, as it nearly always
        has. A call fewer per grant counts when JumpCloud is rate-limiting (a wave every ~2.5 s);
        whether the device is still bound is asked live (`_binding`)."""
        from requests_app.models import Device

        pk = getattr(self.connection, "pk", None)  # None: a connection not saved (yet)
        synced = (
            Device.objects.filter(connection_id=pk, external_id=device_id).values_list("hostname", "os_family").first()
            if pk
            else None
        )
        if synced is not None and synced[0]:
            return synced[0], synced[1]
        system = self.client.get_system(device_id)
        return str(system.get("displayName") or system.get("hostname") or "this device"), _os_family(system)

    def preflight(self, request: GrantRequest) -> list[str]:
        """Refuse what JumpCloud would refuse, before anything is submitted."""
        bound = self._binding(request.user_external_id, request.target_external_id)
        if bound is None:
            raise ProviderError(
                "This device is not bound to your JumpCloud account any more, so admin rights "
                "cannot be granted on it. Pick another device or ask IT to bind it.",
                permanent=True,
            )
        host, os_family = self._system_facts(request.target_external_id)
        group = group_sudo_source(bound)
        if group is not None:
            group = self._object_name("user_group", group, self.client.get_user_group)
            raise ProviderError(
                f"You already have admin rights on {host} through the JumpCloud user group "
                f"{group}, so JumpCloud will not grant temporary admin on top of that. You "
                "do not need to request it; ask IT if the rights do not work.",
                permanent=True,
            )
        notes = [_WINDOWS_NOTE.format(host=host)] if os_family == "windows" else []
        if direct_sudo(bound):
            notes.append(
                f"Your JumpCloud account already has admin rights on {host} permanently; the temporary "
                "grant changes nothing until IT removes those."
            )
        return notes

    def grant(self, request: GrantRequest) -> GrantResult:
        remarks = f"{request.reason} {_MARKER.format(request.idempotency_key)}".strip()
        body = {
            "requestorId": request.user_external_id,
            "resourceId": request.target_external_id,
            "resourceType": "device",
            "operationId": self.options.get("operation_id", DEVICE_ADMIN_OPERATION_ID),
            "expiry": format_expiry(request.expires_at),
            "remarks": remarks,
            "additionalAttributes": {"sudo": {"enabled": True, "withoutPassword": bool(request.without_password)}},
        }
        if self.connection.org_id:
            body["organizationObjectId"] = self.connection.org_id
        try:
            access_id = self.client.create_access_request(body)
        except ProviderError as exc:
            # 409: an earlier attempt whose answer was lost already created it.
            if exc.status_code == 409 and (found := self.find_grant(request)):
                return found
            raise
        # No further call here: a failure after the create would make the caller retry it.
        return GrantResult(reference=access_id, confirmed=True, expires_at=request.expires_at)

    def find_grant(self, request: GrantRequest) -> GrantResult | None:
        """Find the live access request this elevation made (by the marker in its remarks)."""
        filters = [
            f"requestorId:eq:{request.user_external_id}",
            f"resourceId:eq:{request.target_external_id}",
            "accessState:eq:granted",
        ]
        try:
            found = self.client.list_access_requests(filters)
        except ProviderError as exc:
            # The list endpoint is unconfirmed (contract 2.5): where it is missing or refuses these
            # filters, fall back to granting. Transient errors and a refused key still raise.
            if exc.permanent and exc.status_code not in (401, 403):
                log.warning("cannot list JumpCloud access requests, so no lookup: %s", exc.message)
                return None
            raise
        marker = _MARKER.format(request.idempotency_key)
        for record in found:
            if marker in str(record.get("remarks") or "") and record.get("accessId"):
                expires_at = parse_time(record.get("expiry"))
                if expires_at is not None and abs((expires_at - request.expires_at).total_seconds()) < 1:
                    expires_at = request.expires_at  # JumpCloud drops the fraction of a second
                return GrantResult(
                    reference=str(record["accessId"]),
                    confirmed=record.get("accessState") == "granted",
                    expires_at=expires_at,
                )
        return None

    def status(self, reference: str) -> GrantStatus:
        try:
            record = self.client.get_access_request(reference)
        except NotFound:
            return GrantStatus("missing", detail="JumpCloud has no such access request")
        access_state = str(record.get("accessState") or "")
        state = _LIVE_STATES.get(access_state, "ended")
        return GrantStatus(state, parse_time(record.get("expiry")), detail=access_state)

    def extend(self, reference: str, expires_at: datetime) -> GrantResult | None:
        """Move the expiry; if JumpCloud ended the request first, grant anew under a new id."""
        body: dict[str, Any] = {"expiry": format_expiry(expires_at)}
        if self.connection.org_id:
            body["organizationObjectId"] = self.connection.org_id
        try:
            self.client.update_access_request(reference, body)
        except ProviderError as exc:
            # An extension that lands just after JumpCloud expired the request (400: not granted).
            if exc.status_code != 400 or (renewal := self._renewal(reference, expires_at)) is None:
                raise
            return self.find_grant(renewal) or self.grant(renewal)
        return GrantResult(reference=reference, confirmed=True, expires_at=expires_at)

    def _renewal(self, reference: str, expires_at: datetime) -> GrantRequest | None:
        """The request that would continue an ended access request made by Elevate, or None."""
        record = self.client.get_access_request(reference)
        marker = _MARKER_PATTERN.search(str(record.get("remarks") or ""))
        # Only a request that ran out of time continues; one revoked at JumpCloud stays revoked.
        if marker is None or record.get("accessState") != "expired":
            return None
        try:
            attributes = json.loads(base64.b64decode(str(record.get("additionalAttributes") or "")) or b"{}")
        except ValueError:
            attributes = {}
        return GrantRequest(
            idempotency_key=marker.group(1),
            user_external_id=str(record.get("requestorId") or ""),
            target_external_id=str(record.get("resourceId") or ""),
            target_kind="device",
            expires_at=expires_at,
            reason=_MARKER_PATTERN.sub("", str(record.get("remarks") or "")).strip(),
            without_password=bool((_sudo_of(attributes) or {}).get("withoutPassword")),
        )

    def revoke(self, reference: str) -> None:
        try:
            self.client.revoke_access_request(reference)
        except NotFound:
            return  # already expired or revoked: done
        except ProviderError as exc:
            if exc.status_code == 410:
                return
            raise

    def _extra_checks(self) -> list[CheckResult]:
        return [self._check("Access requests (write role)", self._probe_access_requests)]

    def _probe_access_requests(self) -> str:
        # Revoking an id that cannot exist changes nothing: "not found" (or "invalid id") means
        # the key got past authorization for the write endpoint; 401/403 mean it did not.
        try:
            self.client.revoke_access_request("0" * 24)
        except ProviderError as exc:
            if exc.status_code not in (400, 404) or "organization id" in exc.message:
                raise
        return "the API key may create and revoke access requests"


def group_sudo_source(bound: dict[str, Any]) -> str | None:
    """The user group that gives sudo on this bound system, or None.

    Every path counts, direct bindings too. A group path whose hops carry `sudo.enabled` (on
    the edge or on the object it reaches) names its group. Hops need not repeat the attribute:
    when only `compiledAttributes.sudo` says the user has sudo and any path goes through a user
    group, that group is taken to be the source (JumpCloud refuses the temporary grant then).
    """
    group_paths = []
    for path in bound.get("paths") or []:
        groups = [hop["to"]["id"] for hop in path if (hop.get("to") or {}).get("type") == "user_group"]
        if not groups:
            continue
        if any(_hop_gives_sudo(hop) for hop in path):
            return groups[0]
        group_paths.append(groups[0])
    if _sudo_enabled(bound.get("compiledAttributes")) and group_paths:
        return group_paths[0]
    return None


def direct_sudo(bound: dict[str, Any]) -> bool:
    """Whether the user has sudo on the system through a direct binding (no user group)."""
    for path in bound.get("paths") or []:
        if any((hop.get("to") or {}).get("type") == "user_group" for hop in path):
            continue
        if any(_hop_gives_sudo(hop) for hop in path) or _sudo_enabled(bound.get("compiledAttributes")):
            return True
    return False


def _hop_gives_sudo(hop: dict[str, Any]) -> bool:
    return _sudo_enabled(hop.get("attributes")) or _sudo_enabled((hop.get("to") or {}).get("attributes"))


@dataclass(frozen=True)
class GroupGrantReference:
    """Everything revert needs, carried in the grant's reference string.

    `usergroup/<id>` (group attribute) or `usergroup/<id>/<target type>/<target id>`
    (association attribute); then `?by=<elevation key>` (whose grant it is) and `prior=<base64
    JSON>` when the group had a disabled `sudo` before, so revert puts that back.
    """

    group_id: str
    target_type: str = ""
    target_id: str = ""
    prior_sudo: dict[str, Any] | None = None
    elevation: str = ""

    def __str__(self) -> str:
        text = f"usergroup/{self.group_id}"
        if self.target_id:
            text += f"/{self.target_type}/{self.target_id}"
        query = {}
        if self.elevation:
            query["by"] = self.elevation
        if self.prior_sudo is not None:
            encoded = json.dumps(self.prior_sudo, separators=(",", ":")).encode()
            query["prior"] = base64.urlsafe_b64encode(encoded).decode()
        return f"{text}?{urlencode(query)}" if query else text

    @classmethod
    def parse(cls, reference: str) -> GroupGrantReference:
        path, _, query = reference.partition("?")
        parts = path.split("/")
        if len(parts) not in (2, 4) or parts[0] != "usergroup":
            raise ProviderError(f"not a JumpCloud group grant reference: {reference!r}", permanent=True)
        params = dict(parse_qsl(query))
        prior = json.loads(base64.urlsafe_b64decode(params["prior"])) if "prior" in params else None
        target_type, target_id = (parts[2], parts[3]) if len(parts) == 4 else ("", "")
        return cls(parts[1], target_type, target_id, prior, params.get("by", ""))


class JumpCloudGroupProvider(_JumpCloudProvider):
    """Sudo for a user group (everywhere it is bound) or for a user group on a device group.

    `GrantRequest.target_external_id` is the user group id; `options["device_group_id"]` (or
    `system_group_id` / `system_id`) switches to association mode.
    """

    kind: ClassVar[str] = "jumpcloud_group"
    label: ClassVar[str] = "JumpCloud user-group sudo"
    enforces_expiry: ClassVar[bool] = False

    def lookup_user(self, email: str) -> str:
        """Group mode changes a group, not one person's rights: no JumpCloud account is needed
        for the helpdesk member who asks, so the address stands in for an id (as in the demo)."""
        return f"portal:{email.lower()}"

    def list_devices(self, user_external_id: str) -> list[DeviceInfo]:
        """Nothing to pick: devices are requested through the device-mode connection."""
        return []

    @staticmethod
    def _target(request: GrantRequest) -> tuple[str, str]:
        return _target_of(request.options)

    @staticmethod
    def _sudo(request: GrantRequest) -> dict[str, bool]:
        return {"enabled": True, "withoutPassword": bool(request.without_password)}

    def _edge(self, group_id: str, target_type: str, target_id: str) -> dict[str, Any] | None:
        for edge in self.client.user_group_associations(group_id, target_type):
            if str((edge.get("to") or {}).get("id")) == target_id:
                return edge
        return None

    @staticmethod
    def _edge_attributes(edge: dict[str, Any]) -> dict[str, Any]:
        # Where JumpCloud puts an edge's attributes is unconfirmed: read both places.
        return dict(edge.get("attributes") or (edge.get("to") or {}).get("attributes") or {})

    # -- checks before granting -------------------------------------------------------------
    def preflight(self, request: GrantRequest) -> list[str]:
        group = self.client.get_user_group(request.target_external_id)
        name = group.get("name") or request.target_external_id
        target_type, target_id = self._target(request)
        if not target_id:
            if _sudo_enabled(group.get("attributes")):
                raise ProviderError(
                    f"The user group {name} already has sudo on all its devices in JumpCloud; "
                    "elevating it would change nothing (and the revert would remove the "
                    "permanent setting).",
                    permanent=True,
                )
        else:
            edge = self._edge(request.target_external_id, target_type, target_id)
            if edge is None:
                raise ProviderError(
                    f"The user group {name} is not bound to the {target_type.replace('_', ' ')} "
                    f"{target_id} in JumpCloud; bind it there first.",
                    permanent=True,
                )
            if _sudo_enabled(self._edge_attributes(edge)):
                raise ProviderError(
                    f"The user group {name} already has sudo on that device group in JumpCloud.",
                    permanent=True,
                )
        return [
            "Members signed in on Windows devices get the rights after they sign out and in "
            "again, and lose them the same way."
        ]

    # -- the grant lifecycle --------------------------------------------------------------
    def grant(self, request: GrantRequest) -> GrantResult:
        target_type, target_id = self._target(request)
        group_id = request.target_external_id
        if target_id:
            reference = self._grant_association(group_id, target_type, target_id, self._sudo(request))
        else:
            reference = self._grant_group(group_id, self._sudo(request))
        reference = replace(reference, elevation=request.idempotency_key)
        return GrantResult(reference=str(reference), confirmed=True, expires_at=request.expires_at)

    def _grant_group(self, group_id: str, sudo: dict[str, bool]) -> GroupGrantReference:
        group = self.client.get_user_group(group_id)
        attributes = group.get("attributes") or {}
        prior = _sudo_of(attributes)
        reference = GroupGrantReference(
            group_id, prior_sudo=prior if prior is not None and not prior.get("enabled") else None
        )
        if prior == sudo:
            return reference  # an earlier attempt got through: nothing to do twice
        # Assigning in place keeps the key where it was; every other key is left untouched.
        attributes["sudo"] = sudo
        group["attributes"] = attributes
        self.client.put_user_group(group_id, _writable(group))
        return reference

    def _grant_association(
        self, group_id: str, target_type: str, target_id: str, sudo: dict[str, bool]
    ) -> GroupGrantReference:
        edge = self._edge(group_id, target_type, target_id)
        if edge is None:
            raise ProviderError(
                f"The user group {group_id} is not bound to {target_type} {target_id} in "
                "JumpCloud; bind it there first.",
                permanent=True,
            )
        attributes = self._edge_attributes(edge)
        if attributes.get("sudo") != sudo:
            attributes["sudo"] = sudo
            self.client.set_user_group_association(
                group_id,
                op="update",
                target_type=target_type,
                target_id=target_id,
                attributes=attributes,
            )
        return GroupGrantReference(group_id, target_type, target_id)

    def find_grant(self, request: GrantRequest) -> GrantResult | None:
        target_type, target_id = self._target(request)
        group_id = request.target_external_id
        try:
            if target_id:
                edge = self._edge(group_id, target_type, target_id)
                live = edge is not None and _sudo_enabled(self._edge_attributes(edge))
                reference = GroupGrantReference(group_id, target_type, target_id)
            else:
                live = _sudo_enabled(self.client.get_user_group(group_id).get("attributes"))
                reference = GroupGrantReference(group_id)
            reference = replace(reference, elevation=request.idempotency_key)
        except NotFound:
            return None
        if not live:
            return None
        return GrantResult(reference=str(reference), confirmed=True, expires_at=request.expires_at)

    def status(self, reference: str) -> GrantStatus:
        ref = GroupGrantReference.parse(reference)
        if self._held_by_another(ref):
            return GrantStatus("ended", detail="the group's sudo now belongs to a later elevation")
        try:
            if ref.target_id:
                edge = self._edge(ref.group_id, ref.target_type, ref.target_id)
                live = edge is not None and _sudo_enabled(self._edge_attributes(edge))
            else:
                live = _sudo_enabled(self.client.get_user_group(ref.group_id).get("attributes"))
        except NotFound:
            return GrantStatus("missing", detail="JumpCloud has no such user group")
        return GrantStatus("active" if live else "ended")

    def extend(self, reference: str, expires_at: datetime) -> GrantResult | None:
        # JumpCloud knows no end time for these: the portal's sweep reverts at the new expiry.
        return GrantResult(reference=reference, confirmed=True, expires_at=expires_at)

    def revoke(self, reference: str) -> None:
        """Revert: remove only `sudo` (or restore the disabled one that was there)."""
        ref = GroupGrantReference.parse(reference)
        if self._held_by_another(ref):
            return  # a later elevation set sudo again: it is that one's to revert
        try:
            if ref.target_id:
                self._revert_association(ref)
            else:
                self._revert_group(ref)
        except NotFound:
            return  # the group or the edge is gone: nothing left to revert

    def _held_by_another(self, ref: GroupGrantReference) -> bool:
        """Whether another elevation now holds sudo on this target.

        Group sudo is a flag, not an object with an id: the grants of two elevations of one group
        look the same at JumpCloud. So the portal's ledger decides whose it is, and an ended
        elevation (re-checked by the reconciler) never reverts its successor's grant.
        """
        connection_id = getattr(self.connection, "pk", None)
        if not ref.elevation or connection_id is None:
            return False
        from requests_app.lifecycle import HELD_AT_PROVIDER
        from requests_app.models import Elevation

        others = Elevation.objects.filter(
            connection_id=connection_id, target_ref=ref.group_id, device=None, state__in=HELD_AT_PROVIDER
        )
        mine = _uuid_or_none(ref.elevation)
        if mine is not None:
            others = others.exclude(public_id=mine)
        target = (ref.target_type, ref.target_id)
        return any(_target_of(options) == target for options in others.values_list("target_options", flat=True))

    def _revert_group(self, ref: GroupGrantReference) -> None:
        group = self.client.get_user_group(ref.group_id)
        attributes = group.get("attributes")
        if not isinstance(attributes, dict) or "sudo" not in attributes:
            return
        if ref.prior_sudo is not None:
            if attributes["sudo"] == ref.prior_sudo:
                return
            attributes["sudo"] = ref.prior_sudo
        else:
            del attributes["sudo"]
        self.client.put_user_group(ref.group_id, _writable(group))

    def _revert_association(self, ref: GroupGrantReference) -> None:
        edge = self._edge(ref.group_id, ref.target_type, ref.target_id)
        if edge is None:
            return
        attributes = self._edge_attributes(edge)
        if "sudo" not in attributes:
            return
        attributes.pop("sudo")
        self.client.set_user_group_association(
            ref.group_id,
            op="update",
            target_type=ref.target_type,
            target_id=ref.target_id,
            attributes=attributes,
        )

    def group_label(self, group_id: str, device_group_id: str = "") -> str:
        """What people call the target: the group's name, and the device group's in association mode.

        A label is cosmetic: when JumpCloud cannot say a name (the device-group read is outside
        the contract notes and may answer 404; or a 429/5xx), the last name seen or the id
        stands in. A label never stops an elevation.
        """
        label = self._object_name("user_group", group_id, self.client.get_user_group)
        if device_group_id:
            label += " on " + self._object_name("system_group", device_group_id, self.client.get_system_group)
        return label

    def list_user_groups(self) -> list[tuple[str, str]]:
        """(id, name) of every user group, for the helpdesk's group picker."""
        return [(str(g["id"]), str(g.get("name") or g["id"])) for g in self.client.list_user_groups()]


def _target_of(options: dict[str, Any] | None) -> tuple[str, str]:
    """(target type, target id) of a group grant from its options; ("", "") for the whole group."""
    options = options or {}
    for key, target_type in (
        ("device_group_id", "system_group"),
        ("system_group_id", "system_group"),
        ("system_id", "system"),
    ):
        if options.get(key):
            return target_type, str(options[key])
    return "", ""


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _writable(group: dict[str, Any]) -> dict[str, Any]:
    """The group as PUT takes it: every writable field it had, values untouched, same order."""
    return {key: value for key, value in group.items() if key in USER_GROUP_WRITABLE_FIELDS}
