"""Raw JumpCloud API calls: one method per endpoint, JSON in and out, no domain decisions.

References (see the contract notes, jumpcloud.md, for what each is and how sure we are):
- v2 API: https://docs.jumpcloud.com/api/2.0/index.html (base path /api/v2)
- v1 API: https://docs.jumpcloud.com/api/1.0/index.html (base path /api)
- Access requests: "Set Temporary Elevated Device Privileges Using the API"
  (jumpcloud.com/support/set-temporary-elevated-device-privileges-using-the-api)

Errors leave as `ProviderError` (from `base.send`). A few JumpCloud answers get a sharper
message here, because only the body says what went wrong: a 400 from the access-request
validator names the field, 401 and 403 say what to do about the key, and a 404 about the
organization id must not pass for "already gone".
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from typing import Any

import httpx

from requests_app.providers.base import ProviderError, http_client, send

# The fixed operation id of "temporary elevated device privileges" (S3: "a static value").
DEVICE_ADMIN_OPERATION_ID = "ff487bda-e18f-42ed-9d6c-5c7cafd6adf9"

# The fields of a user group that PUT /usergroups/{id} takes (UserGroupPut); GET also returns
# read-only ones (id, type, organizationObjectId, suggestionCounts, memberQueryErrorFlags).
USER_GROUP_WRITABLE_FIELDS = (
    "name",
    "description",
    "email",
    "attributes",
    "memberQuery",
    "memberQueryExemptions",
    "memberSuggestionsNotify",
    "membershipMethod",
)
PAGE_SIZE = 100  # both APIs cap `limit` at 100

# protoc-gen-validate style: "invalid CreateAccessRequestsRequest.Expiry: value must be ..."
_INVALID_FIELD = re.compile(r"invalid \w+\.(\w+): ?(.*)")
_FIELD_NAMES = {
    "requestorid": "requestorId (the user's JumpCloud id)",
    "resourceid": "resourceId (the device's JumpCloud id)",
    "resourcetype": "resourceType",
    "expiry": "expiry (the end of the window)",
    "operationid": "operationId",
    "additionalattributes": "additionalAttributes (the sudo settings)",
    "remarks": "remarks",
}
# gRPC status codes the access-request backend ("Ingresso") puts in its error bodies.
_GRPC_FAILED_PRECONDITION = 9
_GRPC_ALREADY_EXISTS = 6


class _ErrorAnswer(Exception):
    """Raised from the response hook for the statuses this module explains itself."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.status_code = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = {"message": response.text[:300]}
        self.body: dict[str, Any] = body if isinstance(body, dict) else {"message": str(body)}

    @property
    def message(self) -> str:
        return str(self.body.get("message") or "")

    @property
    def grpc_code(self) -> int | None:
        code = self.body.get("code")
        # v1/v2 errors carry the HTTP status in `code`; Ingresso carries a small gRPC code.
        return code if isinstance(code, int) and code < 100 else None


def _catch_explained_errors(response: httpx.Response) -> None:
    if response.status_code in (400, 401, 403, 404, 409):
        response.read()
        if response.status_code == 404 and "organi" not in response.text.lower():
            return  # a plain 404: base.send maps it to NotFound
        raise _ErrorAnswer(response)


def field_violation(body: dict[str, Any]) -> tuple[str, str] | None:
    """Return (field, reason) from a 400 body, or None when it names no field."""
    for detail in body.get("details") or []:
        for violation in (detail or {}).get("fieldViolations") or []:
            if violation.get("field"):
                return violation["field"], violation.get("description", "")
    match = _INVALID_FIELD.search(str(body.get("message") or ""))
    if match:
        return match.group(1), match.group(2)
    return None


def explain(error: _ErrorAnswer, what: str) -> ProviderError:
    """Turn one of JumpCloud's error answers into a message a person can act on."""
    code, message = error.status_code, error.message
    if code == 401:
        hint = (
            "set the organization id on the connection (the key belongs to a multi-tenant admin)"
            if "org" in message.lower()
            else "the API key is missing, mistyped or was rotated; paste a current one into the connection"
        )
        return ProviderError(
            f"{what}: JumpCloud did not accept the API key (HTTP 401): {hint}",
            permanent=True,
            status_code=code,
        )
    if code == 403:
        return ProviderError(
            f"{what}: JumpCloud refused this change (HTTP 403): the API key belongs to an "
            "administrator without a writable role (Administrator or Manager is needed; "
            "Read Only and Help Desk cannot), or the organization id is not allowed here",
            permanent=True,
            status_code=code,
        )
    if code == 404:  # only the organization-id 404 gets here
        return ProviderError(
            f"{what}: JumpCloud does not know the organization id on the connection (HTTP 404: "
            f"{message}); correct it in the connection settings",
            permanent=True,
            status_code=code,
        )
    if code == 409 or error.grpc_code == _GRPC_ALREADY_EXISTS:
        return ProviderError(
            f"{what}: JumpCloud says this already exists (HTTP {code}): {message}",
            permanent=True,
            status_code=code,
        )
    violation = field_violation(error.body)
    if violation:
        field, reason = violation
        label = _FIELD_NAMES.get(field.lower(), field)
        text = f"{what}: JumpCloud rejected the field {label}: {reason or message}"
    elif error.grpc_code == _GRPC_FAILED_PRECONDITION:
        text = f"{what}: JumpCloud refused it: {message}"
    else:
        text = f"{what}: JumpCloud rejected the request (HTTP {code}): {message or error.body}"
    return ProviderError(text, permanent=True, status_code=code)


class JumpCloudClient:
    """A thin client for the handful of JumpCloud endpoints Elevate uses."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        org_id: str = "",
        timeout: httpx.Timeout | None = None,
    ) -> None:
        headers = {
            "x-api-key": api_key,
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        if org_id:
            headers["x-org-id"] = org_id
        self.http = http_client(base_url.rstrip("/"), headers, timeout)
        self.http.event_hooks["response"] = [_catch_explained_errors]

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response:
        try:
            return send(self.http, method, path, what, **kwargs)
        except _ErrorAnswer as error:
            raise explain(error, what) from None

    def _json(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        response = self._call(method, path, what, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ProviderError(f"{what}: JumpCloud answered with something other than JSON") from None

    def _pages(self, path: str, what: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Walk a v2 list endpoint (bare JSON arrays) with limit/skip."""
        skip = 0
        while True:
            page = self._json("GET", path, what, params={**params, "limit": PAGE_SIZE, "skip": skip})
            yield from page or []
            if not page or len(page) < PAGE_SIZE:
                return
            skip += PAGE_SIZE

    # -- access requests (v2, "Ingresso") -------------------------------------------------
    def create_access_request(self, body: dict[str, Any]) -> str:
        """POST /api/v2/accessrequests (AccessRequestApi_CreateAccessRequest); returns the accessId.

        Body: requestorId, resourceId, resourceType "device", operationId, expiry (RFC 3339 UTC),
        remarks, additionalAttributes {"sudo": {enabled, withoutPassword}}. 200 {"id": ...}.
        """
        data = self._json("POST", "/api/v2/accessrequests", "create the access request", json=body)
        access_id = (data or {}).get("id")
        if not access_id:
            raise ProviderError("create the access request: JumpCloud answered without an id")
        return str(access_id)

    def get_access_request(self, access_id: str) -> dict[str, Any]:
        """GET /api/v2/accessrequests/{accessId} (AccessRequestApi_GetAccessRequest).

        Note `additionalAttributes` comes back as base64 of the JSON sent on create.
        """
        return self._json("GET", f"/api/v2/accessrequests/{access_id}", "read the access request")

    def update_access_request(self, access_id: str, body: dict[str, Any]) -> None:
        """PUT /api/v2/accessrequests/{accessId} (AccessRequestApi_UpdateAccessRequest).

        Body fields are all optional: expiry, remarks, additionalAttributes,
        organizationObjectId. 200 with an object whose content is undocumented.
        """
        self._call("PUT", f"/api/v2/accessrequests/{access_id}", "extend the access request", json=body)

    def revoke_access_request(self, access_id: str) -> None:
        """POST /api/v2/accessrequests/{accessId}/revoke (AccessRequestApi_RevokeAccessRequest)."""
        self._call(
            "POST",
            f"/api/v2/accessrequests/{access_id}/revoke",
            "revoke the access request",
            json={},
        )

    def list_access_requests(self, filters: list[str]) -> list[dict[str, Any]]:
        """GET /api/v2/accessrequests with v2 filters `field:eq:value` (list; seen only in jc-cli).

        The live API may not offer it (contract 2.5, unconfirmed): callers treat 404/405 as
        "cannot list".
        """
        return list(self._pages("/api/v2/accessrequests", "list access requests", {"filter": filters}))

    # -- users and systems ------------------------------------------------------------------
    def find_users_by_email(self, email: str) -> list[dict[str, Any]]:
        """GET /api/systemusers?filter=email:$eq:<email> (v1 User_List).

        v1 filters need `$` operators and match case-sensitively.
        """
        params = {"filter": f"email:$eq:{email}", "sort": "_id", "limit": 10}
        data = self._json("GET", "/api/systemusers", "find the JumpCloud user", params=params)
        return list((data or {}).get("results") or [])

    def search_users_by_email(self, email: str) -> list[dict[str, Any]]:
        """POST /api/search/systemusers (v1 User_Search) with `searchFilter` on the email field.

        The `filter` string of GET /systemusers matches case-sensitively; a search term does not
        depend on case (and may match more than the address: callers compare the results).
        `limit`/`skip` go in the query (2019 spec) and the body (current spec).
        """
        body = {"searchFilter": {"searchTerm": email, "fields": ["email"]}, "limit": PAGE_SIZE, "skip": 0}
        params = {"limit": PAGE_SIZE, "skip": 0}
        data = self._json("POST", "/api/search/systemusers", "search the JumpCloud user", params=params, json=body)
        return list((data or {}).get("results") or [])

    def list_system_users(self, limit: int = 1) -> dict[str, Any]:
        """GET /api/systemusers (v1 User_List): {"totalCount", "results"}."""
        return self._json("GET", "/api/systemusers", "list users", params={"limit": limit, "sort": "_id"})

    def user_systems(self, user_id: str) -> list[dict[str, Any]]:
        """GET /api/v2/users/{user_id}/systems (UserTraverseSystem_Get): systems bound directly or
        through groups, each with `paths` and `compiledAttributes`."""
        return list(self._pages(f"/api/v2/users/{user_id}/systems", "list the user's devices", {}))

    def get_system(self, system_id: str) -> dict[str, Any]:
        """GET /api/systems/{id} (v1 System_Get): hostname, displayName, os, osFamily, etc."""
        return self._json("GET", f"/api/systems/{system_id}", "read the device")

    # -- user groups (v2) -------------------------------------------------------------------
    def list_user_groups(self) -> list[dict[str, Any]]:
        """GET /api/v2/usergroups (GroupsUser_List), sorted by name."""
        return list(self._pages("/api/v2/usergroups", "list user groups", {"sort": "name"}))

    def get_user_group(self, group_id: str) -> dict[str, Any]:
        """GET /api/v2/usergroups/{id} (UserGroup_Get): the whole group, attributes included."""
        return self._json("GET", f"/api/v2/usergroups/{group_id}", "read the user group")

    def put_user_group(self, group_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """PUT /api/v2/usergroups/{id} (UserGroup_Set): a *full* update; `name` is required."""
        return self._json("PUT", f"/api/v2/usergroups/{group_id}", "update the user group", json=body)

    def get_system_group(self, group_id: str) -> dict[str, Any]:
        """GET /api/v2/systemgroups/{id} (SystemGroup_Get): id, name, type "system_group"..."""
        return self._json("GET", f"/api/v2/systemgroups/{group_id}", "read the device group")

    def user_group_associations(self, group_id: str, targets: str) -> list[dict[str, Any]]:
        """GET /api/v2/usergroups/{group_id}/associations?targets=... (UserGroupAssociation_Get):
        direct edges as GraphConnection objects."""
        return list(
            self._pages(
                f"/api/v2/usergroups/{group_id}/associations",
                "read the user group's associations",
                {"targets": targets},
            )
        )

    def set_user_group_association(
        self, group_id: str, *, op: str, target_type: str, target_id: str, attributes: dict | None
    ) -> None:
        """POST /api/v2/usergroups/{group_id}/associations (UserGroupAssociation_Set): 204.

        Body GraphOperation-UserGroup: op add|remove|update, type, id, attributes.
        """
        body: dict[str, Any] = {"op": op, "type": target_type, "id": target_id}
        if attributes is not None:
            body["attributes"] = attributes
        self._call(
            "POST",
            f"/api/v2/usergroups/{group_id}/associations",
            "change the user group's association",
            json=body,
        )


_shared: dict[tuple[str, str, str, float | None], JumpCloudClient] = {}
_shared_lock = threading.Lock()
_SHARED_MAX = 32


def shared_client(*, base_url: str, api_key: str, org_id: str = "", timeout: float | None = None) -> JumpCloudClient:
    """One client, and so one keep-alive connection pool, per configuration and process.

    A provider is built for every lifecycle step; sharing the pool saves a TLS handshake per
    call. The cache key holds a digest of the API key, never the key, and a rotated key (or any
    other change to the connection) simply gets a new client.
    """
    digest = hashlib.sha256(api_key.encode()).hexdigest()
    key = (base_url.rstrip("/"), org_id, digest, timeout)
    with _shared_lock:
        client = _shared.get(key)
        if client is None:
            if len(_shared) >= _SHARED_MAX:
                for stale in _shared.values():
                    stale.close()
                _shared.clear()
            http_timeout = httpx.Timeout(timeout, connect=min(timeout, 5.0)) if timeout else None
            client = JumpCloudClient(base_url=base_url, api_key=api_key, org_id=org_id, timeout=http_timeout)
            _shared[key] = client
        return client
