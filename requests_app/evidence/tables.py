"""The pack's tables, as (header, rows) for csv: elevations with approvals and attestations,
break-glass with reviews, all reviews, failed revokes and drift, policy changes. Times in UTC
ISO 8601; free text defused against spreadsheet formulas as the audit CSV export does."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Prefetch, Q, QuerySet

from requests_app.auditing.export import defuse_formula
from requests_app.models import Approval, AuditEvent, Elevation, ReviewItem


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime  # exclusive


def iso(moment: datetime | None) -> str:
    return moment.astimezone(UTC).isoformat() if moment else ""


def text(value) -> str:
    if value in (None, ""):
        return ""
    return defuse_formula(str(value)) or ""


def elevations_in(period: Period) -> QuerySet[Elevation]:
    """Elevations alive at some moment of the period (created before its end, not ended before its start)."""
    return (
        Elevation.objects.filter(created_at__lt=period.end)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gte=period.start))
        .select_related("beneficiary", "requester", "device", "connection", "policy", "attestation")
        .prefetch_related(
            Prefetch("approvals", queryset=Approval.objects.select_related("approver").order_by("decided_at")),
            Prefetch("review_items", queryset=ReviewItem.objects.select_related("decided_by", "resolved_by")),
        )
        .order_by("created_at", "pk")
    )


ELEVATION_HEADER = (
    *("elevation", "beneficiary", "requested_by", "target", "provider", "source", "source_ref", "break_glass"),
    *("reason", "ticket", "policy", "requested_minutes", "total_minutes", "extensions", "state"),
    *("created_at", "activated_at", "expires_at", "ended_at", "approvals"),
    *("attestation", "attestation_text", "attestation_ticket", "attested_at", "attestation_due_at"),
)


def _approvals(elevation: Elevation) -> str:
    return "; ".join(
        f"{a.get_decision_display()} by {a.approver.email} at {iso(a.decided_at)}"
        + (f" ({a.reason})" if a.reason else "")
        for a in elevation.approvals.all()
    )


def _attestation(elevation: Elevation) -> tuple[str, str, str, str, str]:
    attestation = getattr(elevation, "attestation", None)
    if attestation is None:
        return ("not asked", "", "", "", "")
    if attestation.is_given:
        status = "given late" if attestation.late else "given"
    else:
        status = "required, not given" if attestation.required else "optional, not given"
    return (
        status,
        text(attestation.text),
        text(attestation.ticket_ref),
        iso(attestation.attested_at),
        iso(attestation.due_at),
    )


def elevation_rows(period: Period) -> Iterator[tuple]:
    for e in elevations_in(period).iterator(chunk_size=1000):
        yield (
            *(str(e.public_id), e.beneficiary.email, e.requester.email, text(e.target_name), e.connection.name),
            *(e.source, text(e.source_ref), "yes" if e.break_glass else "no", text(e.reason), text(e.ticket_ref)),
            *(e.policy.name if e.policy else "", e.requested_minutes, e.total_minutes, e.extensions, e.state),
            *(iso(e.created_at), iso(e.activated_at), iso(e.expires_at), iso(e.ended_at), text(_approvals(e))),
            *_attestation(e),
        )


REVIEW_HEADER = (
    *("review", "elevation", "beneficiary", "target", "origin", "sample_score", "raised_by", "raised_comment"),
    *("status", "comment", "decided_by", "decided_at", "resolution", "resolved_by", "resolved_at", "created_at"),
)


def _review_row(item: ReviewItem, elevation: Elevation) -> tuple:
    return (
        *(str(item.public_id), str(elevation.public_id), elevation.beneficiary.email, text(elevation.target_name)),
        *(item.origin, "" if item.sample_score is None else f"{item.sample_score:.6f}"),
        *(item.raised_by.email if item.raised_by else "", text(item.raised_comment), item.status),
        *(text(item.comment), item.decided_by.email if item.decided_by else "", iso(item.decided_at)),
        *(text(item.resolution), item.resolved_by.email if item.resolved_by else "", iso(item.resolved_at)),
        iso(item.created_at),
    )


def review_rows(period: Period) -> Iterator[tuple]:
    items = (
        ReviewItem.objects.filter(created_at__lt=period.end)
        .filter(Q(elevation__ended_at__isnull=True) | Q(elevation__ended_at__gte=period.start))
        .select_related("elevation__beneficiary", "elevation__device", "raised_by", "decided_by", "resolved_by")
        .order_by("created_at", "pk")
    )
    for item in items.iterator(chunk_size=1000):
        yield _review_row(item, item.elevation)


BREAK_GLASS_HEADER = (
    *("elevation", "beneficiary", "started_by", "target", "reason", "ticket", "state", "created_at", "ended_at"),
    *("review_status", "review_comment", "reviewed_by", "reviewed_at", "resolution"),
)


def break_glass_rows(period: Period) -> Iterator[tuple]:
    for e in elevations_in(period).filter(break_glass=True).iterator(chunk_size=1000):
        reviews = [r for r in e.review_items.all() if r.origin == ReviewItem.Origin.BREAK_GLASS]
        review = reviews[0] if reviews else None
        yield (
            *(str(e.public_id), e.beneficiary.email, e.requester.email, text(e.target_name), text(e.reason)),
            *(text(e.ticket_ref), e.state, iso(e.created_at), iso(e.ended_at)),
            review.status if review else "not selected yet",
            text(review.comment) if review else "",
            review.decided_by.email if review and review.decided_by else "",
            iso(review.decided_at) if review else "",
            text(review.resolution) if review else "",
        )


PROBLEM_ACTIONS = ("elevation.revoke_alert", "elevation.drift")
PROBLEM_HEADER = ("at", "kind", "elevation", "beneficiary", "target", "detail", "state_now", "last_error")


def problem_events(period: Period) -> QuerySet[AuditEvent]:
    return (
        AuditEvent.objects.filter(at__gte=period.start, at__lt=period.end, action__in=PROBLEM_ACTIONS)
        .select_related("elevation__beneficiary", "elevation__device")
        .order_by("seq")
    )


def problem_rows(period: Period) -> Iterator[tuple]:
    for event in problem_events(period).iterator(chunk_size=1000):
        e = event.elevation
        kind = "failed revoke" if event.action == "elevation.revoke_alert" else "drift"
        yield (
            iso(event.at),
            kind,
            str(e.public_id) if e else "",
            e.beneficiary.email if e else "",
            text(e.target_name) if e else text(event.target_label),
            text(event.reason),
            e.state if e else "",
            text(e.last_error) if e else "",
        )


POLICY_HEADER = ("at", "action", "policy", "by", "fields")


def policy_change_events(period: Period) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(
        at__gte=period.start, at__lt=period.end, action__startswith="config.policy."
    ).order_by("seq")


def policy_rows(period: Period) -> Iterator[tuple]:
    for event in policy_change_events(period).iterator(chunk_size=1000):
        fields = ", ".join((event.after or {}).get("fields", []))
        yield (iso(event.at), event.action, text(event.target_label), text(event.actor_label), text(fields))
