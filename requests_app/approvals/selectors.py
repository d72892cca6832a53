"""Reads for approvers."""

from __future__ import annotations

from django.db.models import Count, Q

from requests_app.lifecycle import State
from requests_app.models import Approval, Elevation, User
from requests_app.permissions import may_approve
from requests_app.policy import user_group_ids

QUEUE_LIMIT = 200


def queue_for(user: User) -> list[Elevation]:
    """Requests waiting for a decision that `user` may make and has not made yet, oldest first."""
    pending = (
        Elevation.objects.filter(state=State.PENDING_APPROVAL)
        .exclude(Q(beneficiary=user) | Q(requester=user) | Q(approvals__approver=user))
        .select_related("device", "connection", "beneficiary", "requester", "policy")
        .annotate(approval_count=Count("approvals", filter=Q(approvals__decision=Approval.Decision.APPROVE)))
        .order_by("decide_by", "created_at")[:QUEUE_LIMIT]
    )
    group_ids = user_group_ids(user)  # once for the whole queue
    return [elevation for elevation in pending if may_approve(user, elevation, group_ids=group_ids)]


def recent_decisions(user: User, limit: int = 20):
    return (
        Approval.objects.filter(approver=user)
        .select_related("elevation", "elevation__beneficiary", "elevation__device")
        .order_by("-decided_at")[:limit]
    )
