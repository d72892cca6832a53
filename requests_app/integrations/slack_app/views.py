"""The two Request URLs Slack calls: the slash command and interactivity. Each request must carry
Slack's signature (else 401, and nothing runs); every one is audited with source=slack."""

from __future__ import annotations

import json
from functools import wraps

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from requests_app import audit
from requests_app.clock import now
from requests_app.integrations.slack_app import commands, handlers, signing
from requests_app.integrations.slack_app.identity import current_app
from requests_app.integrations.slack_app.models import SlackApp
from requests_app.middleware import client_ip


def _verified(request) -> SlackApp | None:
    app = current_app()
    if app is None:
        return None
    timestamp = request.headers.get("X-Slack-Request-Timestamp")
    given = request.headers.get("X-Slack-Signature")
    if not signing.verify(app.signing_secret, timestamp, given, request.body, now=now().timestamp()):
        return None
    return app


def _refused() -> JsonResponse:
    return JsonResponse({"error": "invalid request"}, status=401)


def slack_signed(view):
    """POST only, signed by Slack for the configured app (else 401 and nothing runs)."""

    @csrf_exempt
    @require_POST
    @wraps(view)
    def wrapper(request):
        app = _verified(request)
        if app is None:
            return _refused()
        return view(request, app)

    return wrapper


def _audited(request, what: str, slack_id: str, detail: dict):
    """Record the request (source=slack), and act in its audit context: events without an actor
    (none of the services' own) are labelled with the Slack user."""
    context = audit.RequestContext(ip=client_ip(request), user_agent="Slack", label=f"slack:{slack_id}")
    with audit.acting_as(context):
        audit.record("slack.interaction", after={"source": "slack", "slack_user": slack_id, "what": what, **detail})
    return audit.acting_as(context)


@slack_signed
def command(request, app: SlackApp):
    if request.POST.get("ssl_check"):
        return HttpResponse(status=200)
    if app.app_id and request.POST.get("api_app_id") != app.app_id:
        return _refused()
    slack_id, text = request.POST.get("user_id", ""), request.POST.get("text", "")
    with _audited(request, "command", slack_id, {"text": text[:200]}):
        return JsonResponse(commands.run(app, slack_id, text))


@slack_signed
def interaction(request, app: SlackApp):
    try:
        payload = json.loads(request.POST.get("payload", ""))
        slack_id = payload["user"]["id"]
    except (ValueError, KeyError, TypeError):
        return HttpResponse("malformed payload", status=400)
    if app.app_id and payload.get("api_app_id") != app.app_id:
        return _refused()
    kind = payload.get("type", "")
    actions = [a.get("action_id") for a in payload.get("actions") or []]
    with _audited(request, kind, slack_id, {"actions": actions}):
        if kind == "block_actions":
            handlers.block_actions(app, payload)
        elif kind == "view_submission":
            answer = handlers.view_submission(app, payload)
            if answer:
                return JsonResponse(answer)
    return HttpResponse(status=200)
