"""The Jira intake under hostile input: a forged reporter, floods, and odd bodies (issue 17 items
4 and 8, issue 18 item 7). Every refusal is a clear JSON 4xx and changes nothing."""

from __future__ import annotations

import json
import logging

import pytest
from security_helpers import body

from requests_app.integrations.jira.client import adf_plain_text
from requests_app.integrations.models import JiraIntake
from requests_app.models import AuditEvent, Elevation

pytestmark = pytest.mark.django_db


def _nothing_stored() -> bool:
    return not Elevation.objects.exists() and not JiraIntake.objects.exists()


# -- the reporter, according to Jira -------------------------------------------------------------


def test_a_body_naming_someone_else_than_the_issues_reporter_is_refused_with_a_comment(
    automation, jira_site, device, employee
):
    jira_site.create_issue("IT-42", reporter="mallory@example.com")

    response = automation(body(reporterEmail=employee.email))

    assert response.status_code == 409
    assert response.json()["error"] == "reporter_mismatch"
    assert _nothing_stored()
    [comment] = jira_site.comments("IT-42")
    assert "did not act" in adf_plain_text(comment["body"])


def test_the_issues_reporter_with_the_same_address_is_accepted(automation, jira_site, device, employee):
    jira_site.create_issue("IT-42", reporter=employee.email)

    response = automation(body(reporterEmail=employee.email))

    assert response.status_code == 201
    assert Elevation.objects.get().beneficiary == employee


def test_a_reporter_whose_address_only_starts_with_the_claimed_one_is_refused(automation, jira_site, device, employee):
    # The issue's reporter is erin@example.com.au with a hidden address. A search for
    # erin@example.com finds that account (Jira matches prefixes): only an exact address counts.
    jira_site.add_user(employee.email + ".au", "Erin Lookalike", hide_email=True)
    jira_site.create_issue("IT-42", reporter=employee.email + ".au")

    response = automation(body(reporterEmail=employee.email))

    assert response.status_code == 409
    assert response.json()["error"] == "reporter_mismatch"
    assert _nothing_stored()


def test_a_visible_lookalike_reporter_address_is_refused(automation, jira_site, device, employee):
    jira_site.create_issue("IT-42", reporter=employee.email + ".au")

    response = automation(body(reporterEmail=employee.email))

    assert response.status_code == 409
    assert _nothing_stored()


def test_an_issue_jira_does_not_know_is_refused(automation, device):
    response = automation(body())

    assert response.status_code == 422
    assert response.json()["error"] == "unknown_issue"
    assert _nothing_stored()


# -- throttling --------------------------------------------------------------------------------


def test_calls_past_the_per_address_limit_get_429_with_retry_after_and_are_logged(
    automation, settings, device, employee, caplog
):
    settings.ELEVATE_JIRA_INTAKE_PER_ADDRESS_PER_MINUTE = 3
    with caplog.at_level(logging.WARNING):
        answers = [automation({"issueKey": "IT-1"}, address="10.9.9.9") for _ in range(4)]
    other_address = automation({"issueKey": "IT-1"}, address="10.9.9.10")

    assert [a.status_code for a in answers] == [400, 400, 400, 429]
    assert 1 <= int(answers[-1]["Retry-After"]) <= 60
    assert answers[-1].json()["error"] == "throttled"
    assert other_address.status_code == 400
    assert "Jira intake refused from 10.9.9.9: throttled (429)" in caplog.text


def test_calls_past_the_per_connection_limit_get_429(automation, settings, device):
    settings.ELEVATE_JIRA_INTAKE_PER_CONNECTION_PER_MINUTE = 2
    answers = [automation({"issueKey": "IT-1"}, address=f"10.0.0.{n}") for n in range(3)]

    assert [a.status_code for a in answers] == [400, 400, 429]


# -- odd bodies -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"[" * 100_000 + b"]" * 100_000, None),
        (json.dumps(body(reason="printer\x00driver")).encode(), "reason"),
        (json.dumps(body(device="erin-\x00laptop")).encode(), "device"),
        (json.dumps(body(duration="1000000000000")).encode(), "duration"),
        (json.dumps(body(duration="P99999999999D")).encode(), "duration"),
        (json.dumps(body(duration="99999999999999999999h")).encode(), "duration"),
        (json.dumps(body(duration="", expiry="9999-12-31T23:59:59+00:00")).encode(), "expiry"),
        (json.dumps(body(issueKey="IT-" + "1" * 60)).encode(), "issueKey"),
        (json.dumps(body(reporterEmail="a" * 300 + "@example.com")).encode(), "reporterEmail"),
        (json.dumps(body(device="h" * 300)).encode(), "device"),
    ],
)
def test_odd_bodies_get_a_clear_400_and_change_nothing(automation, device, raw, field):
    events = AuditEvent.objects.count()

    response = automation(raw=raw)

    assert response.status_code == 400
    assert response.json()["ok"] is False
    if field:
        assert field in response.json()["errors"]
    assert _nothing_stored()
    assert AuditEvent.objects.count() == events


# -- the admin's sign-in check ------------------------------------------------------------------------


def test_the_sign_in_check_reports_a_site_that_answers_without_json(admin, jira_link, jira_site, with_mfa):
    from django.contrib.messages import get_messages
    from django.test import Client
    from django.urls import reverse

    from requests_app.providers.simulator import Fault

    with_mfa(admin)
    jira_site.add_fault(**vars(Fault(path="/myself", status=200, body=b"<html>Log in</html>", times=None)))
    client = Client()
    client.force_login(admin)

    url = reverse("admin:integrations_jiraconnection_changelist")
    response = client.post(url, {"action": "check_sign_in", "_selected_action": [jira_link.pk]})

    assert response.status_code == 302
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert "without JSON" in message
