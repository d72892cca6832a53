"""A stateful JumpCloud stand-in that follows the contract notes (jumpcloud.md).

Where the notes mark a behaviour as unconfirmed ([U]) the choice made here is named in a
comment and, where it matters to a client, switchable by a constructor flag.

Start one in a test with `JumpCloudSimulator().start()` (returns the base URL) and seed it
with `add_user`, `add_system`, `bind`, `add_group`... By hand: `seed_demo()` then
`serve_forever(host, port)`. Faults come from the shared harness (`add_fault`).
"""

from __future__ import annotations

import base64
import copy
import json
import secrets
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from requests_app.providers.jumpcloud.client import (
    DEVICE_ADMIN_OPERATION_ID,
    USER_GROUP_WRITABLE_FIELDS,
)
from requests_app.providers.jumpcloud.simulator_wire import (
    ALREADY_EXISTS,
    ASSOCIATION_TARGETS,
    FAILED_PRECONDITION,
    INVALID_ARGUMENT,
    MEMBERSHIP_METHODS,
    NOT_FOUND,
    api_error,
    bad_request,
    hop,
    invalid_field,
    new_id,
    page_of,
    parse_rfc3339,
    rpc_error,
    sorted_by,
    sudo_on,
    sudo_problem,
    v1_filter,
    v2_filter,
)
from requests_app.providers.simulator import Request, Response, Simulator


class JumpCloudSimulator(Simulator):
    """JumpCloud's access requests, user groups, graph traversal and v1 users/systems.

    `api_key=None` accepts any non-empty key (handy for the demo); `read_only_keys` answer
    403 to every write; `org_id` makes a differing x-org-id answer 404 and
    `require_org_id` makes a missing one 401, as for multi-tenant administrators.
    """

    name = "jumpcloud"
    api_key: str | None
    read_only_keys: set[str]
    org_id: str
    require_org_id: bool
    list_endpoint: bool
    conflict_on_duplicate: bool
    user_search_endpoint: bool
    system_group_endpoint: bool
    sudo_on_hops: bool

    def __init__(
        self,
        *,
        api_key: str | None = None,
        read_only_keys: Iterable[str] = (),
        org_id: str = "",
        require_org_id: bool = False,
        list_endpoint: bool = True,  # [U] GET /accessrequests exists (jc-cli uses it)
        conflict_on_duplicate: bool = True,  # [U] a second live request for user+device: 409
        user_search_endpoint: bool = True,  # POST /api/search/systemusers (contract 5)
        system_group_endpoint: bool = True,  # GET /api/v2/systemgroups/{id}, outside the contract notes
        sudo_on_hops: bool = True,  # [U] whether path hops repeat sudo, or only compiledAttributes has it
    ) -> None:
        self._settings = {
            "api_key": api_key,
            "read_only_keys": set(read_only_keys),
            "org_id": org_id,
            "require_org_id": require_org_id,
            "list_endpoint": list_endpoint,
            "conflict_on_duplicate": conflict_on_duplicate,
            "user_search_endpoint": user_search_endpoint,
            "system_group_endpoint": system_group_endpoint,
            "sudo_on_hops": sudo_on_hops,
        }
        self._reaper: threading.Thread | None = None
        super().__init__()
        self.reset()

    def reset(self) -> None:
        """Forget all data, faults and log, and restore the constructor's settings.

        Lets one running server serve many tests (a server restart costs half a second).
        """
        with self.lock:
            for name, value in self._settings.items():
                setattr(self, name, copy.copy(value))
            self._reset_state()
            self.faults.clear()
            self.log.clear()
            self.arrivals.clear()  # a Retry-After window of one test is no concern of the next
            self.retry_windows.clear()

    def _reset_state(self) -> None:
        self.time_offset = timedelta()
        self.users: dict[str, dict[str, Any]] = {}
        self.systems: dict[str, dict[str, Any]] = {}
        self.system_groups: dict[str, dict[str, Any]] = {}
        self.system_group_members: dict[str, list[str]] = {}
        self.user_groups: dict[str, dict[str, Any]] = {}
        self.user_group_members: dict[str, list[str]] = {}
        self.user_bindings: dict[tuple[str, str], dict[str, Any]] = {}
        self.group_edges: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.access_requests: dict[str, dict[str, Any]] = {}
        self.expiries: dict[str, datetime] = {}
        self._row_id = 16838

    # -- time and expiry ------------------------------------------------------------------
    def now(self) -> datetime:
        return datetime.now(UTC) + self.time_offset

    def advance(self, seconds: float) -> None:
        """Move the simulator's clock forward (expiry then happens on the next look)."""
        with self.lock:
            self.time_offset += timedelta(seconds=seconds)
            self.expire_due()

    def expire_due(self) -> list[str]:
        """Flip every granted request past its expiry to `expired` ([U] state name)."""
        expired = []
        with self.lock:
            now = self.now()
            for access_id, record in self.access_requests.items():
                if record["accessState"] == "granted" and self.expiries[access_id] <= now:
                    record["accessState"] = "expired"
                    expired.append(access_id)
        return expired

    def dispatch(self, request: Request) -> Response:
        self.expire_due()  # JumpCloud revokes at expiry on its own; nobody has to ask
        return super().dispatch(request)

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        url = super().start(host, port)
        self._start_reaper()
        return url

    def serve_forever(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._start_reaper()
        super().serve_forever(host, port)

    def _start_reaper(self) -> None:
        # Also expire between requests, so the state is right for whoever inspects it.
        def reap() -> None:
            while self._reaper is not None:
                self.expire_due()
                threading.Event().wait(0.2)

        self._reaper = threading.Thread(target=reap, daemon=True, name="jumpcloud-expiry")
        self._reaper.start()

    def stop(self) -> None:
        self._reaper = None
        super().stop()

    # -- authentication -------------------------------------------------------------------
    def authorize(self, request: Request) -> Response | None:
        ingresso = request.path.startswith("/api/v2/accessrequests")
        key = request.headers.get("x-api-key", "")
        known = {self.api_key, *self.read_only_keys} if self.api_key is not None else None
        if not key or (known is not None and key not in known):
            if ingresso:
                return rpc_error(401, 16, "unauthenticated: invalid or missing API key")
            return api_error(401, "Unauthorized")
        org = request.headers.get("x-org-id", "")
        if org:
            if len(org) != 24 or any(c not in "0123456789abcdef" for c in org.lower()):
                return api_error(400, "Malformed ID")
            if self.org_id and org != self.org_id:
                return api_error(404, "Organization ID Not Found")
        elif self.require_org_id:
            return api_error(401, "Organization ID not included for multi-tenant admin")
        if request.method != "GET" and key in self.read_only_keys:
            if ingresso:
                return rpc_error(403, 7, "permission denied: administrator role cannot write")
            return api_error(403, "Forbidden")
        return None

    # -- routes -----------------------------------------------------------------------------
    def setup_routes(self) -> None:
        self.route("POST", "/api/v2/accessrequests", self.create_access_request)
        self.route("GET", "/api/v2/accessrequests", self.list_access_requests)
        self.route("GET", "/api/v2/accessrequests/{access_id}", self.get_access_request)
        self.route("PUT", "/api/v2/accessrequests/{access_id}", self.update_access_request)
        self.route("POST", "/api/v2/accessrequests/{access_id}/revoke", self.revoke_access_request)
        self.route("GET", "/api/systemusers", self.list_system_users)
        self.route("POST", "/api/search/systemusers", self.search_system_users)
        self.route("GET", "/api/systemusers/{id}", self.get_system_user)
        self.route("GET", "/api/systems", self.list_systems)
        self.route("GET", "/api/systems/{id}", self.get_system)
        self.route("GET", "/api/v2/users/{user_id}/systems", self.user_systems)
        self.route("GET", "/api/v2/systemgroups/{id}", self.get_system_group)
        self.route("GET", "/api/v2/usergroups", self.list_user_groups)
        self.route("GET", "/api/v2/usergroups/{id}", self.get_user_group)
        self.route("PUT", "/api/v2/usergroups/{id}", self.put_user_group)
        self.route("GET", "/api/v2/usergroups/{group_id}/associations", self.get_associations)
        self.route("POST", "/api/v2/usergroups/{group_id}/associations", self.post_association)
        self.route("GET", "/api/v2/usergroups/{group_id}/members", self.get_members)
        self.route("POST", "/api/v2/usergroups/{group_id}/members", self.post_member)

    # -- access requests ------------------------------------------------------------------
    def create_access_request(self, request: Request) -> Response:
        body = request.body
        if not isinstance(body, dict):
            return rpc_error(
                400,
                INVALID_ARGUMENT,
                "error validating CreateAccessRequest: body must be a JSON object",
            )
        problem = self._create_problem(body)
        if problem is not None:
            return problem
        user_id, system_id = body["requestorId"], body["resourceId"]
        bound = self.traverse(user_id).get(system_id)
        if bound is None:
            return rpc_error(400, FAILED_PRECONDITION, "the device is not associated with the requestor")
        if self.group_sudo(user_id, system_id):
            return rpc_error(
                400,
                FAILED_PRECONDITION,
                "the requestor already has elevated privileges on this device through a user group",
            )
        if self.conflict_on_duplicate and self.live_requests(user_id, system_id):
            return rpc_error(
                409,
                ALREADY_EXISTS,
                "an active access request already exists for this requestor and device",
            )
        access_id = new_id()
        self._row_id += 1
        expiry = parse_rfc3339(body["expiry"])
        assert expiry is not None
        attributes = body.get("additionalAttributes") or {}
        self.access_requests[access_id] = {
            "id": self._row_id,
            "applicationIntId": "",
            "accessId": access_id,
            "onBehalfOfUserId": user_id,
            "requestorId": user_id,
            "tempGroupId": "",
            "resourceId": system_id,
            "resourceType": "device",
            "accessState": "granted",
            "remarks": body.get("remarks") or "",
            "expiry": expiry.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "version": 0,
            "createdBy": "api",
            "updatedBy": "api",
            "operationId": body.get("operationId") or DEVICE_ADMIN_OPERATION_ID,
            "additionalAttributes": base64.b64encode(json.dumps(attributes).encode()).decode(),
            "duration": int((expiry - self.now()).total_seconds()),  # [U] unit: seconds here
            "metadata": "",
            "jobId": secrets.token_urlsafe(12)[:16],
            "companyId": self.org_id,
        }
        self.expiries[access_id] = expiry
        return Response(200, {"id": access_id})

    def _create_problem(self, body: dict[str, Any]) -> Response | None:
        def invalid(field: str, reason: str) -> Response:
            return invalid_field("CreateAccessRequest", "CreateAccessRequestsRequest", field, reason)

        for field in ("requestorId", "resourceId", "resourceType", "expiry"):
            if not isinstance(body.get(field), str) or not body[field]:
                return invalid(field, "value is required")
        if body["resourceType"] != "device":
            return invalid("resourceType", 'value must be "device"')
        if body["requestorId"] not in self.users:
            return invalid("requestorId", "no user has this id")
        if body["resourceId"] not in self.systems:
            return invalid("resourceId", "no device has this id")
        if body.get("operationId", DEVICE_ADMIN_OPERATION_ID) != DEVICE_ADMIN_OPERATION_ID:
            return invalid("operationId", "unknown operation")
        expiry = parse_rfc3339(body["expiry"])
        if expiry is None:
            return invalid("expiry", "value must be an RFC 3339 timestamp with a time zone")
        if expiry <= self.now():
            return invalid("expiry", "value must be in the future")
        if "remarks" in body and not isinstance(body["remarks"], str):
            return invalid("remarks", "value must be a string")
        problem = sudo_problem(body.get("additionalAttributes"))
        if problem:
            return invalid("additionalAttributes", problem)
        return None

    def list_access_requests(self, request: Request) -> Response:
        if not self.list_endpoint:
            return api_error(404, "Not Found")
        items = sorted(self.access_requests.values(), key=lambda r: r["id"])
        result = v2_filter(items, request.query.get("filter", []))
        if isinstance(result, Response):
            return result
        page = page_of(copy.deepcopy(result), request)
        return page if isinstance(page, Response) else Response(200, page)

    def _access_request(self, request: Request) -> dict[str, Any] | None:
        return self.access_requests.get(request.params["access_id"])

    def get_access_request(self, request: Request) -> Response:
        record = self._access_request(request)
        if record is None:
            return rpc_error(404, NOT_FOUND, "access request not found")
        return Response(200, copy.deepcopy(record))

    def update_access_request(self, request: Request) -> Response:
        record, body = self._access_request(request), request.body
        if record is None:
            return rpc_error(404, NOT_FOUND, "access request not found")
        if not isinstance(body, dict):
            return rpc_error(
                400,
                INVALID_ARGUMENT,
                "error validating UpdateAccessRequest: body must be a JSON object",
            )
        if record["accessState"] != "granted":  # [U]: extending a finished request
            return rpc_error(400, FAILED_PRECONDITION, f"access request is {record['accessState']}, not granted")
        expiry = self.expiries[record["accessId"]]
        if "expiry" in body:
            asked = parse_rfc3339(body["expiry"])
            if asked is None or asked <= self.now():
                return invalid_field(
                    "UpdateAccessRequest",
                    "UpdateAccessRequestRequest",
                    "expiry",
                    "value must be an RFC 3339 timestamp in the future",
                )
            expiry = asked
        if "additionalAttributes" in body:
            if problem := sudo_problem(body["additionalAttributes"]):
                return invalid_field(
                    "UpdateAccessRequest",
                    "UpdateAccessRequestRequest",
                    "additionalAttributes",
                    problem,
                )
            record["additionalAttributes"] = base64.b64encode(
                json.dumps(body["additionalAttributes"]).encode()
            ).decode()
        if isinstance(body.get("remarks"), str):
            record["remarks"] = body["remarks"]
        self.expiries[record["accessId"]] = expiry
        record["expiry"] = expiry.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        record["version"] += 1
        return Response(200, {})

    def revoke_access_request(self, request: Request) -> Response:
        record = self._access_request(request)
        if record is None:
            return rpc_error(404, NOT_FOUND, "access request not found")
        if record["accessState"] != "granted":  # [U]: finished requests answer "not found"
            return rpc_error(404, NOT_FOUND, f"no active access request (it is {record['accessState']})")
        record["accessState"] = "revoked"
        record["version"] += 1
        return Response(200, {})

    # -- v1 users and systems -------------------------------------------------------------
    def _v1_list(self, items: list[dict], request: Request) -> Response:
        result = v1_filter(items, request.query)
        if isinstance(result, Response):
            return result
        result = sorted_by(result, request.query.get("sort", [""])[0], " ")
        page = page_of(result, request)
        if isinstance(page, Response):
            return page
        fields = [f for f in request.query.get("fields", [""])[0].split(" ") if f]
        if fields:
            page = [{k: v for k, v in item.items() if k in fields or k == "_id"} for item in page]
        return Response(200, {"totalCount": len(result), "results": copy.deepcopy(page)})

    def list_system_users(self, request: Request) -> Response:
        return self._v1_list(list(self.users.values()), request)

    def search_system_users(self, request: Request) -> Response:
        """v1 User_Search: `searchFilter` terms match without case, as a substring, in the
        named fields; `filter` ({"and"|"or": [{field: value}]} or a list) matches exactly."""
        if not self.user_search_endpoint:
            return api_error(404)
        body = request.body if isinstance(request.body, dict) else {}
        search = body.get("searchFilter") or {}
        terms = search.get("searchTerm") or []
        terms = [terms] if isinstance(terms, str) else list(terms)
        fields = search.get("fields") or ["email", "username", "firstname", "lastname"]
        exact = body.get("filter") or []
        if isinstance(exact, dict):
            exact = exact.get("and") or exact.get("or") or []

        def keep(user: dict[str, Any]) -> bool:
            found = not terms or any(
                str(term).lower() in str(user.get(field) or "").lower() for term in terms for field in fields
            )
            return found and all(user.get(k) == v for clause in exact for k, v in clause.items())

        matches = sorted((u for u in self.users.values() if keep(u)), key=lambda u: u["_id"])
        page = page_of(matches, request)
        if isinstance(page, Response):
            return page
        return Response(200, {"totalCount": len(matches), "results": copy.deepcopy(page)})

    def get_system_user(self, request: Request) -> Response:
        user = self.users.get(request.params["id"])
        return Response(200, copy.deepcopy(user)) if user else api_error(404)

    def list_systems(self, request: Request) -> Response:
        return self._v1_list(list(self.systems.values()), request)

    def get_system(self, request: Request) -> Response:
        system = self.systems.get(request.params["id"])
        return Response(200, copy.deepcopy(system)) if system else api_error(404)

    # -- the graph --------------------------------------------------------------------------
    def traverse(self, user_id: str) -> dict[str, dict[str, Any]]:
        """Systems bound to a user, directly or through user groups and system groups."""
        found: dict[str, dict[str, Any]] = {}

        def add(system_id: str, path: list[dict[str, Any]], sudo: dict[str, Any] | None) -> None:
            entry = found.setdefault(
                system_id,
                {"id": system_id, "type": "system", "paths": [], "compiledAttributes": {}},
            )
            entry["paths"].append(path)
            compiled = entry["compiledAttributes"].setdefault("sudo", {"enabled": False, "withoutPassword": False})
            if sudo and sudo.get("enabled"):
                compiled["enabled"] = True
                compiled["withoutPassword"] = compiled["withoutPassword"] or bool(sudo.get("withoutPassword"))

        for (bound_user, system_id), attributes in self.user_bindings.items():
            if bound_user == user_id:
                add(system_id, [hop(system_id, "system", attributes)], attributes.get("sudo"))
        for group_id, members in self.user_group_members.items():
            if user_id not in members:
                continue
            group_sudo = (self.user_groups[group_id].get("attributes") or {}).get("sudo")
            group_hop = {
                "to": {
                    "id": group_id,
                    "type": "user_group",
                    **({"attributes": {"sudo": group_sudo}} if group_sudo else {}),
                }
            }
            for (edge_group, target_type, target_id), attributes in self.group_edges.items():
                if edge_group != group_id:
                    continue
                sudo = attributes.get("sudo") if sudo_on(attributes) else group_sudo
                if target_type == "system":
                    add(target_id, [group_hop, hop(target_id, "system", attributes)], sudo)
                elif target_type == "system_group":
                    for system_id in self.system_group_members.get(target_id, []):
                        path = [
                            group_hop,
                            hop(target_id, "system_group", attributes),
                            hop(system_id, "system"),
                        ]
                        add(system_id, path, sudo)
        return found

    def group_sudo(self, user_id: str, system_id: str) -> bool:
        """True when a user-group path gives this user sudo on this system."""
        for path in self.traverse(user_id).get(system_id, {}).get("paths", []):
            via_group = any(hop["to"]["type"] == "user_group" for hop in path)
            if via_group and any(
                sudo_on(hop.get("attributes")) or sudo_on(hop["to"].get("attributes")) for hop in path
            ):
                return True
        return False

    def user_systems(self, request: Request) -> Response:
        user_id = request.params["user_id"]
        if user_id not in self.users:
            return api_error(404)
        items = sorted(self.traverse(user_id).values(), key=lambda entry: entry["id"])
        if not self.sudo_on_hops:
            items = [_without_hop_attributes(item) for item in items]
        result = v2_filter(items, request.query.get("filter", []))
        if isinstance(result, Response):
            return result
        page = page_of(result, request)
        return page if isinstance(page, Response) else Response(200, page)

    # -- user groups ------------------------------------------------------------------------
    def list_user_groups(self, request: Request) -> Response:
        result = v2_filter(list(self.user_groups.values()), request.query.get("filter", []))
        if isinstance(result, Response):
            return result
        result = sorted_by(result, request.query.get("sort", [""])[0], ",")
        page = page_of(copy.deepcopy(result), request)
        return page if isinstance(page, Response) else Response(200, page)

    def get_system_group(self, request: Request) -> Response:
        if not self.system_group_endpoint:
            return api_error(404)
        group = self.system_groups.get(request.params["id"])
        return Response(200, copy.deepcopy(group)) if group else api_error(404)

    def get_user_group(self, request: Request) -> Response:
        group = self.user_groups.get(request.params["id"])
        return Response(200, copy.deepcopy(group)) if group else api_error(404)

    def put_user_group(self, request: Request) -> Response:
        group, body = self.user_groups.get(request.params["id"]), request.body
        if group is None:
            return api_error(404)
        if not isinstance(body, dict):
            return bad_request("body", "must be a JSON object")
        if not isinstance(body.get("name"), str) or not body["name"]:
            return bad_request("name", "is required")
        if any(g["name"] == body["name"] and g is not group for g in self.user_groups.values()):
            return api_error(409, "a user group with this name already exists")
        if "attributes" in body and (problem := sudo_problem(body["attributes"])):
            return bad_request("attributes", problem)
        if "membershipMethod" in body and body["membershipMethod"] not in MEMBERSHIP_METHODS:
            return bad_request("membershipMethod", f"must be one of {', '.join(MEMBERSHIP_METHODS)}")
        # A full update: writable fields left out are cleared ([U]; the strict reading).
        # Updating in place keeps every key where it was; read-only fields are ignored.
        for field in USER_GROUP_WRITABLE_FIELDS:
            if field in body:
                group[field] = copy.deepcopy(body[field])
            else:
                group.pop(field, None)
        return Response(200, copy.deepcopy(group))

    def _edge_problem(self, group_id: str, body: Any) -> Response | None:
        if group_id not in self.user_groups:
            return api_error(404)
        if not isinstance(body, dict):
            return bad_request("body", "must be a JSON object")
        if body.get("op") not in ("add", "remove", "update"):
            return bad_request("op", "must be one of add, remove, update")
        if body.get("type") not in ASSOCIATION_TARGETS:
            return bad_request("type", f"must be one of {', '.join(ASSOCIATION_TARGETS)}")
        if not isinstance(body.get("id"), str) or not body["id"]:
            return bad_request("id", "is required")
        if "attributes" in body and (problem := sudo_problem(body["attributes"])):
            return bad_request("attributes", problem)
        known = {"system": self.systems, "system_group": self.system_groups}.get(body["type"])
        if known is not None and body["id"] not in known:
            return api_error(404, f"{body['type']} {body['id']} not found")
        return None

    def post_association(self, request: Request) -> Response:
        group_id, body = request.params["group_id"], request.body
        if (problem := self._edge_problem(group_id, body)) is not None:
            return problem
        key = (group_id, body["type"], body["id"])
        if body["op"] == "add":
            if key in self.group_edges:  # [U] duplicate add
                return api_error(409, "association already exists")
            self.group_edges[key] = copy.deepcopy(body.get("attributes") or {})
        elif key not in self.group_edges:  # [U] remove/update of a missing edge
            return api_error(404, "association not found")
        elif body["op"] == "remove":
            del self.group_edges[key]
        else:
            self.group_edges[key] = copy.deepcopy(body.get("attributes") or {})
        return Response(204)

    def get_associations(self, request: Request) -> Response:
        group_id = request.params["group_id"]
        if group_id not in self.user_groups:
            return api_error(404)
        targets = request.query.get("targets", [""])[0]
        if targets not in ASSOCIATION_TARGETS:
            return bad_request("targets", "is required and must be a valid target type")
        edges = [
            {
                "to": {
                    "id": target_id,
                    "type": target_type,
                    "attributes": copy.deepcopy(attributes) or None,
                },
                "attributes": None,
            }
            for (edge_group, target_type, target_id), attributes in self.group_edges.items()
            if edge_group == group_id and target_type == targets
        ]
        page = page_of(edges, request)
        return page if isinstance(page, Response) else Response(200, page)

    def get_members(self, request: Request) -> Response:
        group_id = request.params["group_id"]
        if group_id not in self.user_groups:
            return api_error(404)
        members = [{"to": {"id": uid, "type": "user"}} for uid in self.user_group_members[group_id]]
        page = page_of(members, request)
        return page if isinstance(page, Response) else Response(200, page)

    def post_member(self, request: Request) -> Response:
        group_id, body = request.params["group_id"], request.body
        if group_id not in self.user_groups:
            return api_error(404)
        if not isinstance(body, dict) or body.get("type") != "user" or body.get("op") not in ("add", "remove"):
            return bad_request("op", "must be add or remove with type user")
        if body.get("id") not in self.users:
            return api_error(404, "user not found")
        members = self.user_group_members[group_id]
        if body["op"] == "add" and body["id"] not in members:
            members.append(body["id"])
        elif body["op"] == "remove" and body["id"] in members:
            members.remove(body["id"])
        return Response(204)

    # -- seeding ----------------------------------------------------------------------------
    def add_user(self, email: str, *, username: str = "", user_id: str = "", **fields: Any) -> str:
        """Add a system user (v1 shape); returns its `_id`."""
        user_id = user_id or new_id()
        local = email.split("@")[0]
        first, _, last = local.replace(".", " ").partition(" ")
        user = {
            "_id": user_id,
            "email": email,
            "username": username or local.replace(".", ""),
            "firstname": first.title(),
            "lastname": last.title(),
            "displayname": f"{first.title()} {last.title()}".strip(),
            "activated": True,
            "suspended": False,
            "state": "ACTIVATED",
            "account_locked": False,
            "sudo": False,
            "passwordless_sudo": False,
            "attributes": [],
            "organization": self.org_id,
        }
        user.update(fields)
        with self.lock:
            self.users[user_id] = user
        return user_id

    def add_system(
        self,
        hostname: str,
        *,
        os: str = "Mac OS X",
        os_family: str = "darwin",
        system_id: str = "",
        **fields: Any,
    ) -> str:
        """Add a device (v1 JcSystem shape); returns its `_id`."""
        system_id = system_id or new_id()
        system = {
            "_id": system_id,
            "hostname": hostname,
            "displayName": hostname,
            "os": os,
            "osFamily": os_family,
            "version": {"darwin": "14.5", "windows": "11"}.get(os_family, "22.04"),
            "arch": "arm64" if os_family == "darwin" else "x86_64",
            "active": True,
            "lastContact": self.now().strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "created": "2024-01-10T09:00:00.000Z",
            "organization": self.org_id,
        }
        system.update(fields)
        with self.lock:
            self.systems[system_id] = system
        return system_id

    def remove_system(self, system_id: str) -> None:
        """The device leaves JumpCloud: it and every edge to it disappear."""
        with self.lock:
            self.systems.pop(system_id, None)
            self.user_bindings = {k: v for k, v in self.user_bindings.items() if k[1] != system_id}
            self.group_edges = {k: v for k, v in self.group_edges.items() if k[2] != system_id}
            for members in self.system_group_members.values():
                if system_id in members:
                    members.remove(system_id)

    def bind(self, user_id: str, system_id: str, attributes: dict[str, Any] | None = None) -> None:
        """Bind a user directly to a system (edge attributes e.g. {"sudo": {...}})."""
        with self.lock:
            self.user_bindings[(user_id, system_id)] = dict(attributes or {})

    def unbind(self, user_id: str, system_id: str) -> None:
        with self.lock:
            self.user_bindings.pop((user_id, system_id), None)

    def add_system_group(self, name: str, systems: Iterable[str] = (), *, group_id: str = "") -> str:
        group_id = group_id or new_id()
        with self.lock:
            self.system_groups[group_id] = {"id": group_id, "name": name, "type": "system_group"}
            self.system_group_members[group_id] = list(systems)
        return group_id

    def add_group(
        self,
        name: str,
        *,
        members: Iterable[str] = (),
        attributes: dict | None = None,
        group_id: str = "",
        **fields: Any,
    ) -> str:
        """Add a user group (full UserGroup shape, read-only fields included); returns its id."""
        group_id = group_id or new_id()
        group = {
            "id": group_id,
            "name": name,
            "type": "user_group",
            "description": "",
            "email": "",
            "membershipMethod": "STATIC",
            "memberQuery": {"queryType": "FilterQuery", "filters": []},
            "memberQueryExemptions": [],
            "memberSuggestionsNotify": False,
            "attributes": copy.deepcopy(attributes) if attributes is not None else {},
            "organizationObjectId": self.org_id,
            "memberQueryErrorFlags": {},
            "suggestionCounts": {"add": 0, "remove": 0, "total": 0},
        }
        group.update(fields)
        with self.lock:
            self.user_groups[group_id] = group
            self.user_group_members[group_id] = list(members)
        return group_id

    def add_member(self, group_id: str, user_id: str) -> None:
        with self.lock:
            self.user_group_members[group_id].append(user_id)

    def associate(self, group_id: str, target_type: str, target_id: str, attributes: dict | None = None) -> None:
        """Bind a user group to a system or a system group (edge attributes optional)."""
        with self.lock:
            self.group_edges[(group_id, target_type, target_id)] = dict(attributes or {})

    # -- inspecting -------------------------------------------------------------------------
    def group_json(self, group_id: str) -> str:
        """The group exactly as GET returns it, for byte-for-byte comparisons."""
        with self.lock:
            return json.dumps(self.user_groups[group_id])

    def edge_attributes(self, group_id: str, target_type: str, target_id: str) -> dict[str, Any] | None:
        with self.lock:
            edge = self.group_edges.get((group_id, target_type, target_id))
            return copy.deepcopy(edge)

    def live_requests(self, user_id: str, system_id: str) -> list[dict[str, Any]]:
        """Granted access requests for this user and device (more than one: granted twice)."""
        with self.lock:
            return [
                copy.deepcopy(r)
                for r in self.access_requests.values()
                if r["requestorId"] == user_id and r["resourceId"] == system_id and r["accessState"] == "granted"
            ]

    def access_request(self, access_id: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.access_requests[access_id])

    # -- demo data ----------------------------------------------------------------------------
    def seed_demo(self, emails: Iterable[str] = ()) -> dict[str, Any]:
        """A small organisation for the demo: a few users, their devices, and two groups.

        Every e-mail gets a Mac and a Windows laptop; the first also a Linux server reached
        through the "linux-servers" device group. Returns the ids, for printing.
        """
        emails = list(emails) or [
            "employee@example.com",
            "approver@example.com",
            "helpdesk@example.com",
            "admin@example.com",
        ]
        users = {}
        for email in emails:
            user_id = self.add_user(email)
            stem = email.split("@")[0].upper().replace(".", "-")[:10]
            self.bind(user_id, self.add_system(f"{stem}-MBP"))
            self.bind(user_id, self.add_system(f"{stem}-WIN", os="Windows", os_family="windows"))
            users[email] = user_id
        server = self.add_system("build-01", os="Ubuntu", os_family="linux")
        device_group = self.add_system_group("linux-servers", [server])
        engineers = self.add_group(
            "engineering",
            members=[next(iter(users.values()))],
            attributes={
                "posixGroups": [{"id": 5001, "name": "engineering"}],
                "sambaEnabled": False,
            },
            description="Engineers with access to the build servers",
        )
        self.associate(engineers, "system_group", device_group)
        admins = self.add_group(
            "it-admins",
            members=list(users.values())[-1:],
            attributes={"sudo": {"enabled": True, "withoutPassword": False}},
        )
        return {
            "users": users,
            "device_groups": {"linux-servers": device_group},
            "user_groups": {"engineering": engineers, "it-admins": admins},
        }


def _without_hop_attributes(entry: dict[str, Any]) -> dict[str, Any]:
    """The traversal entry with sudo only in `compiledAttributes`, none on the hops."""
    entry = copy.deepcopy(entry)
    for path in entry["paths"]:
        for step in path:
            step.pop("attributes", None)
            step["to"].pop("attributes", None)
    return entry
