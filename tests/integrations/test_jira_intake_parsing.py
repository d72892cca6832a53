"""The pure half of Jira intake: body validation, shared secret, signatures and replays."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from requests_app.integrations.jira.intake import (
    IntakeRejected,
    parse_duration,
    parse_intake,
    presented_secret,
    secret_matches,
    sign,
    verify_signature,
)

NOW = datetime(2026, 8, 30, 9, 0, tzinfo=UTC)


def body(**overrides):
    data = {
        "issueKey": "it-42",
        "reporterEmail": "Jane@Example.com",
        "device": "JDOE-MBP",
        "duration": "2h",
        "reason": "Install the printer driver",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_valid_body_is_normalised():
    request = parse_intake(body(), now=NOW)

    assert request.issue_key == "IT-42"
    assert request.reporter_email == "jane@example.com"
    assert request.device == "JDOE-MBP"
    assert request.duration == timedelta(hours=2)
    assert request.expires_at is None
    assert request.resolve_expiry(NOW) == NOW + timedelta(hours=2)


def test_jira_formatted_expiry_is_accepted():
    request = parse_intake(body(duration="", expiry="2026-08-30T12:00:00.000+0000"), now=NOW)

    assert request.expires_at == datetime(2026, 8, 30, 12, 0, tzinfo=UTC)
    assert request.duration is None


def test_device_may_come_as_device_id_or_hostname():
    assert parse_intake(body(device=None, deviceId="abc123"), now=NOW).device == "abc123"
    assert parse_intake(body(device=None, hostname="pc-7"), now=NOW).device == "pc-7"


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("90", 90),
        ("90m", 90),
        ("2h", 120),
        ("1h30m", 90),
        ("1h 30m", 90),
        ("1 day", 1440),
        ("2 hours and 15 minutes", 135),
        ("PT2H30M", 150),
        ("P1D", 1440),
        ("45 mins", 45),
    ],
)
def test_duration_formats(text, minutes):
    assert parse_duration(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["", "0", "two hours", "2 months", "PT", "-5", "2h foo"])
def test_bad_durations_are_refused(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_numeric_duration_minutes_from_a_number_field():
    assert parse_intake(body(duration=None, durationMinutes=45), now=NOW).duration == timedelta(minutes=45)


def test_every_problem_is_reported_at_once():
    with pytest.raises(IntakeRejected) as caught:
        parse_intake({"issueKey": "not a key", "reporterEmail": "", "duration": "soon"}, now=NOW)

    rejected = caught.value
    assert rejected.status == 400
    assert rejected.code == "bad_body"
    assert set(rejected.errors) == {"issueKey", "reporterEmail", "device", "reason", "duration"}
    assert rejected.as_json()["errors"]["issueKey"].startswith("'NOT A KEY' is not")


def test_duration_and_expiry_together_are_ambiguous():
    with pytest.raises(IntakeRejected) as caught:
        parse_intake(body(expiry="2026-08-30T12:00:00Z"), now=NOW)
    assert "not both" in caught.value.errors["duration"]


def test_missing_duration_and_expiry_is_refused():
    with pytest.raises(IntakeRejected) as caught:
        parse_intake(body(duration=""), now=NOW)
    assert "duration" in caught.value.errors


def test_past_expiry_is_refused():
    with pytest.raises(IntakeRejected) as caught:
        parse_intake(body(duration=None, expiry="2026-08-29T12:00:00Z"), now=NOW)
    assert "in the past" in caught.value.errors["expiry"]


def test_unparseable_expiry_is_refused():
    with pytest.raises(IntakeRejected) as caught:
        parse_intake(body(duration=None, expiry="next tuesday"), now=NOW)
    assert "ISO 8601" in caught.value.errors["expiry"]


@pytest.mark.parametrize("payload", [[], "text", None, 42])
def test_non_object_body_is_refused(payload):
    with pytest.raises(IntakeRejected) as caught:
        parse_intake(payload, now=NOW)
    assert caught.value.code == "bad_body"


def test_secret_comparison():
    assert secret_matches("s3cret", "s3cret")
    assert not secret_matches("s3cret ", "s3cret")
    assert not secret_matches(None, "s3cret")
    assert not secret_matches("", "")


def test_secret_is_read_from_either_header():
    assert presented_secret({"X-Elevate-Secret": " abc "}) == "abc"
    assert presented_secret({"Authorization": "Bearer xyz"}) == "xyz"
    assert presented_secret({"Authorization": "Basic xyz"}) is None


class Seen:
    def __init__(self):
        self.keys = set()

    def __call__(self, key, ttl):
        if key in self.keys:
            return False
        self.keys.add(key)
        return True


def test_valid_signature_passes_once_and_a_replay_is_refused():
    raw = json.dumps(body()).encode()
    header = sign(raw, "hmac-key", int(NOW.timestamp()))
    seen = Seen()

    verify_signature(raw, header, "hmac-key", now=NOW, first_use=seen)
    with pytest.raises(IntakeRejected) as caught:
        verify_signature(raw, header, "hmac-key", now=NOW, first_use=seen)

    assert caught.value.code == "replayed"
    assert caught.value.status == 401


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (None, "missing"),
        ("v1=abc", "no timestamp"),
        ("t=1,v1=abc", "s off"),
    ],
)
def test_bad_signature_headers(header, problem):
    with pytest.raises(IntakeRejected) as caught:
        verify_signature(b"{}", header, "hmac-key", now=NOW, first_use=Seen())
    assert problem in caught.value.message
    assert caught.value.status == 401


def test_signature_over_another_body_is_refused():
    header = sign(b'{"a": 1}', "hmac-key", int(NOW.timestamp()))
    with pytest.raises(IntakeRejected) as caught:
        verify_signature(b'{"a": 2}', header, "hmac-key", now=NOW, first_use=Seen())
    assert "does not match" in caught.value.message


def test_stale_signature_is_refused_even_if_valid():
    stale = int((NOW - timedelta(minutes=10)).timestamp())
    header = sign(b"{}", "hmac-key", stale)
    with pytest.raises(IntakeRejected):
        verify_signature(b"{}", header, "hmac-key", now=NOW, first_use=Seen())
