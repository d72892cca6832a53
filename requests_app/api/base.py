"""The API's base view: scope checks, idempotency keys and one audit event per call."""

from __future__ import annotations

from contextlib import ExitStack

from rest_framework.response import Response
from rest_framework.views import APIView

from requests_app import audit
from requests_app.api import idempotency
from requests_app.api.problems import CONTENT_TYPE
from requests_app.middleware import client_ip
from requests_app.models import Elevation


class ApiView(APIView):
    """Every API view. `required_scope` names the scope the whole view needs; a view that acts on
    one elevation sets `self.audited_elevation` so the call's audit event links to it."""

    required_scope: str | dict[str, str] | None = None  # a dict: by method
    audited_elevation: Elevation | None = None

    def dispatch(self, request, *args, **kwargs):
        self.audit_context = ExitStack()
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            self.audit_context.close()  # also when the call failed with a server error

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication, scope, throttling
        # The middleware saw no session user: events written during the call name the token's owner.
        context = audit.RequestContext(
            ip=client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
            actor=request.user,
            label=f"api token {request.auth.prefix}",
        )
        self.audit_context.enter_context(audit.acting_as(context))
        self.idempotency_record = idempotency.claim(request)

    def handle_exception(self, exc):
        if isinstance(exc, idempotency.Replay):
            record = exc.record
            content_type = CONTENT_TYPE if record.status_code >= 400 else None
            response = Response(record.response, status=record.status_code, content_type=content_type)
            response["Idempotent-Replayed"] = "true"
            return response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        record = getattr(self, "idempotency_record", None)
        if record is not None:
            self.idempotency_record = None
            idempotency.remember(record, response)
        if getattr(request, "auth", None) is not None:
            _audit_call(request, response, self.audited_elevation)
        return response


def _audit_call(request, response, elevation) -> None:
    """source=api and the token's id (never the token), with what was asked and answered."""
    token = request.auth
    audit.record(
        "api.call",
        actor=request.user,
        target=token,
        elevation=elevation,
        after={
            "source": "api",
            "token": str(token.public_id),
            "method": request.method,
            "path": request.path[:200],
            "status": response.status_code,
            **({"replayed": True} if response.has_header("Idempotent-Replayed") else {}),
        },
    )
