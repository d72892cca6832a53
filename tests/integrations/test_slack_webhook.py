"""The Slack webhook client against SlackSimulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import pytest

from requests_app.integrations.slack import SlackMessage, post_message
from requests_app.providers.base import ProviderError


def message(**overrides):
    values = {
        "title": "Temporary admin granted",
        "text": "jane@example.com has admin on JDOE-MBP until 12:00 UTC",
        "fields": [("Device", "JDOE-MBP"), ("Reason", "printer <driver> & co")],
        "links": [("Open in Elevate", "http://portal.test/e/1")],
        "context": "via Elevate",
    }
    values.update(overrides)
    return SlackMessage(**values)


def test_message_is_delivered_with_blocks_and_a_link(slack):
    url = slack.add_webhook()

    post_message(url, message())

    [received] = slack.messages(url)
    types = [block["type"] for block in received["blocks"]]
    assert types == ["header", "section", "section", "actions", "context"]
    button = received["blocks"][3]["elements"][0]
    assert button["url"] == "http://portal.test/e/1"
    assert "<http://portal.test/e/1|Open in Elevate>" in received["text"]
    assert "printer &lt;driver&gt; &amp; co" in received["blocks"][2]["fields"][1]["text"]


def test_revoked_webhook_is_permanent_and_hides_the_url(slack):
    url = slack.add_webhook()
    slack.webhooks.clear()

    with pytest.raises(ProviderError) as caught:
        post_message(url, message())

    assert caught.value.permanent
    assert url.rsplit("/", 1)[1] not in caught.value.message


def test_archived_channel_is_permanent(slack):
    url = slack.add_webhook(archived=True)
    with pytest.raises(ProviderError) as caught:
        post_message(url, message())
    assert caught.value.permanent
    assert caught.value.status_code == 410


def test_rate_limit_is_transient_with_retry_after(slack):
    url = slack.add_webhook()
    slack.add_fault(method="POST", path="^/services/", status=429, retry_after="1")

    with pytest.raises(ProviderError) as caught:
        post_message(url, message())

    assert not caught.value.permanent
    assert caught.value.retry_after == 1.0
    post_message(url, message())  # the fault was used up
    assert len(slack.messages(url)) == 1


def test_server_error_is_transient(slack):
    url = slack.add_webhook()
    slack.add_fault(method="POST", path="^/services/", status=500)
    with pytest.raises(ProviderError) as caught:
        post_message(url, message())
    assert not caught.value.permanent


def test_200_without_ok_is_refused(slack):
    url = slack.add_webhook()
    slack.add_fault(method="POST", path="^/services/", status=200, body={"error": "no_service"})
    with pytest.raises(ProviderError) as caught:
        post_message(url, message())
    assert caught.value.permanent


def test_message_without_links_or_fields_has_no_empty_blocks(slack):
    url = slack.add_webhook()
    post_message(url, message(fields=[], links=[], context=""))
    [received] = slack.messages(url)
    assert [b["type"] for b in received["blocks"]] == ["header", "section"]
