"""The pure half of Jira intake: authenticate an Automation "Send web request" and read its body.

The rule's web request body is "Custom data" in this shape (smart values shown):

    {"issueKey": "{{issue.key}}",
     "reporterEmail": "{{issue.reporter.emailAddress}}",
     "device": "{{issue.customfield_10060}}",         (or "deviceId" / "hostname")
     "duration": "{{issue.customfield_10061}}",       (minutes, "90m", "2h", "1d", "PT2H") or
     "expiry": "{{issue.customfield_10050}}",         (ISO 8601, Jira's "+0000" offsets accepted)
     "reason": "{{issue.summary}}"}

Jira renders a smart value it cannot resolve as an empty string, so empty counts as missing.
Authentication: the rule sends the shared secret in a header; where configured a signature
`X-Elevate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + raw body>` is also
required (a relay that can sign adds it; Jira does not sign Automation requests itself).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

SIGNATURE_HEADER = "X-Elevate-Signature"
SECRET_HEADER = "X-Elevate-Secret"
SIGNATURE_TOLERANCE_SECONDS = 300
ISSUE_KEY = re.compile(r"^[A-Z][A-Z0-9_]*-[1-9][0-9]*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ISO_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$")
DURATION_PART = re.compile(r"(\d+)\s*(days?|d|hours?|hrs?|h|minutes?|mins?|m)(?![a-z])")
UNIT_MINUTES = {"d": 24 * 60, "h": 60, "m": 1}
MAX_REASON_LENGTH = 1000
# Longer values are refused with a message, not cut: they cannot be what the rule meant.
MAX_ISSUE_KEY_LENGTH = 50
MAX_EMAIL_LENGTH = 254
MAX_DEVICE_LENGTH = 255
MAX_DURATION = timedelta(days=366)  # the policy's own limit is far lower; this keeps the arithmetic sane


class IntakeRejected(Exception):
    """The call cannot be accepted. `code` is stable for machines, `message` is for people."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int = 400,
        errors: dict[str, str] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.errors = errors or {}
        self.retry_after = retry_after

    def as_json(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"ok": False, "error": self.code, "message": self.message}
        if self.errors:
            payload["errors"] = self.errors
        return payload


@dataclass(frozen=True)
class IntakeRequest:
    """A validated request: exactly one of `duration` and `expires_at` is set."""

    issue_key: str
    reporter_email: str
    device: str  # a device id or a hostname, as the reporter gave it
    reason: str
    duration: timedelta | None = None
    expires_at: datetime | None = None

    def resolve_expiry(self, now: datetime) -> datetime:
        if self.expires_at is not None:
            return self.expires_at
        assert self.duration is not None  # parse_intake sets one of the two
        return now + self.duration


# -- authentication -------------------------------------------------------------------------


def secret_matches(presented: str | None, expected: str) -> bool:
    """Constant-time comparison; an unset expected secret never matches."""
    if not expected or not presented:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


def presented_secret(headers: Any) -> str | None:
    """The secret from `X-Elevate-Secret`, or from `Authorization: Bearer …`."""
    secret = headers.get(SECRET_HEADER)
    if secret:
        return secret.strip()
    authorization = headers.get("Authorization") or ""
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


def sign(raw_body: bytes, secret: str, timestamp: int) -> str:
    """The signature header value for a body (what a signing relay sends)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_signature(
    raw_body: bytes,
    header: str | None,
    secret: str,
    *,
    now: datetime,
    first_use: Callable[[str, int], bool],
    tolerance: int = SIGNATURE_TOLERANCE_SECONDS,
) -> None:
    """Check a signature header; raise IntakeRejected (401) when it is missing, stale or reused.

    `first_use(key, ttl)` records a signature and says whether it was new (e.g. Django's
    `cache.add`); a captured request replayed within the tolerance window is refused.
    """
    if not header:
        raise IntakeRejected("bad_signature", f"the {SIGNATURE_HEADER} header is missing", status=401)
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        fields.setdefault(name, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        raise IntakeRejected("bad_signature", "the signature has no timestamp", status=401) from None
    if abs(now.timestamp() - timestamp) > tolerance:
        raise IntakeRejected("bad_signature", f"the signature timestamp is more than {tolerance} s off", status=401)
    expected = sign(raw_body, secret, timestamp).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, given) for given in fields.get("v1", [])):
        raise IntakeRejected("bad_signature", "the signature does not match the body", status=401)
    if not first_use(f"jira-intake-signature:{timestamp}:{expected}", 2 * tolerance):
        raise IntakeRejected("replayed", "this signed request was already received", status=401)


# -- the body -------------------------------------------------------------------------------


def _text(body: dict[str, Any], *names: str) -> str:
    for name in names:
        value = body.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _unprintable(body: dict[str, Any]) -> dict[str, str]:
    """Fields holding NUL or other control characters (PostgreSQL text cannot hold NUL)."""
    return {
        name: "contains control characters"
        for name, value in body.items()
        if isinstance(value, str) and any(ord(c) < 32 and c not in "\t\n\r" for c in value)
    }


def _too_long(value: str, limit: int, what: str) -> str | None:
    return f"{what} is {len(value)} characters long; at most {limit}" if len(value) > limit else None


def parse_duration(text: str) -> timedelta:
    """Minutes as a bare number, "90m", "2h", "1h 30m", "1 day", or ISO 8601 "PT2H30M"."""
    value = text.strip()
    if len(value) > 40:
        raise ValueError(value)
    if value.isascii() and value.isdigit():
        minutes = int(value)
    elif match := ISO_DURATION.match(value.upper()):
        if not any(match.groups()):
            raise ValueError(value)
        days, hours, mins = (int(g or 0) for g in match.groups())
        minutes = days * 24 * 60 + hours * 60 + mins
    else:
        parts = DURATION_PART.findall(value.lower())
        if not parts or DURATION_PART.sub("", value.lower()).strip(" ,and"):
            raise ValueError(value)
        minutes = sum(int(n) * UNIT_MINUTES[unit[0]] for n, unit in parts)
    if minutes < 1 or minutes > MAX_DURATION // timedelta(minutes=1):
        raise ValueError(value)
    return timedelta(minutes=minutes)


def parse_expiry(text: str) -> datetime:
    """ISO 8601; Jira's `2026-08-30T12:00:00.000+0000` included; no offset means UTC."""
    parsed = datetime.fromisoformat(text.strip())
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _read_when(body: dict[str, Any], now: datetime, errors: dict[str, str]) -> dict[str, Any]:
    duration_text = _text(body, "duration", "durationMinutes")
    expiry_text = _text(body, "expiry", "expiresAt")
    if duration_text and expiry_text:
        errors["duration"] = "give either duration or expiry, not both"
    elif duration_text:
        try:
            return {"duration": parse_duration(duration_text)}
        except ValueError:
            errors["duration"] = (
                f"{duration_text[:40]!r} is not a duration of at most 366 days; use minutes (90), 90m, 2h, 1d or PT2H"
            )
    elif expiry_text:
        try:
            expires_at = parse_expiry(expiry_text)
        except ValueError:
            errors["expiry"] = f"{expiry_text[:40]!r} is not an ISO 8601 date and time"
        else:
            if expires_at <= now:
                errors["expiry"] = f"{expiry_text} is in the past"
            elif expires_at - now > MAX_DURATION:
                errors["expiry"] = f"{expiry_text} is more than 366 days ahead"
            return {"expires_at": expires_at}
    else:
        errors["duration"] = "give a duration (e.g. 2h) or an expiry (ISO 8601)"
    return {}


def parse_intake(body: Any, *, now: datetime) -> IntakeRequest:
    """Validate the Automation body; raise IntakeRejected listing every problem at once."""
    if not isinstance(body, dict):
        raise IntakeRejected("bad_body", "the body must be a JSON object")
    errors: dict[str, str] = _unprintable(body)
    if errors:
        raise IntakeRejected("bad_body", "the request body holds control characters", errors=errors)
    issue_key = _text(body, "issueKey", "issue_key").upper()
    if not issue_key:
        errors["issueKey"] = "the Jira issue key is required (e.g. IT-42)"
    elif too_long := _too_long(issue_key, MAX_ISSUE_KEY_LENGTH, "the issue key"):
        errors["issueKey"] = too_long
    elif not ISSUE_KEY.match(issue_key):
        errors["issueKey"] = f"{issue_key!r} is not a Jira issue key (e.g. IT-42)"
    email = _text(body, "reporterEmail", "reporter_email").lower()
    if not email:
        errors["reporterEmail"] = (
            "the reporter's e-mail is required (Jira leaves it empty when the reporter's profile hides it)"
        )
    elif too_long := _too_long(email, MAX_EMAIL_LENGTH, "the e-mail address"):
        errors["reporterEmail"] = too_long
    elif not EMAIL.match(email):
        errors["reporterEmail"] = f"{email!r} is not an e-mail address"
    device = _text(body, "device", "deviceId", "hostname")
    if not device:
        errors["device"] = "the device is required (its id or hostname)"
    elif too_long := _too_long(device, MAX_DEVICE_LENGTH, "the device"):
        errors["device"] = too_long
    reason = _text(body, "reason")
    if not reason:
        errors["reason"] = "a reason is required"
    when = _read_when(body, now, errors)
    if errors:
        raise IntakeRejected("bad_body", "the request body is incomplete or invalid", errors=errors)
    return IntakeRequest(
        issue_key=issue_key,
        reporter_email=email,
        device=device,
        reason=reason[:MAX_REASON_LENGTH],
        **when,
    )
