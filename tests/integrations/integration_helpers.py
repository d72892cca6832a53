"""Constants and builders shared by the integration tests (imported by name: no conftest magic)."""

from __future__ import annotations

JIRA_EMAIL = "elevate-bot@example.com"
JIRA_TOKEN = "jira-api-token"
INTAKE_SECRET = "automation-shared-secret"


def intake_body(**overrides) -> dict:
    body = {
        "issueKey": "IT-42",
        "reporterEmail": "erin@example.com",
        "device": "erin-laptop",
        "duration": "1h",
        "reason": "Install the printer driver",
    }
    body.update(overrides)
    return body
