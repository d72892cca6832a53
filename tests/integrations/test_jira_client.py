"""JiraClient against JiraSimulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import pytest

from requests_app.integrations.jira.client import (
    JiraClient,
    adf_document,
    adf_paragraph,
    adf_plain_text,
    adf_text,
)
from requests_app.integrations.jira.simulator import JiraSimulator
from requests_app.providers.base import NotFound, ProviderError


@pytest.fixture
def jira():
    sim = JiraSimulator()
    sim.add_account("bot@example.com", "api-token-1")
    sim.create_issue("IT-42", reporter="jane@example.com")
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def client(jira):
    with JiraClient(jira.base_url, "bot@example.com", "api-token-1") as client:
        yield client


def test_add_comment_posts_an_adf_document(jira, client):
    body = adf_document(
        adf_paragraph("Admin access ", adf_text("granted", strong=True), " until 12:00 UTC."),
        adf_paragraph(adf_text("Open in Elevate", href="http://portal.test/e/1")),
    )

    comment = client.add_comment("IT-42", body)

    assert isinstance(comment["id"], str)
    stored = jira.comments("IT-42")
    assert [c["id"] for c in stored] == [comment["id"]]
    assert adf_plain_text(stored[0]["body"]) == ("Admin access granted until 12:00 UTC.\nOpen in Elevate")
    link = stored[0]["body"]["content"][1]["content"][0]
    assert link["marks"] == [{"type": "link", "attrs": {"href": "http://portal.test/e/1"}}]


def test_comment_on_a_missing_issue_is_not_found(client):
    with pytest.raises(NotFound):
        client.add_comment("IT-999", adf_document(adf_paragraph("hello")))


def test_wrong_api_token_is_permanent(jira):
    client = JiraClient(jira.base_url, "bot@example.com", "expired-token")
    with pytest.raises(ProviderError) as caught:
        client.add_comment("IT-42", adf_document(adf_paragraph("hello")))
    assert caught.value.permanent
    assert caught.value.status_code == 401
    assert "expired-token" not in repr(client)


def test_plain_string_body_is_refused_like_v3(jira, client):
    with pytest.raises(ProviderError) as caught:
        client.add_comment("IT-42", "just text")  # type: ignore[arg-type]
    assert caught.value.status_code == 400
    assert jira.comments("IT-42") == []


def test_rate_limit_is_transient_with_retry_after(jira, client):
    jira.add_fault(method="POST", path="/comment$", status=429, retry_after="3")

    with pytest.raises(ProviderError) as caught:
        client.add_comment("IT-42", adf_document(adf_paragraph("hello")))

    assert not caught.value.permanent
    assert caught.value.retry_after == 3.0


def test_myself_answers_the_signed_in_account(client):
    assert client.myself()["emailAddress"] == "bot@example.com"


def test_issue_url_points_at_browse(client, jira):
    assert client.issue_url("IT-42") == f"{jira.base_url}/browse/IT-42"
