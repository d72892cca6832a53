"""The demo data gives every role something to do."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from requests_app import services
from requests_app.approvals.selectors import queue_for
from requests_app.lifecycle import State
from requests_app.models import Device, User

pytestmark = pytest.mark.django_db


def test_the_demo_gives_the_approver_a_request_to_decide_and_can_run_twice():
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())  # make run seeds on every start
    employee = User.objects.get(email="employee@example.com")
    approver = User.objects.get(email="approver@example.com")
    quick = services.elevation_request(
        requester=employee, device=Device.objects.get(hostname="erin-macbook"), minutes=60, reason="demo"
    )
    guarded = services.elevation_request(
        requester=employee, device=Device.objects.get(hostname="erin-build-box"), minutes=60, reason="demo"
    )
    assert quick.state != State.PENDING_APPROVAL
    assert guarded.state == State.PENDING_APPROVAL
    assert [e.pk for e in queue_for(approver)] == [guarded.pk]
