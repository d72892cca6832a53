"""Builders shared by the security tests (imported by name: no conftest magic)."""

from __future__ import annotations


def body(**overrides) -> dict:
    return {
        "issueKey": "IT-42",
        "reporterEmail": "erin@example.com",
        "device": "erin-laptop",
        "duration": "1h",
        "reason": "Install the printer driver",
        **overrides,
    }
