"""The OpenAPI schema's shared parts: the problem document every refusal answers with."""

from __future__ import annotations

PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string", "description": "urn:elevate:problem:<kind>, or about:blank"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "Fit to show to the person who asked."},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "Messages by field, when the refusal is about fields.",
        },
    },
    "required": ["type", "title", "status", "detail"],
}
ERRORS = {
    "400": "The request is malformed (messages by field)",
    "401": "No token, or an unknown, expired or revoked one",
    "403": "The token lacks the scope, or the user may not do this",
    "404": "No such object, or not yours to see",
    "405": "Method not allowed",
    "406": "Not acceptable",
    "409": "Conflict: the object changed meanwhile, or the Idempotency-Key is still running",
    "415": "Unsupported media type (send JSON)",
    "422": "Refused by policy or state (messages by field)",
    "429": "Too many calls for this token: wait Retry-After seconds",
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": 255},
    "description": "A retried POST with the same key returns the first answer instead of acting again.",
}


def add_problems(result, generator, request, public):
    """drf-spectacular postprocessing hook: the Problem component, the error answers of every
    operation, and the Idempotency-Key header on every POST."""
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM
    reference = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            for status, description in ERRORS.items():
                operation["responses"].setdefault(status, {"description": description, "content": reference})
            if method == "post":
                operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
    return result
