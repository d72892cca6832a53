"""Writes of evidence packs: asking for one and recording downloads (building: building.py)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction

from requests_app import audit, permissions
from requests_app.clock import now
from requests_app.errors import NotAllowed, PolicyViolation
from requests_app.evidence import tasks
from requests_app.models import EvidencePack, User

MAX_DAYS = 366
Status = EvidencePack.Status


def may_generate(user: User) -> bool:
    return user.has_perm(permissions.VIEW_AUDIT)


def pack_request(*, requested_by: User, date_from: date, date_to: date, timezone_name: str = "UTC") -> EvidencePack:
    """Ask for the pack of [date_from, date_to] (whole days in the auditor's zone); the worker builds it."""
    if not may_generate(requested_by):
        raise NotAllowed("Only auditors generate evidence packs.")
    if date_to < date_from:
        raise PolicyViolation("The period ends before it starts.", field="date_to")
    if (date_to - date_from).days >= MAX_DAYS:
        raise PolicyViolation(f"Pick at most {MAX_DAYS} days.", field="date_from")
    zone = ZoneInfo(timezone_name or "UTC")
    start = datetime.combine(date_from, time.min, tzinfo=zone)
    if start > now():
        raise PolicyViolation("The period starts in the future: there is no evidence yet.", field="date_from")
    with transaction.atomic():
        pack = EvidencePack.objects.create(
            requested_by=requested_by,
            period_start=start,
            period_end=datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=zone),
            period_label=f"{date_from.isoformat()} to {date_to.isoformat()}",
            created_at=now(),
            step="Waiting for a worker",
        )
        audit.record("evidence.requested", actor=requested_by, target=pack, after={"period": pack.period_label})
        transaction.on_commit(lambda: tasks.build_pack.delay(pack.pk), robust=True)
    return pack


def pack_downloaded(*, pack: EvidencePack, user: User) -> None:
    if not may_generate(user):
        raise NotAllowed("Only auditors download evidence packs.")
    if pack.status != Status.DONE:
        raise PolicyViolation("This pack is not ready.")
    audit.record("evidence.downloaded", actor=user, target=pack, after={"sha256": pack.sha256})
