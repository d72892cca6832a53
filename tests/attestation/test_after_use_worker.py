"""With a real worker: an elevation that is granted and then revoked gets its attestation opened
and its review decided, by the messages its end sends (no beat sweep running)."""

from __future__ import annotations

import pytest

from helpers import wait_for
from requests_app import services
from requests_app.lifecycle import State
from requests_app.models import Attestation, Elevation, ReviewItem

pytestmark = pytest.mark.worker


def test_the_end_of_a_real_elevation_opens_its_attestation_and_review(worker_factory, employee, device, default_policy):
    default_policy.attestation_required = True
    default_policy.review_over_minutes = 30
    default_policy.save()
    worker_factory()  # no beat: what happens here comes from the end's own messages
    elevation = services.elevation_request(requester=employee, device=device, minutes=60, reason="Install drivers")
    wait_for(lambda: Elevation.objects.get(pk=elevation.pk).state == State.ACTIVE, message="active")
    services.elevation_revoke(elevation=elevation, actor=employee)
    wait_for(lambda: Elevation.objects.get(pk=elevation.pk).state == State.REVOKED, message="revoked")
    attestation = wait_for(lambda: Attestation.objects.filter(elevation=elevation).first(), message="attestation")
    assert attestation.required and attestation.attested_at is None
    review = wait_for(lambda: ReviewItem.objects.filter(elevation=elevation).first(), message="review")
    assert review.origin == ReviewItem.Origin.OVER_THRESHOLD
