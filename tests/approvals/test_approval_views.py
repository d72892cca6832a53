"""The approvals queue and its approve / deny actions."""

import pytest
from django.urls import reverse

from requests_app import services
from requests_app.lifecycle import State
from requests_app.models import Approval, Policy


@pytest.fixture
def pending(employee, device, approval_policy):
    return services.elevation_request(requester=employee, device=device, minutes=60, reason="debug a driver")


def test_the_queue_lists_what_the_approver_may_decide(approver_client, pending):
    response = approver_client.get(reverse("approvals:queue"))
    assert response.status_code == 200
    assert str(pending.public_id) in response.content.decode()
    assert "debug a driver" in response.content.decode()


def test_the_queue_with_htmx_returns_only_its_partial(approver_client, pending):
    response = approver_client.get(
        reverse("approvals:queue"), headers={"HX-Request": "true", "HX-Target": "approval-queue"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="approval-queue"' in body
    assert "<html" not in body


def test_the_requester_does_not_see_their_own_request_in_the_queue(employee_client, pending):
    assert str(pending.public_id) not in employee_client.get(reverse("approvals:queue")).content.decode()


def test_a_manager_without_the_approver_role_sees_their_reports_requests(
    employee, outsider, outsider_client, pending, approval_policy
):
    assert str(pending.public_id) not in outsider_client.get(reverse("approvals:queue")).content.decode()
    Policy.objects.filter(pk=approval_policy.pk).update(approval_by_manager=True)
    employee.manager = outsider
    employee.save()
    assert str(pending.public_id) in outsider_client.get(reverse("approvals:queue")).content.decode()


def test_approve_moves_the_request_on(approver_client, pending):
    response = approver_client.post(reverse("approvals:approve", args=[pending.public_id]), {"reason": "fine"})
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.state == State.APPROVED


def test_deny_without_a_reason_changes_nothing(approver_client, pending):
    response = approver_client.post(reverse("approvals:deny", args=[pending.public_id]), {"reason": ""}, follow=True)
    assert "Say why you deny it" in response.content.decode()
    pending.refresh_from_db()
    assert pending.state == State.PENDING_APPROVAL
    assert not Approval.objects.exists()


def test_deny_with_a_reason_ends_it(approver_client, pending):
    approver_client.post(reverse("approvals:deny", args=[pending.public_id]), {"reason": "not on prod"})
    pending.refresh_from_db()
    assert pending.state == State.DENIED


def test_approving_ones_own_request_is_forbidden(employee_client, pending):
    response = employee_client.post(reverse("approvals:approve", args=[pending.public_id]))
    assert response.status_code == 403
    pending.refresh_from_db()
    assert pending.state == State.PENDING_APPROVAL


def test_someone_who_may_not_decide_gets_404(outsider_client, pending):
    response = outsider_client.post(reverse("approvals:approve", args=[pending.public_id]))
    assert response.status_code == 404
    pending.refresh_from_db()
    assert pending.state == State.PENDING_APPROVAL


def test_a_get_on_an_action_is_405(approver_client, pending):
    assert approver_client.get(reverse("approvals:approve", args=[pending.public_id])).status_code == 405


def test_the_queue_does_not_grow_a_query_per_request(approver, approver_client, employee, make_device, approval_policy):
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    board = Group.objects.create(name="board")
    approver.groups.add(board)
    Policy.objects.filter(pk=approval_policy.pk).update(approver_group=board)

    def ask():
        services.elevation_request(requester=employee, device=make_device(employee), minutes=60, reason="x")

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            approver_client.get(reverse("approvals:queue"))
        return len(captured)

    ask()
    one = count()
    for _ in range(4):
        ask()
    assert count() == one
