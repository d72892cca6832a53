"""The auditors' review queue: what is picked when an elevation ends (reproducibly), and the
sign-off / flag / resolve steps, each audited."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from requests_app import clock
from requests_app.clock import now
from requests_app.errors import NotAllowed, PolicyViolation
from requests_app.lifecycle import State
from requests_app.models import AuditEvent, ReviewItem
from requests_app.reviews import receivers, selection
from requests_app.reviews.services import (
    review_flag,
    review_resolve,
    review_select,
    review_sign_off,
    reviews_select_missed,
)

Origin, Status = ReviewItem.Origin, ReviewItem.Status


@pytest.fixture(autouse=True)
def _no_sample(settings):
    settings.ELEVATE_REVIEW_SAMPLE_PERCENT = 0
    settings.ELEVATE_REVIEW_SAMPLE_KEY = "test-sample-key"


def test_every_break_glass_is_reviewed_however_it_ended(ended):
    for state in (State.EXPIRED, State.FAILED, State.CANCELLED):
        assert selection.decide(ended(state=state, break_glass=True)).origin == Origin.BREAK_GLASS


def test_an_elevation_over_its_policys_threshold_is_reviewed(ended, default_policy):
    default_policy.review_over_minutes = 120
    default_policy.save()
    assert selection.decide(ended(total_minutes=121)).origin == Origin.OVER_THRESHOLD
    assert selection.decide(ended(total_minutes=120)).origin is None


def test_the_sample_is_an_hmac_draw_of_the_public_id_so_it_can_be_reproduced(ended, settings):
    elevation = ended(public_id=UUID("00000000-0000-4000-8000-000000000001"))
    score = selection.sample_score(elevation.public_id)
    assert score == selection.sample_score("00000000-0000-4000-8000-000000000001", key="test-sample-key")
    assert score != selection.sample_score(elevation.public_id, key="another-key")
    assert 0 <= score < 1
    sampled_at = int(score * 100) + 1  # the smallest percentage that picks this one
    assert selection.decide(elevation, percent=sampled_at).origin == Origin.SAMPLE
    assert selection.decide(elevation, percent=sampled_at - 1).origin is None


def test_about_the_configured_share_of_ordinary_elevations_is_sampled(ended):
    elevations = [ended() for _ in range(200)]
    picked = sum(selection.decide(e, percent=25).origin == Origin.SAMPLE for e in elevations)
    assert 25 <= picked <= 75  # 50 expected; the bounds fail only for a broken draw


def test_live_denied_and_never_active_elevations_are_not_picked(employee, device, make_elevation, ended):
    assert selection.decide(make_elevation(employee, device, state=State.ACTIVE), percent=100).origin is None
    assert selection.decide(ended(state=State.DENIED, activated_at=None), percent=100).origin is None


def test_the_end_of_an_elevation_queues_its_selection(monkeypatch):
    queued = []
    monkeypatch.setattr(receivers.tasks.select_for_ended, "delay", queued.append)
    receivers.on_elevation_ended(None, elevation_ids=[7, 8], from_state=State.REVOKING, to_state=State.EXPIRED)
    receivers.on_elevation_ended(None, elevation_ids=[9], from_state=State.APPROVED, to_state=State.GRANTING)
    assert queued == [[7, 8]]


def test_selection_is_idempotent_and_audited_with_its_draw(ended):
    elevation = ended(break_glass=True)
    item = review_select(elevation=elevation)
    assert review_select(elevation=elevation).pk == item.pk
    event = AuditEvent.objects.get(action="review.selected")
    assert event.after["origin"] == "break_glass"
    assert event.after["sample_score"] == selection.sample_score(elevation.public_id)


def test_the_sweep_decides_for_ended_elevations_a_lost_message_missed_and_moves_on(ended, settings):
    settings.ELEVATE_REVIEW_SAMPLE_PERCENT = 100
    first = ended()
    assert reviews_select_missed() == 1
    assert ReviewItem.objects.get(elevation=first).origin == Origin.SAMPLE
    assert reviews_select_missed() == 0  # its cursor is past it
    later = [ended() for _ in range(3)]
    assert reviews_select_missed(batch=2) == 2 and reviews_select_missed(batch=2) == 1
    assert ReviewItem.objects.filter(elevation__in=later).count() == 3


def test_the_sweep_leaves_the_last_minutes_to_the_fast_path(ended, settings):
    settings.ELEVATE_REVIEW_SAMPLE_PERCENT = 100
    just_now = ended(ended_at=now() - timedelta(minutes=1))
    assert reviews_select_missed() == 0
    with clock.travel(timedelta(minutes=10)):
        assert reviews_select_missed() == 1
    assert ReviewItem.objects.filter(elevation=just_now).exists()


def test_an_auditor_signs_off_and_it_is_audited(ended, auditor):
    item = review_select(elevation=ended(break_glass=True, needs_review=True))
    review_sign_off(item=item, reviewer=auditor, comment="Matches the incident ticket")
    assert item.status == Status.SIGNED_OFF and item.decided_by == auditor
    event = AuditEvent.objects.get(action="review.signed_off")
    assert event.actor == auditor and event.reason == "Matches the incident ticket"
    assert event.after["needs_review"] is False  # the admins' break-glass list is done with it too
    item.elevation.refresh_from_db()
    assert not item.elevation.needs_review
    with pytest.raises(PolicyViolation, match="already signed off"):
        review_flag(item=item, reviewer=auditor, comment="Second thoughts")


def test_a_flag_needs_a_comment_and_stays_until_resolved(ended, auditor):
    item = review_select(elevation=ended(break_glass=True))
    with pytest.raises(PolicyViolation, match="Add a comment"):
        review_flag(item=item, reviewer=auditor, comment="  ")
    assert ReviewItem.objects.get(pk=item.pk).status == Status.OPEN
    review_flag(item=item, reviewer=auditor, comment="No ticket for this")
    with pytest.raises(PolicyViolation, match="Add a comment"):
        review_resolve(item=item, reviewer=auditor, comment="")
    review_resolve(item=item, reviewer=auditor, comment="Ticket IT-77 added afterwards")
    assert item.status == Status.RESOLVED and item.resolution == "Ticket IT-77 added afterwards"
    actions = list(AuditEvent.objects.filter(action__startswith="review.").values_list("action", flat=True))
    assert actions == ["review.selected", "review.flagged", "review.resolved"]


def test_only_auditors_review_and_never_their_own_elevation(ended, employee, auditor, device, make_elevation):
    item = review_select(elevation=ended(break_glass=True))
    with pytest.raises(NotAllowed):
        review_sign_off(item=item, reviewer=employee)
    device.users.add(auditor)
    own = make_elevation(auditor, device, state=State.REVOKED, break_glass=True)
    with pytest.raises(NotAllowed, match="own elevation"):
        review_sign_off(item=review_select(elevation=own), reviewer=auditor)
