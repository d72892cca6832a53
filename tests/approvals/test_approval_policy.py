"""Policy decides who approves: auto-approve up to a duration, the manager, a group, N of a group."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group

from requests_app import clock, permissions, services
from requests_app.errors import NotAllowed, PolicyViolation
from requests_app.execution import sweep
from requests_app.lifecycle import State
from requests_app.models import Approval, AuditEvent, Policy


def ask(user, device, minutes=60, requester=None):
    return services.elevation_request(
        requester=requester or user, beneficiary=user, device=device, minutes=minutes, reason="patch the kernel"
    )


def test_requests_up_to_the_auto_approve_limit_need_nobody(employee, device, approval_policy):
    assert ask(employee, device, minutes=15).state == State.APPROVED


def test_longer_requests_wait_for_approval_with_a_deadline(employee, device, approval_policy):
    elevation = ask(employee, device, minutes=60)
    assert elevation.state == State.PENDING_APPROVAL
    assert elevation.decide_by == pytest.approx(
        clock.now() + timedelta(minutes=approval_policy.approval_timeout_minutes), abs=timedelta(seconds=5)
    )


def test_an_approver_approves_and_the_grant_is_queued(employee, approver, device, approval_policy):
    elevation = ask(employee, device)
    services.elevation_approve(elevation=elevation, approver=approver, reason="ok")
    elevation.refresh_from_db()
    assert elevation.state == State.APPROVED
    assert Approval.objects.get(elevation=elevation).approver == approver
    assert AuditEvent.objects.filter(action="approval.approve", actor=approver, elevation=elevation).exists()


def test_nobody_approves_their_own_request_not_even_an_admin(admin, make_device, approval_policy):
    device = make_device(admin)
    elevation = ask(admin, device)
    assert not permissions.may_approve(admin, elevation)
    with pytest.raises(NotAllowed, match="own request"):
        services.elevation_approve(elevation=elevation, approver=admin)
    elevation.refresh_from_db()
    assert elevation.state == State.PENDING_APPROVAL
    assert not Approval.objects.exists()


def test_helpdesk_granting_on_behalf_cannot_approve_what_it_asked_for(employee, helpdesk, device, approval_policy):
    helpdesk.groups.add(Group.objects.get(name="approver"))
    elevation = ask(employee, device, requester=helpdesk)
    with pytest.raises(NotAllowed):
        services.elevation_approve(elevation=elevation, approver=helpdesk)


def test_an_employee_without_the_role_cannot_approve(employee, outsider, device, approval_policy):
    elevation = ask(employee, device)
    with pytest.raises(NotAllowed, match="not an approver"):
        services.elevation_approve(elevation=elevation, approver=outsider)


def test_the_manager_approves_when_the_policy_says_so(employee, outsider, device, approval_policy):
    Policy.objects.filter(pk=approval_policy.pk).update(approval_by_manager=True)
    employee.manager = outsider
    employee.save()
    elevation = ask(employee, device)
    assert permissions.may_approve(outsider, elevation)
    services.elevation_approve(elevation=elevation, approver=outsider)
    elevation.refresh_from_db()
    assert elevation.state == State.APPROVED


def test_an_approver_group_limits_who_approves(employee, approver, device, approval_policy, person):
    group = Group.objects.create(name="linux-leads")
    lead = person("lee@example.com", "employee")
    lead.groups.add(group)
    Policy.objects.filter(pk=approval_policy.pk).update(approver_group=group)
    elevation = ask(employee, device)
    assert not permissions.may_approve(approver, elevation)  # the approver role alone is not enough
    with pytest.raises(NotAllowed):
        services.elevation_approve(elevation=elevation, approver=approver)
    services.elevation_approve(elevation=elevation, approver=lead)
    elevation.refresh_from_db()
    assert elevation.state == State.APPROVED


def test_n_of_the_group_must_approve(employee, device, approval_policy, person):
    group = Group.objects.create(name="change-board")
    first, second = (person(f"cab{n}@example.com", "employee") for n in (1, 2))
    for member in (first, second):
        member.groups.add(group)
    Policy.objects.filter(pk=approval_policy.pk).update(approver_group=group, approvals_required=2)
    elevation = ask(employee, device)
    services.elevation_approve(elevation=elevation, approver=first)
    elevation.refresh_from_db()
    assert elevation.state == State.PENDING_APPROVAL
    with pytest.raises(PolicyViolation, match="already decided"):
        services.elevation_approve(elevation=elevation, approver=first)
    services.elevation_approve(elevation=elevation, approver=second)
    elevation.refresh_from_db()
    assert elevation.state == State.APPROVED


def test_a_deny_needs_a_reason_and_ends_the_request(employee, approver, device, approval_policy):
    elevation = ask(employee, device)
    with pytest.raises(PolicyViolation, match="Say why"):
        services.elevation_deny(elevation=elevation, approver=approver, reason=" ")
    services.elevation_deny(elevation=elevation, approver=approver, reason="use the staging box")
    elevation.refresh_from_db()
    assert elevation.state == State.DENIED
    assert Approval.objects.get(elevation=elevation).decision == Approval.Decision.DENY


def test_an_undecided_request_expires_at_its_deadline(employee, approver, device, approval_policy):
    elevation = ask(employee, device)
    with clock.travel(timedelta(minutes=approval_policy.approval_timeout_minutes - 1)):
        sweep()
    elevation.refresh_from_db()
    assert elevation.state == State.PENDING_APPROVAL
    with clock.travel(timedelta(minutes=approval_policy.approval_timeout_minutes + 1)):
        assert sweep()["undecided"] == 1
    elevation.refresh_from_db()
    assert elevation.state == State.EXPIRED
    assert AuditEvent.objects.filter(elevation=elevation, action="elevation.approval_timed_out").exists()
    with pytest.raises(PolicyViolation, match="nothing to decide"):
        services.elevation_approve(elevation=elevation, approver=approver)
