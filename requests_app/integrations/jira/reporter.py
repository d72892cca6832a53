"""Who asked, according to Jira itself: the Automation body's `reporterEmail` is whatever the rule
(or anyone holding the shared secret) sent, so where the connection can read issues, the issue's
reporter is read through the Jira API and must have exactly that e-mail address.

No database transaction is open here: these are network calls.
"""

from __future__ import annotations

import logging

from django.core.cache import cache

from requests_app.integrations.jira.client import adf_document, adf_paragraph
from requests_app.integrations.jira.intake import IntakeRejected
from requests_app.integrations.models import JiraConnection
from requests_app.providers.base import ProviderError

log = logging.getLogger(__name__)
COMMENT_ONCE_SECONDS = 24 * 3600


def check_reporter(connection: JiraConnection, issue_key: str, claimed_email: str) -> None:
    """Refuse (IntakeRejected) unless the issue's reporter has the e-mail `claimed_email`."""
    if not connection.verify_reporter:
        return
    try:
        with connection.client() as client:
            reporter = client.issue_reporter(issue_key)
            confirmed = reporter is not None and _same_person(client, reporter, claimed_email)
    except ProviderError as exc:
        if exc.status_code == 404:
            raise IntakeRejected(
                "unknown_issue",
                f"{issue_key} does not exist on the Jira site or is not visible to Elevate.",
                status=422,
            ) from exc
        raise IntakeRejected(
            "jira_unavailable",
            f"The reporter of {issue_key} could not be checked with Jira ({exc.message}); send the request again.",
            status=503 if not exc.permanent else 502,
        ) from exc
    if not confirmed:
        _refuse(connection, issue_key, claimed_email)


def _same_person(client, reporter: dict, claimed_email: str) -> bool:
    shown = reporter.get("emailAddress")
    if shown:
        return shown.casefold() == claimed_email.casefold()
    # The reporter's profile hides the address: it matches only if the exact-address search
    # finds this very account.
    return any(user.get("accountId") == reporter.get("accountId") for user in client.users_with_email(claimed_email))


def _refuse(connection: JiraConnection, issue_key: str, claimed_email: str) -> None:
    message = (
        f"The reporter of {issue_key} is not {claimed_email} according to Jira (or Jira hides the "
        "reporter's e-mail), so Elevate did not act on this request."
    )
    log.warning("Jira intake refused: reporter mismatch on %s (connection %s)", issue_key, connection.pk)
    # One comment per issue and claimed address a day: a looping rule must not flood the issue.
    if cache.add(f"jira-reporter-refused:{connection.pk}:{issue_key}:{claimed_email}", 1, COMMENT_ONCE_SECONDS):
        try:
            with connection.client() as client:
                client.add_comment(issue_key, adf_document(adf_paragraph("Elevate: " + message)))
        except ProviderError as exc:
            log.warning("Could not comment on %s: %s", issue_key, exc.message)
    raise IntakeRejected("reporter_mismatch", message, status=409)
