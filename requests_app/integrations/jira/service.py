"""Jira intake as a use case: one issue becomes (at most) one elevation, through the same
`services.elevation_request` as the web form, so policy and approvals apply unchanged."""

from __future__ import annotations

import contextlib
import math
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse

from requests_app import services
from requests_app.clock import now
from requests_app.errors import NotAllowed, PortalError
from requests_app.integrations.jira.intake import IntakeRejected, IntakeRequest
from requests_app.integrations.jira.reporter import check_reporter
from requests_app.integrations.models import JiraConnection, JiraIntake
from requests_app.lifecycle import LIVE_STATES
from requests_app.models import Device, Elevation, User

# PortalError subclasses → stable codes in the JSON answer.
ERROR_CODES = {
    "PolicyViolation": "policy_violation",
    "NotAllowed": "not_allowed",
    "ProviderUnavailable": "provider_unavailable",
    "StaleTransition": "conflict",
}


def find_reporter(email: str) -> User:
    reporter = User.objects.filter(email__iexact=email, is_active=True).first()
    if reporter is None:
        raise IntakeRejected(
            "unknown_reporter",
            f"No active Elevate user has the e-mail {email}; the reporter must have signed in to "
            "Elevate once (or be provisioned) before requesting through Jira.",
            status=422,
        )
    return reporter


def find_device(reporter: User, text: str) -> Device:
    """The reporter's device by portal id, provider id or hostname (case-insensitive)."""
    match = Q(external_id=text) | Q(hostname__iexact=text)
    with contextlib.suppress(ValueError):  # not a portal id: match the other two only
        match |= Q(public_id=uuid.UUID(text))
    devices = Device.objects.filter(match, removed_at__isnull=True).select_related("connection")
    own = [d for d in devices.filter(users=reporter)]
    if len(own) == 1:
        return own[0]
    if len(own) > 1:
        raise IntakeRejected(
            "ambiguous_device",
            f"{text!r} names {len(own)} of {reporter.email}'s devices; send the device id instead.",
            status=422,
        )
    if devices.exists():
        raise IntakeRejected("not_allowed", f"{text!r} is not one of {reporter.email}'s devices.", status=422)
    raise IntakeRejected(
        "unknown_device", f"No device with the id or hostname {text!r} is known to Elevate.", status=422
    )


def receive(*, connection: JiraConnection, request: IntakeRequest) -> tuple[JiraIntake, bool]:
    """Create the elevation for this issue, or return the one an earlier call created.

    Returns (intake, created). Raises IntakeRejected for anything the caller must fix; nothing is
    stored then, so a corrected retry is judged afresh.
    """
    current = now()
    existing = _seen_before(connection, request.issue_key, current)
    if existing is not None:
        return existing, False
    check_reporter(connection, request.issue_key, request.reporter_email)
    reporter = find_reporter(request.reporter_email)
    device = find_device(reporter, request.device)
    minutes = max(1, math.ceil((request.resolve_expiry(current) - current).total_seconds() / 60))
    try:
        with transaction.atomic():
            # The unique row is written first: a concurrent duplicate waits on it, then finds it.
            intake = JiraIntake.objects.create(
                connection=connection,
                issue_key=request.issue_key,
                reporter_email=request.reporter_email,
                outcome="created",
                received_at=current,
                last_call_at=current,
            )
            live_ids = set(
                Elevation.objects.filter(beneficiary=reporter, device=device, state__in=LIVE_STATES).values_list(
                    "pk", flat=True
                )
            )
            elevation = services.elevation_request(
                requester=reporter,
                device=device,
                minutes=minutes,
                reason=request.reason,
                ticket_ref=request.issue_key,
                source=Elevation.Source.JIRA,
                source_ref=request.issue_key,
            )
            intake.elevation = elevation
            intake.outcome = "extended" if elevation.pk in live_ids else "created"
            intake.save(update_fields=["elevation", "outcome"])
    except IntegrityError:
        existing = _seen_before(connection, request.issue_key, current)
        if existing is None:
            raise
        return existing, False
    except PortalError as exc:
        code = ERROR_CODES.get(type(exc).__name__, "refused")
        status = 403 if isinstance(exc, NotAllowed) else 422
        errors = {exc.field: exc.message} if exc.field else None
        raise IntakeRejected(code, exc.message, status=status, errors=errors) from exc
    return intake, True


def _seen_before(connection: JiraConnection, issue_key: str, at) -> JiraIntake | None:
    intake = JiraIntake.objects.filter(connection=connection, issue_key=issue_key).select_related("elevation").first()
    if intake is not None:
        JiraIntake.objects.filter(pk=intake.pk).update(calls=F("calls") + 1, last_call_at=at)
    return intake


def describe(intake: JiraIntake, *, created: bool) -> dict:
    """The JSON answer: what happened, and where to look."""
    elevation = intake.elevation
    assert elevation is not None  # receive() links every intake it answers for
    outcome = intake.outcome if created else "duplicate"
    messages = {
        "created": f"Elevation requested for {intake.reporter_email} on {elevation.target_name}.",
        "extended": f"{intake.reporter_email} already had admin on {elevation.target_name}; it was extended.",
        "duplicate": f"{intake.issue_key} was already received; nothing new was created.",
    }
    return {
        "ok": True,
        "outcome": outcome,
        "created": created and outcome == "created",
        "message": messages[outcome],
        "issueKey": intake.issue_key,
        "elevation": {
            "id": str(elevation.public_id),
            "state": elevation.state,
            "stateLabel": elevation.get_state_display(),
            "expiresAt": elevation.expires_at.isoformat(),
            "url": settings.ELEVATE_BASE_URL + reverse("requests_app:detail", args=[elevation.public_id]),
        },
    }
