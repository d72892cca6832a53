"""Slack for tests, both halves.

`SlackSimulator`: incoming webhooks (`shared/provider-apis/slack.md`): 200 with the plain-text body
`ok`; plain-text error codes (400 `invalid_payload`/`no_text`, 404 `no_service`, 410
`channel_is_archived`).

`SlackWebSimulator`: the Slack app's side (`shared/provider-apis/slack-app.md`, "Simulator
suggestion"). Web API under /api/<method> (Bearer bot token; HTTP 200 with {"ok": false, "error"}
on failure): chat.postMessage, chat.update, views.open, users.lookupByEmail, users.info. Acting
as Slack, it signs (v0) and posts slash commands, button clicks built from the messages it holds,
and modal submissions.

Faults such as 429 with Retry-After come from the shared harness.
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import httpx
from django.conf import settings

from requests_app.integrations.slack_app.signing import signature
from requests_app.providers.simulator import Request, Response, Simulator

TEXT = {"Content-Type": "text/html"}


def text_response(status: int, body: str) -> Response:
    return Response(status, body.encode(), dict(TEXT))


class SlackSimulator(Simulator):
    """Incoming webhooks under /services/T…/B…/secret; messages kept per webhook path."""

    name = "slack"

    def __init__(self) -> None:
        self.webhooks: dict[str, dict[str, Any]] = {}  # path → {"archived": bool, "messages": []}
        super().__init__()

    def add_webhook(self, *, archived: bool = False) -> str:
        """Create a webhook; returns its full URL (the server must be started)."""
        path = f"/services/T{secrets.token_hex(4).upper()}/B{secrets.token_hex(4).upper()}/" + (
            secrets.token_urlsafe(18)
        )
        with self.lock:
            self.webhooks[path] = {"archived": archived, "messages": []}
        return self.base_url + path

    def messages(self, url: str | None = None) -> list[dict[str, Any]]:
        """Messages received by one webhook (by URL), or by all of them in order."""
        with self.lock:
            if url is not None:
                return list(self.webhooks[url.removeprefix(self.base_url)]["messages"])
            return [m for hook in self.webhooks.values() for m in hook["messages"]]

    def seed_demo(self) -> dict[str, Any]:
        return {"webhook_url": self.add_webhook()}

    def setup_routes(self) -> None:
        self.route("POST", "/services/{team}/{bot}/{secret}", self.receive)

    def receive(self, request: Request) -> Response:
        hook = self.webhooks.get(request.path)
        if hook is None:
            return text_response(404, "no_service")
        if hook["archived"]:
            return text_response(410, "channel_is_archived")
        body = request.body
        if not isinstance(body, dict):
            return text_response(400, "invalid_payload")
        if not body.get("text") and not body.get("blocks"):
            return text_response(400, "no_text")
        blocks = body.get("blocks") or []
        if (
            not isinstance(blocks, list)
            or len(blocks) > 50
            or any(not isinstance(b, dict) or "type" not in b for b in blocks)
        ):
            return text_response(400, "invalid_blocks")
        hook["messages"].append(body)
        return text_response(200, "ok")


TRIGGER_SECONDS = 3
METHOD_SCOPES = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "views.open": None,
    "users.lookupByEmail": "users:read.email",
    "users.info": "users:read",
}


def ok(**fields: Any) -> Response:
    return Response(200, {"ok": True, **fields})


def error(code: str, **fields: Any) -> Response:
    return Response(200, {"ok": False, "error": code, **fields})


class SlackWebSimulator(Simulator):
    """A workspace with users, DMs and messages; `clock` is Slack's time for signing."""

    name = "slack-web"

    def __init__(self, *, signing_secret: str = "", bot_token: str = "") -> None:
        self.signing_secret = signing_secret or secrets.token_hex(16)
        self.bot_token = bot_token or "xoxb-" + secrets.token_hex(12)
        self.scopes = {"chat:write", "commands", "users:read", "users:read.email", "im:write"}
        self.users: dict[str, dict[str, Any]] = {}
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.triggers: dict[str, dict[str, Any]] = {}
        self.calls_made: list[tuple[str, dict]] = []
        self._ts = itertools.count(1)
        self.clock = time.time
        self.portal_url = settings.ELEVATE_BASE_URL  # where slash commands and clicks go (by hand)
        super().__init__()

    # -- the workspace --------------------------------------------------------------------
    def add_user(self, email: str, *, deleted: bool = False, confirmed: bool = True) -> str:
        slack_id = "U" + secrets.token_hex(4).upper()
        with self.lock:
            self.users[slack_id] = {"email": email, "deleted": deleted, "confirmed": confirmed}
        return slack_id

    def dm_of(self, slack_id: str) -> str:
        return "D" + slack_id[1:]

    def messages_in(self, channel: str) -> list[dict[str, Any]]:
        with self.lock:
            return [m for (c, _), m in sorted(self.messages.items()) if c == channel]

    # -- Web API --------------------------------------------------------------------------
    def setup_routes(self) -> None:
        self.route("GET", "/api/{method}", self.web_api)
        self.route("POST", "/api/{method}", self.web_api)

    def web_api(self, request: Request) -> Response:
        method = request.params["method"]
        args = {k: v[0] for k, v in request.query.items()}
        if isinstance(request.body, dict):
            args.update(request.body)
        auth = request.headers.get("authorization", "")
        if not auth:
            return error("not_authed")
        if auth != f"Bearer {self.bot_token}":
            return error("invalid_auth")
        if method not in METHOD_SCOPES:
            return error("unknown_method")
        scope = METHOD_SCOPES[method]
        if scope and scope not in self.scopes:
            return error("missing_scope", needed=scope)
        self.calls_made.append((method, args))
        return getattr(self, "api_" + method.replace(".", "_"))(args)

    def api_chat_postMessage(self, args: dict) -> Response:
        channel = str(args.get("channel", ""))
        if not args.get("text") and not args.get("blocks"):
            return error("no_text")
        if channel.startswith("U") and channel in self.users:
            channel = self.dm_of(channel)
        elif not channel.startswith("D") or "U" + channel[1:] not in self.users:
            return error("channel_not_found")
        if not self._blocks_valid(args.get("blocks")):
            return error("invalid_blocks")
        ts = f"{1724932800 + next(self._ts)}.000100"
        message = {"channel": channel, "ts": ts, "text": args.get("text", ""), "blocks": args.get("blocks") or []}
        self.messages[(channel, ts)] = {**message, "revisions": []}
        return ok(channel=channel, ts=ts, message={"type": "message", "text": message["text"], "ts": ts})

    def api_chat_update(self, args: dict) -> Response:
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        if channel.startswith("U"):
            return error("channel_not_found")
        message = self.messages.get((channel, ts))
        if message is None:
            return error("message_not_found")
        if not self._blocks_valid(args.get("blocks")):
            return error("invalid_blocks")
        message["revisions"].append({"text": message["text"], "blocks": message["blocks"]})
        message["text"] = args.get("text", message["text"])
        message["blocks"] = args.get("blocks") if "blocks" in args else []  # text-only drops the blocks
        return ok(channel=channel, ts=ts, text=message["text"])

    def api_views_open(self, args: dict) -> Response:
        trigger = self.triggers.get(str(args.get("trigger_id", "")))
        if trigger is None:
            return error("invalid_trigger_id")
        if trigger["used"]:
            return error("exchanged_trigger_id")
        if self.clock() - trigger["at"] > TRIGGER_SECONDS:
            return error("expired_trigger_id")
        view = args.get("view")
        view = json.loads(view) if isinstance(view, str) else view
        problems = self._modal_problems(view)
        if problems or not isinstance(view, dict):
            return error("invalid_arguments", response_metadata={"messages": problems})
        trigger["used"] = True
        view_id = "V" + secrets.token_hex(4).upper()
        self.views[view_id] = {**view, "id": view_id, "user": trigger["user"]}
        return ok(view={"id": view_id, "callback_id": view.get("callback_id"), "state": {"values": {}}})

    def api_users_lookupByEmail(self, args: dict) -> Response:
        for slack_id, user in self.users.items():
            if user["email"] == args.get("email") and not user["deleted"]:
                return ok(user=self._user(slack_id))
        return error("users_not_found")

    def api_users_info(self, args: dict) -> Response:
        if args.get("user") not in self.users:
            return error("user_not_found")
        return ok(user=self._user(args["user"]))

    def _user(self, slack_id: str) -> dict:
        user = self.users[slack_id]
        return {
            "id": slack_id,
            "team_id": "T0001",
            "name": user["email"].split("@")[0],
            "deleted": user["deleted"],
            "is_bot": False,
            "is_email_confirmed": user["confirmed"],
            "profile": {"email": user["email"]},
        }

    @staticmethod
    def _blocks_valid(content) -> bool:
        if content is None:
            return True
        return (
            isinstance(content, list)
            and len(content) <= 50
            and all(isinstance(b, dict) and "type" in b for b in content)
        )

    @staticmethod
    def _modal_problems(view) -> list[str]:
        if not isinstance(view, dict) or view.get("type") != "modal":
            return ["view.type must be modal"]
        problems = []
        if len((view.get("title") or {}).get("text", "")) > 24 or not view.get("title"):
            problems.append("title: 1-24 characters")
        if any(b.get("type") == "input" for b in view.get("blocks", [])) and not view.get("submit"):
            problems.append("submit is required with an input block")
        if len(view.get("blocks", [])) > 100:
            problems.append("at most 100 blocks")
        return problems

    # -- acting as Slack -------------------------------------------------------------------
    def _signed_post(self, url: str, form: dict[str, str], *, timestamp: int | None = None) -> httpx.Response:
        body = urlencode(form).encode()
        stamp = str(int(self.clock()) if timestamp is None else timestamp)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature(self.signing_secret, stamp, body),
        }
        return httpx.post(url, content=body, headers=headers, timeout=10)

    def _trigger(self, slack_id: str) -> str:
        trigger_id = f"{secrets.randbelow(10**11)}.{secrets.randbelow(10**11)}.{secrets.token_hex(16)}"
        self.triggers[trigger_id] = {"at": self.clock(), "used": False, "user": slack_id}
        return trigger_id

    def slash_command(self, url: str, slack_id: str, text: str, **signing: Any) -> httpx.Response:
        form = {
            "token": "deprecated",
            "team_id": "T0001",
            "team_domain": "example",
            "channel_id": "C0001",
            "channel_name": "general",
            "user_id": slack_id,
            "user_name": self.users.get(slack_id, {}).get("email", "someone"),
            "command": "/elevate",
            "text": text,
            "response_url": "http://127.0.0.1:9/commands/response",
            "trigger_id": self._trigger(slack_id),
            "api_app_id": "A0001",
        }
        return self._signed_post(url, form, **signing)

    def click(self, url: str, channel: str, ts: str, action_id: str, slack_id: str | None = None) -> httpx.Response:
        """Press the button `action_id` of a stored message (as its DM's owner, by default)."""
        message = self.messages[(channel, ts)]
        for block in message["blocks"]:
            for element in block.get("elements", []) if block.get("type") == "actions" else []:
                if element.get("action_id") == action_id:
                    return self._signed_post(
                        url, {"payload": json.dumps(self._action(message, block, element, slack_id))}
                    )
        raise LookupError(f"no {action_id} button in that message")

    def _action(self, message: dict, block: dict, element: dict, slack_id: str | None) -> dict:
        slack_id = slack_id or "U" + message["channel"][1:]
        return {
            "type": "block_actions",
            "api_app_id": "A0001",
            "user": {"id": slack_id, "username": "someone", "team_id": "T0001"},
            "team": {"id": "T0001", "domain": "example"},
            "channel": {"id": message["channel"], "name": "directmessage"},
            "container": {"type": "message", "message_ts": message["ts"], "channel_id": message["channel"]},
            "trigger_id": self._trigger(slack_id),
            "message": {"type": "message", "ts": message["ts"], "text": message["text"], "blocks": message["blocks"]},
            "response_url": "http://127.0.0.1:9/actions/response",
            "actions": [
                {
                    "type": "button",
                    "action_id": element["action_id"],
                    "block_id": block.get("block_id", ""),
                    "value": element.get("value", ""),
                    "text": element["text"],
                    "action_ts": f"{self.clock():.6f}",
                }
            ],
        }

    def submit_view(self, url: str, view_id: str, values: dict[str, dict[str, str]]) -> httpx.Response:
        """Submit an opened modal with `{block_id: {action_id: value}}`."""
        view = self.views[view_id]
        state = {block: {action: {"type": "plain_text_input", "value": value} for action, value in fields.items()}
                 for block, fields in values.items()}  # fmt: skip
        payload = {
            "type": "view_submission",
            "api_app_id": "A0001",
            "user": {"id": view["user"], "team_id": "T0001"},
            "view": {**view, "state": {"values": state}},
        }
        return self._signed_post(url, {"payload": json.dumps(payload)})

    # -- by hand (manage.py simulate_provider slack-app): simulator-only endpoints -----------
    def seed_demo(self) -> dict[str, Any]:
        from requests_app.management.commands.seed_demo import DEMO_USERS

        for email, *_ in DEMO_USERS:
            self.add_user(email)
        self.route("GET", "/_sim/messages", lambda request: Response(200, self.all_messages()))
        return {
            "admin → Slack apps": {
                "bot_token": self.bot_token,
                "signing_secret": self.signing_secret,
                "api_url": f"{self.base_url}/api/",
            },
            "then": f'curl -d \'{{"email": "employee@example.com", "text": "devices"}}\' {self.base_url}/_sim/command',
        }

    def dispatch(self, request: Request) -> Response:
        # The /_sim/ calls post to the portal, which calls this Web API back from another thread:
        # they must not hold the lock the Web API handlers take.
        if request.path.startswith("/_sim/") and request.method == "POST":
            handler = {"/_sim/command": self._sim_command, "/_sim/click": self._sim_click}.get(request.path)
            handler = handler or self._sim_submit
            return handler(request)
        return super().dispatch(request)

    def all_messages(self) -> list[dict[str, Any]]:
        with self.lock:
            return [{k: v for k, v in m.items() if k != "revisions"} for m in self.messages.values()]

    def _sim_command(self, request: Request) -> Response:
        body = request.body or {}
        slack_id = next((i for i, u in self.users.items() if u["email"] == body.get("email")), body.get("user_id", ""))
        answer = self.slash_command(f"{self.portal_url}/integrations/slack/command", slack_id, body.get("text", ""))
        return Response(answer.status_code, answer.json() if answer.content else None)

    def _sim_click(self, request: Request) -> Response:
        body = request.body or {}
        url = f"{self.portal_url}/integrations/slack/interaction"
        answer = self.click(url, body["channel"], body["ts"], body["action_id"])
        return Response(answer.status_code, {"views": list(self.views)})

    def _sim_submit(self, request: Request) -> Response:
        body = request.body or {}
        url = f"{self.portal_url}/integrations/slack/interaction"
        answer = self.submit_view(url, body["view_id"], {"reason": {"reason_input": body.get("reason", "")}})
        return Response(answer.status_code, answer.json() if answer.content else None)
