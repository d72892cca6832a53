"""An in-memory Jira Cloud site: accounts with API tokens, issues, and ADF comments.

Follows `shared/provider-apis/jira.md`: basic auth with e-mail + API token, `ErrorCollection`
error bodies, comments that must be ADF documents, 201 with a `Comment`. It can also play the
Automation rule: `send_web_request()` posts a "Send web request" body to the portal.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from datetime import UTC, datetime
from typing import Any

import httpx

from requests_app.providers.simulator import Request, Response, Simulator


def error_collection(status: int, *messages: str, **errors: str) -> Response:
    return Response(status, {"errorMessages": list(messages), "errors": errors})


def _jira_time() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def adf_problem(document: Any) -> str | None:
    """Why a comment body is not an ADF document Jira would accept, or None."""
    if not isinstance(document, dict) or document.get("type") != "doc":
        return "Comment body must be an Atlassian Document Format document."
    if document.get("version") != 1:
        return "ADF documents must have version 1."
    content = document.get("content")
    if not isinstance(content, list) or not content:
        return "Comment body can not be empty!"
    for block in content:
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            return "Every ADF block needs a type."
        for node in block.get("content") or []:
            if node.get("type") == "text" and not node.get("text"):
                return "ADF text nodes must not be empty."
    return None


class JiraSimulator(Simulator):
    """A Jira Cloud site with accounts, issues and their comments."""

    name = "jira"

    def __init__(self) -> None:
        self.accounts: dict[str, dict[str, str]] = {}  # e-mail → {token, accountId, displayName}
        # People on the site (reporters): accountId → {accountId, displayName, emailAddress, hidden}
        self.users: dict[str, dict[str, Any]] = {}
        self.issues: dict[str, dict[str, Any]] = {}  # key → {id, reporter, summary, comments}
        self._next_issue_id = 10000
        self._next_comment_id = 10000
        super().__init__()

    # -- set-up and inspection ------------------------------------------------------------
    def add_account(self, email: str, api_token: str, display_name: str = "Elevate bot") -> str:
        account_id = secrets.token_hex(12)
        with self.lock:
            self.accounts[email.lower()] = {
                "token": api_token,
                "accountId": account_id,
                "displayName": display_name,
                "emailAddress": email,
            }
        return account_id

    def add_user(self, email: str, display_name: str = "", *, hide_email: bool = False) -> str:
        """A person on the site; `hide_email` plays the profile privacy setting (no emailAddress)."""
        account_id = secrets.token_hex(12)
        with self.lock:
            self.users[account_id] = {
                "accountId": account_id,
                "displayName": display_name or email.split("@")[0].title(),
                "emailAddress": email,
                "hidden": hide_email,
            }
        return account_id

    def user_by_email(self, email: str) -> str | None:
        with self.lock:
            return next((u["accountId"] for u in self.users.values() if u["emailAddress"] == email), None)

    def create_issue(self, key: str, *, reporter: str = "", summary: str = "") -> dict[str, Any]:
        """An issue whose reporter is the person with e-mail `reporter` (added if new)."""
        if reporter and self.user_by_email(reporter) is None:
            self.add_user(reporter)
        with self.lock:
            self._next_issue_id += 1
            issue = {
                "id": str(self._next_issue_id),
                "key": key,
                "reporter": reporter,
                "summary": summary,
                "comments": [],
            }
            self.issues[key] = issue
        return issue

    def comments(self, key: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.issues[key]["comments"])

    def seed_demo(self) -> dict[str, Any]:
        """An account for the portal and a few admin-access issues."""
        self.add_account("elevate-bot@example.com", "demo-api-token")
        for number, reporter in enumerate(["jane@example.com", "omar@example.com"], start=1):
            self.create_issue(f"IT-{number}", reporter=reporter, summary="Need temporary admin")
        return {"email": "elevate-bot@example.com", "api_token": "demo-api-token", "issues": sorted(self.issues)}

    def send_web_request(
        self, url: str, body: Any, headers: dict[str, str] | None = None, timeout: float = 30.0
    ) -> httpx.Response:
        """Do what an Automation rule's "Send web request" action does: POST the JSON body."""
        return httpx.post(url, json=body, headers=headers or {}, timeout=timeout)

    # -- HTTP -----------------------------------------------------------------------------
    def setup_routes(self) -> None:
        self.route("GET", "/rest/api/3/myself", self.myself)
        self.route("POST", "/rest/api/3/issue/{key}/comment", self.add_comment)
        self.route("GET", "/rest/api/3/issue/{key}/comment", self.list_comments)
        self.route("GET", "/rest/api/3/issue/{key}", self.get_issue)
        self.route("GET", "/rest/api/3/user/search", self.find_users)

    def _account(self, request: Request) -> dict[str, str] | None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return None
        try:
            email, _, token = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        account = self.accounts.get(email.lower())
        if account is None or not secrets.compare_digest(account["token"], token):
            return None
        return account

    def authorize(self, request: Request) -> Response | None:
        if self._account(request) is None:
            return error_collection(
                401, "You are not authenticated. Authentication required to perform this operation."
            )
        return None

    def myself(self, request: Request) -> Response:
        account = self._account(request)
        assert account is not None
        return Response(
            200,
            {
                "accountId": account["accountId"],
                "accountType": "atlassian",
                "active": True,
                "displayName": account["displayName"],
                "emailAddress": account["emailAddress"],
            },
        )

    def _issue(self, key: str) -> dict[str, Any] | None:
        issue = self.issues.get(key)
        if issue is None:
            issue = next((i for i in self.issues.values() if i["id"] == key), None)
        return issue

    def add_comment(self, request: Request) -> Response:
        issue = self._issue(request.params["key"])
        if issue is None:
            return error_collection(404, "Issue does not exist or you do not have permission to see it.")
        body = request.body if isinstance(request.body, dict) else {}
        problem = adf_problem(body.get("body"))
        if problem:
            return error_collection(400, comment=problem)
        account = self._account(request)
        assert account is not None
        self._next_comment_id += 1
        author = {"accountId": account["accountId"], "displayName": account["displayName"], "active": True}
        now = _jira_time()
        comment = {
            "self": f"{self.base_url}/rest/api/3/issue/{issue['id']}/comment/{self._next_comment_id}",
            "id": str(self._next_comment_id),
            "author": author,
            "updateAuthor": author,
            "body": body["body"],
            "created": now,
            "updated": now,
        }
        issue["comments"].append(comment)
        return Response(201, comment)

    def list_comments(self, request: Request) -> Response:
        issue = self._issue(request.params["key"])
        if issue is None:
            return error_collection(404, "Issue does not exist or you do not have permission to see it.")
        comments = issue["comments"]
        return Response(200, {"startAt": 0, "maxResults": 5000, "total": len(comments), "comments": comments})

    def _user_json(self, user: dict[str, Any]) -> dict[str, Any]:
        shown = {"accountId": user["accountId"], "accountType": "atlassian", "active": True}
        shown["displayName"] = user["displayName"]
        if not user["hidden"]:
            shown["emailAddress"] = user["emailAddress"]
        return shown

    def get_issue(self, request: Request) -> Response:
        """getIssue, with `fields=reporter` honoured (other fields are not simulated)."""
        issue = self._issue(request.params["key"])
        if issue is None:
            return error_collection(404, "Issue does not exist or you do not have permission to see it.")
        account_id = self.user_by_email(issue["reporter"]) if issue["reporter"] else None
        reporter = self._user_json(self.users[account_id]) if account_id else None
        fields: dict[str, Any] = {"reporter": reporter}
        if "reporter" not in (request.query.get("fields") or ["reporter"])[0].split(","):
            fields = {"summary": issue["summary"]}
        return Response(200, {"id": issue["id"], "key": issue["key"], "fields": fields})

    def find_users(self, request: Request) -> Response:
        """findUsers: a prefix match on display name and e-mail, as Jira does (not an exact one).
        A hidden e-mail still matches (the harder case for a client) but is not shown."""
        query = (request.query.get("query") or [""])[0].casefold()
        if not query:
            return error_collection(400, "One of 'query', 'accountId' or 'property' query parameters must be provided.")
        with self.lock:
            people = list(self.users.values())
        found = [
            self._user_json(u)
            for u in people
            if u["displayName"].casefold().startswith(query) or u["emailAddress"].casefold().startswith(query)
        ]
        return Response(200, found)
