"""Reads of the review queue."""

from __future__ import annotations

from django.db.models import Case, Count, IntegerField, QuerySet, Value, When

from requests_app.models import ReviewItem

Status = ReviewItem.Status
VIEWS = {
    # Flagged ones stay in "to do" until resolved, above the ones still to look at.
    "todo": (Status.FLAGGED, Status.OPEN),
    "flagged": (Status.FLAGGED,),
    "done": (Status.SIGNED_OFF, Status.RESOLVED),
}


def queue(view: str = "todo") -> QuerySet[ReviewItem]:
    statuses = VIEWS.get(view, VIEWS["todo"])
    flagged_first = Case(When(status=Status.FLAGGED, then=Value(0)), default=Value(1), output_field=IntegerField())
    return (
        ReviewItem.objects.filter(status__in=statuses)
        .select_related(
            "elevation__beneficiary",
            "elevation__requester",
            "elevation__device",
            "elevation__attestation",
            "raised_by",
            "decided_by",
        )
        .order_by(flagged_first, "created_at", "pk")
    )


def counts() -> dict[str, int]:
    found = dict.fromkeys(Status.values, 0)
    for row in ReviewItem.objects.values("status").annotate(n=Count("pk")):
        found[row["status"]] = row["n"]
    return found


def item_by_public_id(public_id) -> ReviewItem | None:
    return (
        ReviewItem.objects.select_related("elevation__beneficiary", "elevation__device")
        .filter(public_id=public_id)
        .first()
    )
