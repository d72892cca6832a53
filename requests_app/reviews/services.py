"""Writes of the review queue: selecting, raising, signing off, flagging and resolving."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q

from requests_app import audit, permissions
from requests_app.clock import now
from requests_app.errors import NotAllowed, PolicyViolation
from requests_app.lifecycle import TERMINAL_STATES
from requests_app.models import Elevation, Heartbeat, ReviewItem, User
from requests_app.reviews import selection

COMMENT_MAX_LENGTH = 2000
# The sweep starts this far back the first time, and leaves the newest SETTLE to the fast path.
SWEEP_WINDOW = timedelta(days=2)
SETTLE = timedelta(minutes=5)
CURSOR = "reviews.selection"  # Heartbeat row holding how far the sweep has decided
Status = ReviewItem.Status


def may_review(user: User) -> bool:
    return user.has_perm(permissions.VIEW_AUDIT)


def review_select(*, elevation: Elevation) -> ReviewItem | None:
    """Put an ended elevation in the queue if the selection picks it; idempotent."""
    decision = selection.decide(elevation)
    if decision.origin is None:
        return None
    existing = ReviewItem.objects.filter(elevation=elevation, origin=decision.origin).first()
    if existing is not None:
        return existing
    score = decision.score if decision.origin == ReviewItem.Origin.SAMPLE else None
    try:
        with transaction.atomic():
            item = ReviewItem.objects.create(
                elevation=elevation, origin=decision.origin, sample_score=score, created_at=now()
            )
            audit.record(
                "review.selected",
                target=elevation,
                elevation=elevation,
                after={"origin": decision.origin, "sample_score": decision.score, "sample_percent": decision.percent},
            )
    except IntegrityError:  # a duplicate delivery of the same end selected it first
        return ReviewItem.objects.get(elevation=elevation, origin=decision.origin)
    return item


def reviews_select_for(elevation_ids: list[int]) -> int:
    elevations = Elevation.objects.filter(pk__in=elevation_ids).select_related("policy")
    return sum(1 for e in elevations if review_select(elevation=e) is not None)


def reviews_select_missed(*, batch: int = 2000) -> int:
    """Beat: decide for elevations a lost message left undecided. Most ended elevations are not
    picked and leave no row, so the sweep walks ended elevations in (ended_at, id) order from a
    cursor, up to SETTLE ago (an end committed late is still ahead of the cursor), and deciding
    twice is harmless: the decision is deterministic and selection idempotent."""
    cursor = Heartbeat.objects.filter(name=CURSOR).first()
    if cursor is None:
        since, since_pk = now() - SWEEP_WINDOW, 0
    else:
        since, since_pk = datetime.fromisoformat(cursor.detail["ended_at"]), cursor.detail["pk"]
    ended = (
        Elevation.objects.filter(state__in=TERMINAL_STATES, ended_at__lte=now() - SETTLE)
        .filter(Q(ended_at__gt=since) | Q(ended_at=since, pk__gt=since_pk))
        .order_by("ended_at", "pk")
        .values_list("pk", "ended_at")[:batch]
    )
    rows = list(ended)
    if not rows:
        return 0
    picked = reviews_select_for([pk for pk, _ in rows])
    last_pk, last_ended = rows[-1]
    assert last_ended is not None  # the query only walks ended elevations
    Heartbeat.objects.update_or_create(
        name=CURSOR, defaults={"beat_at": now(), "detail": {"ended_at": last_ended.isoformat(), "pk": last_pk}}
    )
    return picked


def review_raise(*, elevation: Elevation, raised_by: User, comment: str) -> ReviewItem:
    """A manager says an elevation of their team looks wrong: it goes to the auditors (the
    comment is optional: the click itself is the signal)."""
    comment = _clean(comment, required=False)
    if elevation.beneficiary.manager_id != raised_by.pk:
        raise NotAllowed("Only the person's manager can raise this from the digest.")
    with transaction.atomic():
        item, created = ReviewItem.objects.get_or_create(
            elevation=elevation,
            origin=ReviewItem.Origin.MANAGER,
            defaults={"raised_by": raised_by, "raised_comment": comment, "created_at": now()},
        )
        if not created:
            raise PolicyViolation("This elevation was already raised for review.")
        audit.record("review.raised", actor=raised_by, target=elevation, elevation=elevation, reason=comment)
    return item


def review_sign_off(*, item: ReviewItem, reviewer: User, comment: str = "") -> ReviewItem:
    return _decide(item, reviewer, Status.OPEN, Status.SIGNED_OFF, _clean(comment, required=False), "signed_off")


def review_flag(*, item: ReviewItem, reviewer: User, comment: str) -> ReviewItem:
    return _decide(item, reviewer, Status.OPEN, Status.FLAGGED, _clean(comment, required=True), "flagged")


def review_resolve(*, item: ReviewItem, reviewer: User, comment: str) -> ReviewItem:
    return _decide(item, reviewer, Status.FLAGGED, Status.RESOLVED, _clean(comment, required=True), "resolved")


def _decide(item: ReviewItem, reviewer: User, expected: str, to: str, comment: str, verb: str) -> ReviewItem:
    if not may_review(reviewer):
        raise NotAllowed("Only auditors review elevations.")
    elevation = item.elevation
    if reviewer.pk in (elevation.beneficiary_id, elevation.requester_id):
        raise NotAllowed("Nobody reviews their own elevation.")
    if to == Status.RESOLVED:
        fields = {"resolution": comment, "resolved_by": reviewer, "resolved_at": now()}
    else:
        fields = {"comment": comment, "decided_by": reviewer, "decided_at": now()}
    with transaction.atomic():
        # Compare-and-set on the status seen: two auditors deciding at once cannot both win.
        if not ReviewItem.objects.filter(pk=item.pk, status=expected).update(status=to, **fields):
            item.refresh_from_db()
            raise PolicyViolation(f"This review is already {item.get_status_display().lower()}.")
        settled = to in (Status.SIGNED_OFF, Status.RESOLVED) and item.origin == ReviewItem.Origin.BREAK_GLASS
        if settled:  # the admins' "break-glass to review" list (helpdesk console) is done with it too
            Elevation.objects.filter(pk=elevation.pk).update(needs_review=False)
        audit.record(
            f"review.{verb}",
            actor=reviewer,
            target=elevation,
            elevation=elevation,
            before={"status": expected},
            after={
                "status": to,
                "origin": item.origin,
                "review": str(item.public_id),
                **({"needs_review": False} if settled else {}),
            },
            reason=comment,
        )
    item.refresh_from_db()
    return item


def _clean(comment: str, *, required: bool) -> str:
    comment = (comment or "").strip()
    if required and not comment:
        raise PolicyViolation("Add a comment that says what looks wrong or how it was settled.", field="comment")
    if len(comment) > COMMENT_MAX_LENGTH:
        raise PolicyViolation(f"Keep the comment under {COMMENT_MAX_LENGTH} characters.", field="comment")
    return comment
