"""Writes of attestations: opening one when an elevation ends, and the beneficiary's answer."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction

from requests_app import audit, policy
from requests_app.attestation import selectors
from requests_app.clock import now
from requests_app.errors import NotAllowed, PolicyViolation
from requests_app.models import Attestation, Elevation, User

TEXT_MAX_LENGTH = 2000
# The sweep looks this far back for ended elevations whose attestation was not opened yet.
SWEEP_WINDOW = timedelta(days=2)


def attestation_open(*, elevation: Elevation) -> Attestation | None:
    """Open the attestation of an elevation that held admin and ended; idempotent (returns the
    existing row). None when there is nothing to attest (never active, or not ended)."""
    if not selectors.ended_with_admin(elevation):
        return None
    existing = Attestation.objects.filter(elevation=elevation).first()
    if existing is not None:
        return existing
    rules = elevation.policy
    required = bool(rules and rules.attestation_required)
    hours = rules.attestation_within_hours if rules else 72
    try:
        with transaction.atomic():
            attestation = Attestation.objects.create(
                elevation=elevation,
                required=required,
                blocks_requests=bool(required and rules is not None and rules.attestation_blocks_requests),
                due_at=(elevation.ended_at or now()) + timedelta(hours=hours),
                created_at=now(),
            )
            audit.record(
                "attestation.requested",
                target=elevation,
                elevation=elevation,
                after={"required": required, "due_at": attestation.due_at.isoformat()},
            )
    except IntegrityError:  # a duplicate delivery of the same end opened it first
        return Attestation.objects.get(elevation=elevation)
    return attestation


def attestations_open_for(elevation_ids: list[int]) -> int:
    """Open the attestations of these elevations (those that ended holding admin)."""
    elevations = Elevation.objects.filter(pk__in=elevation_ids).select_related("policy")
    return sum(1 for e in elevations if attestation_open(elevation=e) is not None)


def attestations_open_missed() -> int:
    """Beat: open what a lost message left unopened (elevations ended in the last two days)."""
    missed = Elevation.objects.filter(
        state__in=selectors.ENDED_WITH_ADMIN,
        activated_at__isnull=False,
        ended_at__gte=now() - SWEEP_WINDOW,
        attestation__isnull=True,
    ).values_list("pk", flat=True)
    return attestations_open_for(list(missed[:1000]))


def attestation_submit(*, elevation: Elevation, actor: User, text: str, ticket_ref: str = "") -> Attestation:
    """The beneficiary says what they did with the elevation; once, and only for their own."""
    if actor.pk != elevation.beneficiary_id:
        raise NotAllowed("Only the person who had the admin rights can say what they did with them.")
    text = (text or "").strip()
    if not text:
        raise PolicyViolation("Say what you did with the admin rights.", field="text")
    if len(text) > TEXT_MAX_LENGTH:
        raise PolicyViolation(f"Keep it under {TEXT_MAX_LENGTH} characters.", field="text")
    attestation = attestation_open(elevation=elevation)
    if attestation is None:
        raise PolicyViolation("There is nothing to attest until the elevation has ended.")
    with transaction.atomic():
        given = Attestation.objects.filter(pk=attestation.pk, attested_at__isnull=True).update(
            text=text, ticket_ref=(ticket_ref or "").strip()[:100], attested_by=actor, attested_at=now()
        )
        if not given:
            raise PolicyViolation("You already said what you did with this elevation.")
        attestation.refresh_from_db()
        audit.record(
            "attestation.given",
            actor=actor,
            target=elevation,
            elevation=elevation,
            after={"ticket_ref": attestation.ticket_ref, "late": attestation.late},
            reason=text[: policy.REASON_MAX_LENGTH],
        )
    return attestation


def check_may_request(beneficiary: User) -> None:
    """Refuse a new request while an attestation the policy insists on is overdue."""
    blocking = selectors.blocking_overdue(beneficiary)
    if blocking:
        names = ", ".join(sorted({a.elevation.target_name for a in blocking}))
        raise PolicyViolation(
            f"Say what you did with your earlier admin rights on {names} first (under My elevations): "
            "your policy asks for it before a new request."
        )
