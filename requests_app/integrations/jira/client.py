"""Raw calls to Jira Cloud REST API v3, and the Atlassian Document Format the comments use.

References: "The Jira Cloud platform REST API" v3 (operations `addComment`, `getCurrentUser`),
Atlassian "Basic auth for REST APIs" (e-mail + API token) and the ADF structure docs. Contract
notes: `shared/provider-apis/jira.md`. Errors arrive as `ProviderError` from the shared `send`
(401/403 and other 4xx permanent, 429 and 5xx transient with Retry-After).
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

import httpx

from requests_app.providers.base import ProviderError, http_client, send

# -- Atlassian Document Format --------------------------------------------------------------


def adf_text(text: str, *, strong: bool = False, code: bool = False, href: str = "") -> dict:
    """An inline ADF text node with optional marks."""
    marks: list[dict[str, Any]] = []
    if strong:
        marks.append({"type": "strong"})
    if code:
        marks.append({"type": "code"})
    if href:
        marks.append({"type": "link", "attrs": {"href": href}})
    node: dict[str, Any] = {"type": "text", "text": text}
    if marks:
        node["marks"] = marks
    return node


def adf_paragraph(*parts: str | dict) -> dict:
    """A paragraph of text nodes; plain strings become unmarked text. Empty parts are dropped."""
    content = [adf_text(p) if isinstance(p, str) else p for p in parts if p]
    return {"type": "paragraph", "content": content}


def adf_document(*paragraphs: dict) -> dict:
    """The ADF root (`doc`, version 1) a v3 comment body must be."""
    return {"type": "doc", "version": 1, "content": list(paragraphs)}


def adf_plain_text(document: dict) -> str:
    """The document's text, paragraphs on their own lines (for logs, tests and previews)."""
    lines = []
    for block in document.get("content") or []:
        lines.append("".join(node.get("text", "") for node in block.get("content") or []))
    return "\n".join(lines)


# -- REST client ----------------------------------------------------------------------------


def _json_answer(response: httpx.Response, what: str) -> Any:
    """The answer's JSON. A 200 that is not JSON (a login page, a proxy's notice) means the site
    URL is not a Jira REST API: permanent, with a message an admin can act on."""
    try:
        return response.json()
    except ValueError:
        raise ProviderError(
            f"{what}: the site answered without JSON; is the site URL a Jira Cloud site?", permanent=True
        ) from None


def _json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    answer = _json_answer(response, what)
    if not isinstance(answer, dict):
        raise ProviderError(f"{what}: the site answered with something other than a JSON object", permanent=True)
    return answer


def basic_auth_header(email: str, api_token: str) -> str:
    return "Basic " + base64.b64encode(f"{email}:{api_token}".encode()).decode()


class JiraClient:
    """One Jira Cloud site, signed in as an Atlassian account with an API token."""

    def __init__(self, site_url: str, email: str, api_token: str, *, timeout: httpx.Timeout | None = None) -> None:
        self.site_url = site_url.rstrip("/")
        self.email = email
        headers = {
            "Accept": "application/json",
            "Authorization": basic_auth_header(email, api_token),
        }
        self._http = http_client(self.site_url, headers, timeout)

    def __repr__(self) -> str:  # never show the token
        return f"JiraClient({self.site_url!r}, email={self.email!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> JiraClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def myself(self) -> dict[str, Any]:
        """GET /rest/api/3/myself (operationId getCurrentUser): the signed-in account; 401 if not."""
        return _json_object(send(self._http, "GET", "/rest/api/3/myself", "Jira sign-in check"), "Jira sign-in check")

    def add_comment(self, issue_key: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST /rest/api/3/issue/{issueIdOrKey}/comment (operationId addComment).

        `body` is an ADF document (v3 refuses plain strings). Answers 201 with the `Comment`
        (`id` is a string); 404 when the issue is missing or not visible to the account.
        """
        path = f"/rest/api/3/issue/{quote(issue_key, safe='')}/comment"
        what = f"Jira comment on {issue_key}"
        return _json_object(send(self._http, "POST", path, what, json={"body": body}), what)

    def issue_reporter(self, issue_key: str) -> dict[str, Any] | None:
        """GET /rest/api/3/issue/{issueIdOrKey}?fields=reporter (operationId getIssue): the issue's
        reporter (`accountId`, `displayName`, `emailAddress` unless privacy hides it), or None
        when the issue has none. 404 when the issue is missing or not visible to the account."""
        path = f"/rest/api/3/issue/{quote(issue_key, safe='')}"
        what = f"Jira issue {issue_key}"
        issue = _json_object(send(self._http, "GET", path, what, params={"fields": "reporter"}), what)
        reporter = (issue.get("fields") or {}).get("reporter")
        return reporter if isinstance(reporter, dict) else None

    def users_with_email(self, email: str) -> list[dict[str, Any]]:
        """GET /rest/api/3/user/search?query= (operationId findUsers), filtered to the users whose
        `emailAddress` is exactly `email` (case aside): the query matches prefixes of names and
        addresses, so `jane.doe@example.com` also finds `jane.doe@example.com.au`."""
        what = "Jira user search"
        users = _json_answer(send(self._http, "GET", "/rest/api/3/user/search", what, params={"query": email}), what)
        if not isinstance(users, list):
            raise ProviderError(f"{what}: the site answered with something other than a list", permanent=True)
        wanted = email.casefold()
        return [u for u in users if isinstance(u, dict) and (u.get("emailAddress") or "").casefold() == wanted]

    def issue_url(self, issue_key: str) -> str:
        """The issue's page for people (not an API call)."""
        return f"{self.site_url}/browse/{quote(issue_key, safe='')}"
