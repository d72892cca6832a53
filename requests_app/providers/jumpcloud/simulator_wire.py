"""JumpCloud's wire conventions, for the simulator: error bodies, filters, paging, validation.

Error shapes follow the contract notes: v1/v2 `Error` {code, message, status}, v2 400
`ErrorDetails` (+ google.rpc.BadRequest details), and the access-request backend's
`GoogleRpcStatus` {code (gRPC), message, details}.
"""

from __future__ import annotations

import copy
import http
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from requests_app.providers.simulator import Request, Response

MEMBERSHIP_METHODS = ("NOTSET", "STATIC", "DYNAMIC_REVIEW_REQUIRED", "DYNAMIC_AUTOMATED")
ASSOCIATION_TARGETS = (
    "active_directory",
    "application",
    "g_suite",
    "idp_routing_policy",
    "ldap_server",
    "office_365",
    "password_manager_item",
    "radius_server",
    "system",
    "system_group",
)
# gRPC codes used by the access-request backend (grpc-gateway maps them to HTTP statuses).
INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION = 3, 5, 6, 9


def new_id() -> str:
    """A 24-hex-digit ObjectId, like JumpCloud's."""
    return secrets.token_hex(12)


def _phrase(status: int) -> str:
    return http.HTTPStatus(status).phrase


def api_error(status: int, message: str | None = None) -> Response:
    """The v1/v2 `Error` object: {code, message, status}."""
    return Response(status, {"code": status, "message": message or _phrase(status), "status": _phrase(status)})


def bad_request(field: str, reason: str) -> Response:
    """The v2 `ErrorDetails` 400: Error + details in google.rpc.BadRequest form."""
    violation = {
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        "fieldViolations": [{"field": field, "description": reason}],
    }
    body = {
        "code": 400,
        "message": f"{field}: {reason}",
        "status": "Bad Request",
        "details": [violation],
    }
    return Response(400, body)


def rpc_error(status: int, code: int, message: str, field: str | None = None) -> Response:
    """The access-request backend's `GoogleRpcStatus`: {code (gRPC), message, details}."""
    details: list[dict[str, Any]] = []
    if field:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": field, "description": message}],
            }
        )
    return Response(status, {"code": code, "message": message, "details": details})


def invalid_field(operation: str, message_type: str, field: str, reason: str) -> Response:
    # protoc-gen-validate style text, wrapped the way the issue quotes it.
    go_name = field[0].upper() + field[1:]
    text = f"error validating {operation}: invalid {message_type}.{go_name}: {reason}"
    return rpc_error(400, INVALID_ARGUMENT, text, field)


def parse_rfc3339(value: Any) -> datetime | None:
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def sudo_problem(attributes: Any) -> str | None:
    """Validate GraphAttribute-Sudo: both booleans required, withoutPassword needs enabled."""
    if attributes is None:
        return None
    if not isinstance(attributes, dict):
        return "must be an object"
    if "sudo" not in attributes:
        return None
    sudo = attributes["sudo"]
    if not isinstance(sudo, dict):
        return "sudo must be an object"
    for key in ("enabled", "withoutPassword"):
        if not isinstance(sudo.get(key), bool):
            return f"sudo.{key} is required and must be a boolean"
    if sudo["withoutPassword"] and not sudo["enabled"]:
        return "sudo.withoutPassword requires sudo.enabled to be true"
    return None


def sudo_on(attributes: Any) -> bool:
    return isinstance(attributes, dict) and bool((attributes.get("sudo") or {}).get("enabled"))


def page_of(items: list[Any], request: Request, default_limit: int = 10) -> list[Any] | Response:
    try:
        limit = int(request.query.get("limit", [default_limit])[0])
        skip = int(request.query.get("skip", [0])[0])
    except ValueError:
        return bad_request("limit", "must be an integer")
    if skip < 0 or limit < 0:
        return bad_request("skip", "must not be negative")
    limit = min(limit or default_limit, 100)  # "Limited to 100"
    return items[skip : skip + limit]


def _compare(actual: Any, operator: str, expected: str) -> bool:
    text = str(actual).lower() if isinstance(actual, bool) else str(actual if actual is not None else "")
    if operator in ("eq", "$eq"):
        return text == expected
    if operator in ("ne", "$ne"):
        return text != expected
    if operator == "in":
        return text in expected.split("|")
    if operator == "search":
        return expected.lower() in text.lower()
    ordering = {
        "gt": text > expected,
        "ge": text >= expected,
        "lt": text < expected,
        "le": text <= expected,
    }
    return ordering.get(operator.lstrip("$").replace("gte", "ge").replace("lte", "le"), False)


def v2_filter(items: list[dict], filters: list[str]) -> list[dict] | Response:
    """v2 filters: `field:op:value`, op without `$`; every filter must hold (AND)."""
    parsed = []
    for raw in filters:
        parts = raw.split(":", 2)
        if len(parts) != 3 or parts[1] not in ("eq", "ne", "gt", "ge", "lt", "le", "in", "search"):
            return bad_request("filter", f"invalid filter {raw!r}")
        parsed.append(parts)
    return [i for i in items if all(_compare(i.get(f), op, v) for f, op, v in parsed)]


def v1_filter(items: list[dict], query: dict[str, list[str]]) -> list[dict] | Response:
    """v1 filters: `field:$op:value` in `filter` / `filter[N]` (AND) or `filter[or][N]` (OR)."""
    conjunctive, disjunctive = [], []
    for key, values in query.items():
        if key == "filter" or (key.startswith("filter[") and not key.startswith("filter[or]")):
            conjunctive.extend(values)
        elif key.startswith("filter[or]"):
            disjunctive.extend(values)
    parsed: dict[str, list[list[str]]] = {"and": [], "or": []}
    for name, raws in (("and", conjunctive), ("or", disjunctive)):
        for raw in raws:
            parts = raw.split(":", 2)
            # v1 needs the `$`; without it the behaviour is undefined: refuse it loudly.
            if len(parts) != 3 or parts[1] not in ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte"):
                return api_error(400, f"invalid filter {raw!r}: use field:$operator:value")
            parsed[name].append(parts)

    def keep(item: dict) -> bool:
        ands = all(_compare(item.get(f), op, v) for f, op, v in parsed["and"])
        ors = not parsed["or"] or any(_compare(item.get(f), op, v) for f, op, v in parsed["or"])
        return ands and ors

    return [i for i in items if keep(i)]


def sorted_by(items: list[dict], sort: str, separator: str) -> list[dict]:
    for key in reversed([k for k in sort.split(separator) if k]):
        items = sorted(items, key=_text_of(key.lstrip("-")), reverse=key.startswith("-"))
    return items


def _text_of(field: str) -> Callable[[dict], str]:
    return lambda item: str(item.get(field, ""))


def hop(object_id: str, object_type: str, attributes: dict[str, Any] | None = None) -> dict[str, Any]:
    hop: dict[str, Any] = {"to": {"id": object_id, "type": object_type}}
    if attributes:
        hop["attributes"] = copy.deepcopy(attributes)
    return hop
