from __future__ import annotations

from datetime import timedelta

import pytest

from requests_app.clock import now
from requests_app.lifecycle import State


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def history(employee, approver, auditor, device, make_elevation, admin):
    """A week with an approved elevation (attested), a break-glass one (reviewed), one whose
    revoke kept failing, and a policy change, all audited."""
    from requests_app import audit
    from requests_app.attestation.services import attestation_open, attestation_submit
    from requests_app.models import Approval
    from requests_app.reviews.services import review_flag, review_select

    ago = now() - timedelta(days=2)
    approved = make_elevation(
        employee, device, state=State.EXPIRED, reason="=HYPERLINK(evil)", activated_at=ago, ended_at=ago
    )
    Approval.objects.create(elevation=approved, approver=approver, decision="approve", decided_at=ago)
    audit.record("elevation.requested", actor=employee, target=approved, elevation=approved, reason=approved.reason)
    attestation_open(elevation=approved)
    attestation_submit(elevation=approved, actor=employee, text="Installed the plotter driver")
    device.users.add(admin)
    glass = make_elevation(admin, device, state=State.REVOKED, break_glass=True, activated_at=ago, ended_at=ago)
    review_flag(item=review_select(elevation=glass), reviewer=auditor, comment="No incident ticket")
    stuck = make_elevation(employee, device, state=State.REVOKING, alerted_at=ago, last_error="HTTP 503")
    audit.record("elevation.revoke_alert", target=stuck, elevation=stuck, reason="Revoke keeps failing: HTTP 503")
    audit.record("config.policy.changed", actor=admin, target=device.connection, after={"fields": ["max_extensions"]})
    return {"approved": approved, "glass": glass, "stuck": stuck}
