"""Attestation after use: asked when an elevation that held admin ends, given once by its
beneficiary, audited; overdue ones are listed for helpdesk and refuse new requests where the
policy says so."""

from __future__ import annotations

from datetime import timedelta

import pytest

from requests_app import services
from requests_app.attestation import receivers, selectors
from requests_app.attestation.services import attestation_open, attestation_submit, attestations_open_missed
from requests_app.clock import now
from requests_app.errors import NotAllowed, PolicyViolation
from requests_app.integrations import messages
from requests_app.lifecycle import State, transition
from requests_app.models import Attestation, AuditEvent, Elevation


@pytest.fixture
def strict_policy(default_policy):
    default_policy.attestation_required = True
    default_policy.attestation_within_hours = 24
    default_policy.attestation_blocks_requests = True
    default_policy.save()
    return default_policy


@pytest.fixture
def ended(employee, device, make_elevation):
    """An elevation of `employee` that held admin and expired three days ago."""

    def make(**fields):
        ago = now() - timedelta(days=3)
        values = {"activated_at": ago - timedelta(hours=1), "ended_at": ago, **fields}
        return make_elevation(employee, device, state=State.EXPIRED, **values)

    return make


def test_the_end_of_an_elevation_that_held_admin_queues_its_attestation(
    employee, device, make_elevation, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(receivers.tasks.open_for_ended, "delay", queued.append)
    elevation = make_elevation(employee, device, state=State.REVOKING, end_state=State.EXPIRED)
    with django_capture_on_commit_callbacks(execute=True):
        transition(elevation, State.EXPIRED, ended_at=now())
    assert queued == [[elevation.pk]]


def test_a_denied_request_is_not_asked_about(employee, device, make_elevation, monkeypatch):
    queued = []
    monkeypatch.setattr(receivers.tasks.open_for_ended, "delay", queued.append)
    receivers.on_elevation_ended(None, elevation_ids=[1], from_state=State.PENDING_APPROVAL, to_state=State.DENIED)
    assert queued == []
    never_active = make_elevation(employee, device, state=State.REVOKED, activated_at=None)
    assert attestation_open(elevation=never_active) is None


def test_opening_takes_the_policy_rules_of_the_moment_and_is_idempotent(strict_policy, ended):
    elevation = ended()
    first = attestation_open(elevation=elevation)
    again = attestation_open(elevation=elevation)
    assert first.pk == again.pk
    assert first.required and first.blocks_requests
    assert first.due_at == elevation.ended_at + timedelta(hours=24)
    assert AuditEvent.objects.filter(action="attestation.requested", elevation=elevation).count() == 1


def test_the_sweep_opens_attestations_a_lost_message_left_unopened(strict_policy, employee, device, make_elevation):
    hour_ago = now() - timedelta(hours=1)
    recent = make_elevation(employee, device, state=State.REVOKED, activated_at=hour_ago, ended_at=hour_ago)
    assert attestations_open_missed() == 1
    assert Attestation.objects.filter(elevation=recent).exists()
    assert attestations_open_missed() == 0


def test_the_beneficiary_attests_once_and_it_is_audited(strict_policy, employee, ended):
    elevation = ended()
    attestation = attestation_submit(
        elevation=elevation, actor=employee, text="Installed CUPS drivers", ticket_ref="IT-9"
    )
    assert attestation.text == "Installed CUPS drivers" and attestation.ticket_ref == "IT-9"
    assert attestation.late  # three days after a 24 h deadline
    event = AuditEvent.objects.get(action="attestation.given")
    assert event.actor == employee and event.reason == "Installed CUPS drivers" and event.after["late"] is True
    with pytest.raises(PolicyViolation, match="already said"):
        attestation_submit(elevation=elevation, actor=employee, text="Something else")
    attestation.refresh_from_db()
    assert attestation.text == "Installed CUPS drivers"


def test_nobody_else_attests_and_an_empty_answer_changes_nothing(strict_policy, employee, helpdesk, ended):
    elevation = ended()
    events = AuditEvent.objects.count()
    with pytest.raises(NotAllowed):
        attestation_submit(elevation=elevation, actor=helpdesk, text="It was fine")
    with pytest.raises(PolicyViolation, match="Say what you did"):
        attestation_submit(elevation=elevation, actor=employee, text="   ")
    assert AuditEvent.objects.count() == events
    assert not Attestation.objects.filter(attested_at__isnull=False).exists()


def test_a_live_elevation_cannot_be_attested(employee, device, make_elevation):
    live = make_elevation(employee, device, state=State.ACTIVE)
    with pytest.raises(PolicyViolation, match="until the elevation has ended"):
        attestation_submit(elevation=live, actor=employee, text="Still on it")


def test_an_overdue_attestation_refuses_a_new_request_when_the_policy_says_so(strict_policy, employee, device, ended):
    attestation_open(elevation=ended())
    count = Elevation.objects.count()
    with pytest.raises(PolicyViolation, match="Say what you did with your earlier admin rights on erin-laptop"):
        services.elevation_request(requester=employee, device=device, minutes=60, reason="Install a debugger")
    assert Elevation.objects.count() == count


def test_a_given_attestation_lets_requests_through_again(strict_policy, employee, device, ended):
    elevation = ended()
    attestation_submit(elevation=elevation, actor=employee, text="Updated the BIOS")
    created = services.elevation_request(requester=employee, device=device, minutes=60, reason="Install a debugger")
    assert created.state == State.APPROVED


def test_an_overdue_attestation_does_not_block_when_the_policy_only_asks(strict_policy, employee, device, ended):
    strict_policy.attestation_blocks_requests = False
    strict_policy.save()
    attestation_open(elevation=ended())
    assert selectors.overdue().count() == 1
    created = services.elevation_request(requester=employee, device=device, minutes=60, reason="Install a debugger")
    assert created.state == State.APPROVED


def test_break_glass_is_never_held_up_by_an_overdue_attestation(strict_policy, admin, device, make_elevation):
    device.users.add(admin)
    past = now() - timedelta(days=3)
    old = make_elevation(admin, device, state=State.EXPIRED, activated_at=past, ended_at=past)
    attestation_open(elevation=old)
    created = services.elevation_request(
        requester=admin, device=device, minutes=60, reason="Outage: restart the agent", break_glass=True
    )
    assert created.break_glass


def test_my_elevations_asks_for_open_attestations(strict_policy, employee_client, ended):
    elevation = ended()
    attestation_open(elevation=elevation)
    page = employee_client.get("/").content.decode()
    assert 'id="attestation-prompt"' in page
    assert f"/attestations/{elevation.public_id}/" in page


def test_the_attest_page_records_the_answer_and_returns_to_my_elevations(strict_policy, employee_client, ended):
    elevation = ended()
    url = f"/attestations/{elevation.public_id}/"
    assert "What did you do with admin on erin-laptop" in employee_client.get(url).content.decode()
    for empty in ({"text": ""}, {}):
        invalid = employee_client.post(url, empty)
        assert invalid.status_code == 200 and "Say what you did with the admin rights." in invalid.content.decode()
    response = employee_client.post(url, {"text": "Installed the printer", "ticket_ref": "IT-5"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert Attestation.objects.get(elevation=elevation).text == "Installed the printer"
    assert 'id="attestation-prompt"' not in employee_client.get("/").content.decode()
    assert "Installed the printer" in employee_client.get(f"/elevations/{elevation.public_id}/").content.decode()


def test_someone_elses_attest_page_is_not_found(ended, outsider_client, helpdesk, helpdesk_client, with_mfa):
    with_mfa(helpdesk)  # without it, helpdesk is sent to set it up before reading someone's elevation
    elevation = ended()
    assert outsider_client.get(f"/attestations/{elevation.public_id}/").status_code == 404
    assert helpdesk_client.get(f"/attestations/{elevation.public_id}/").status_code == 404


def test_helpdesk_sees_overdue_attestations_and_employees_do_not(
    strict_policy, ended, helpdesk, helpdesk_client, employee_client, with_mfa
):
    with_mfa(helpdesk)
    attestation_open(elevation=ended())
    page = helpdesk_client.get("/attestations/overdue/")
    assert page.status_code == 200 and "erin-laptop" in page.content.decode()
    assert employee_client.get("/attestations/overdue/").status_code == 403
    assert helpdesk_client.post("/attestations/overdue/").status_code == 405


def test_the_ended_notification_asks_the_beneficiary_what_they_did(employee, helpdesk, ended):
    elevation = ended()
    to_beneficiary = messages.render("expired", elevation, recipient=employee)
    assert ("Say what you did with it", messages.attest_url(elevation)) in to_beneficiary.links
    to_requester = messages.render("expired", elevation, recipient=helpdesk)
    assert all(label != "Say what you did with it" for label, _ in to_requester.links)
