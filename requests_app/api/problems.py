"""Errors as RFC 9457 problem details (`application/problem+json`).

The domain's refusals map like the pages answer them: not yours → 404 (selectors), not allowed
→ 403, a policy or state refusal → 422 with the field it is about, a lost race → 409.
"""

from __future__ import annotations

import re

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from requests_app.errors import NotAllowed, PortalError, StaleTransition

CONTENT_TYPE = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    415: "Unsupported media type",
    422: "Refused by policy",
    429: "Too many requests",
}


class Refused(exceptions.ValidationError):
    """A form the pages use refused the input: 422 with its errors by field."""

    status_code = 422


def refuse_unless_valid(form) -> dict:
    """The page form's cleaned data, or Refused with the same messages the page shows."""
    if not form.is_valid():
        raise Refused({field: list(errors) for field, errors in form.errors.items()})
    return form.cleaned_data


def problem(status_code: int, detail: str, *, slug: str = "", errors: dict | None = None, headers=None) -> Response:
    body = {
        "type": f"urn:elevate:problem:{slug}" if slug else "about:blank",
        "title": TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return Response(body, status=status_code, headers=headers, content_type=CONTENT_TYPE)


def _portal_problem(exc: PortalError) -> Response:
    errors = {exc.field: [exc.message]} if exc.field else None
    if isinstance(exc, NotAllowed):
        return problem(403, exc.message, slug="not-allowed", errors=errors)
    if isinstance(exc, StaleTransition):
        return problem(409, exc.message, slug="conflict")
    slug = re.sub(r"(?<!^)(?=[A-Z])", "-", type(exc).__name__).lower()  # PolicyViolation → policy-violation
    return problem(422, exc.message, slug=slug, errors=errors)


def _field_errors(detail) -> dict:
    if isinstance(detail, dict):
        return {key: [str(e) for e in (value if isinstance(value, list) else [value])] for key, value in detail.items()}
    return {"non_field_errors": [str(e) for e in (detail if isinstance(detail, list) else [detail])]}


def problem_response(exc, context) -> Response | None:
    """DRF's exception handler: every refusal as a problem document."""
    if isinstance(exc, PortalError):
        return _portal_problem(exc)
    if isinstance(exc, Http404):
        return problem(404, "No such object, or it is not yours to see.", slug="not-found")
    if isinstance(exc, PermissionDenied):
        return problem(403, str(exc) or "You may not do this.", slug="forbidden")
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(exc.detail)
        first = next(iter(errors.values()))[0]
        code = exc.status_code
        return problem(code, f"Check the request: {first}", slug="invalid" if code == 400 else "refused", errors=errors)
    if isinstance(exc, exceptions.APIException):
        headers = {}
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(int(exc.wait) + 1)
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            headers["WWW-Authenticate"] = 'Bearer realm="elevate"'
            return problem(status.HTTP_401_UNAUTHORIZED, str(exc.detail), slug="unauthenticated", headers=headers)
        return problem(exc.status_code, str(exc.detail), slug=exc.default_code.replace("_", "-"), headers=headers)
    return None
