"""The whole loop through the simulator: approvals with buttons and the deny modal, the
requester's Extend/Revoke message, messages updated in place, the MFA rule, and /elevate."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator

from requests_app import services
from requests_app.clock import now
from requests_app.integrations.slack_app import posts
from requests_app.lifecycle import State
from requests_app.models import Elevation


def _ask(employee, device, minutes=60) -> Elevation:
    return services.elevation_request(
        requester=employee, device=device, minutes=minutes, reason="Printer <driver> & reboot"
    )


def test_an_approver_approves_from_slack_and_the_message_loses_its_buttons(
    workspace, employee, approver, device, needs_approval
):
    workspace.sim.add_user(approver.email)
    elevation = _ask(employee, device)
    [post] = workspace.deliver("approval_needed", elevation)
    assert post.recipient == approver
    assert workspace.buttons(post) == ["approve", "deny"]
    assert "Printer &lt;driver&gt; &amp; reboot" in workspace.text(post)

    answer = workspace.sim.click(workspace.interaction_url, post.channel, post.ts, "approve")
    assert answer.status_code == 200
    elevation.refresh_from_db()
    assert elevation.state in (State.APPROVED, State.GRANTING, State.ACTIVE)
    assert workspace.buttons(post) == []
    assert "Approved* by Avery" in workspace.text(post)

    assert workspace.message(post)["revisions"]  # updated in place, not a new message
    assert len(workspace.sim.messages) == 1
    with pytest.raises(LookupError):  # no button left to press twice
        workspace.sim.click(workspace.interaction_url, post.channel, post.ts, "approve")


def test_deny_asks_for_a_reason_in_a_modal(workspace, employee, approver, device, needs_approval):
    workspace.sim.add_user(approver.email)
    elevation = _ask(employee, device)
    [post] = workspace.deliver("approval_needed", elevation)
    assert workspace.sim.click(workspace.interaction_url, post.channel, post.ts, "deny").status_code == 200
    [view_id] = workspace.sim.views
    elevation.refresh_from_db()
    assert elevation.state == State.PENDING_APPROVAL  # nothing decided before the reason

    empty = workspace.sim.submit_view(workspace.interaction_url, view_id, {"reason": {"reason_input": " "}})
    assert empty.json()["response_action"] == "errors"
    assert "reason" in empty.json()["errors"]

    done = workspace.sim.submit_view(
        workspace.interaction_url, view_id, {"reason": {"reason_input": "Use the <lab> box"}}
    )
    assert done.status_code == 200 and not done.content
    elevation.refresh_from_db()
    assert elevation.state == State.DENIED
    assert "Denied* by Avery: Use the &lt;lab&gt; box" in workspace.text(post)
    assert workspace.buttons(post) == []


def test_a_staff_role_without_a_recent_mfa_sign_in_is_sent_to_the_portal(
    workspace, employee, admin, device, needs_approval, with_mfa
):
    workspace.sim.add_user(admin.email)
    with_mfa(admin)
    elevation = _ask(employee, device)
    [post] = workspace.deliver("approval_needed", elevation)
    assert workspace.buttons(post) == ["open"]

    Authenticator.objects.filter(user=admin).update(last_used_at=now())  # signed in with MFA just now
    posts.refresh(elevation.pk)
    assert workspace.buttons(post) == ["approve", "deny"]
    Authenticator.objects.filter(user=admin).update(last_used_at=None)
    workspace.sim.click(workspace.interaction_url, post.channel, post.ts, "approve")
    elevation.refresh_from_db()
    assert elevation.state == State.PENDING_APPROVAL
    assert "two-factor" in workspace.text(post)


def test_the_requester_extends_and_revokes_from_the_granted_message(workspace, employee, device, make_elevation):
    workspace.sim.add_user(employee.email)
    elevation = make_elevation(employee, device)
    [post] = workspace.deliver("granted", elevation)
    assert workspace.buttons(post) == ["extend", "revoke"]

    workspace.sim.click(workspace.interaction_url, post.channel, post.ts, "extend")
    elevation.refresh_from_db()
    assert elevation.extensions == 1
    workspace.sim.click(workspace.interaction_url, post.channel, post.ts, "revoke")
    elevation.refresh_from_db()
    assert elevation.state == State.REVOKING
    assert "being revoked" in workspace.text(post)
    assert workspace.buttons(post) == []


def test_someone_elses_click_on_a_forwarded_message_changes_nothing(
    workspace, employee, outsider, device, make_elevation
):
    workspace.sim.add_user(employee.email)
    intruder = workspace.sim.add_user(outsider.email)
    elevation = make_elevation(employee, device)
    [post] = workspace.deliver("granted", elevation)
    workspace.sim.click(workspace.interaction_url, post.channel, post.ts, "revoke", slack_id=intruder)
    elevation.refresh_from_db()
    assert elevation.state == State.ACTIVE


def test_a_state_change_elsewhere_updates_the_message(workspace, employee, approver, device, needs_approval):
    workspace.sim.add_user(approver.email)
    elevation = _ask(employee, device)
    [post] = workspace.deliver("approval_needed", elevation)
    services.elevation_revoke(elevation=elevation, actor=employee)  # cancelled in the portal
    assert posts.refresh(elevation.pk) == 1
    assert workspace.buttons(post) == []
    assert "Cancelled" in workspace.text(post)


def test_slash_command_lists_devices_requests_and_shows_status(workspace, employee, device):
    slack_id = workspace.sim.add_user(employee.email)
    listed = workspace.sim.slash_command(workspace.command_url, slack_id, "devices").json()
    assert listed["response_type"] == "ephemeral"
    assert "erin-laptop" in listed["text"]

    asked = workspace.sim.slash_command(workspace.command_url, slack_id, "erin-laptop 30m Install the driver").json()
    elevation = Elevation.objects.get()
    assert elevation.source == Elevation.Source.SLACK and elevation.reason == "Install the driver"
    assert "requested" in asked["text"]

    refused = workspace.sim.slash_command(workspace.command_url, slack_id, "erin-laptop 999h too long").json()
    assert ":warning:" in refused["text"]
    status = workspace.sim.slash_command(workspace.command_url, slack_id, "status").json()
    assert "1 live elevation" in status["text"]
    revoked = workspace.sim.slash_command(workspace.command_url, slack_id, "revoke erin-laptop").json()
    assert "Revoking" in revoked["text"] or "cancel" in revoked["text"].lower()


def test_a_slack_user_unknown_to_the_portal_is_told_so(workspace, device):
    stranger = workspace.sim.add_user("nobody@example.com")
    answer = workspace.sim.slash_command(workspace.command_url, stranger, "erin-laptop 30m x").json()
    assert "no account" in answer["text"]
    assert not Elevation.objects.exists()


def test_an_unconfirmed_slack_email_is_not_trusted(workspace, employee, device):
    unconfirmed = workspace.sim.add_user(employee.email, confirmed=False)
    answer = workspace.sim.slash_command(workspace.command_url, unconfirmed, "erin-laptop 30m x").json()
    assert "no account" in answer["text"]


def test_every_lifecycle_change_queues_an_update_of_the_elevations_messages(
    workspace, employee, device, make_elevation, monkeypatch, django_capture_on_commit_callbacks
):
    from requests_app.integrations.slack_app import tasks

    workspace.sim.add_user(employee.email)
    elevation = make_elevation(employee, device)
    workspace.deliver("granted", elevation)
    queued = []
    monkeypatch.setattr(tasks.refresh, "delay", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        services.elevation_revoke(elevation=elevation, actor=employee)
    assert queued == [elevation.pk]


def test_a_rate_limited_post_waits_for_retry_after(workspace, employee, device, make_elevation):
    from requests_app.integrations import notifications
    from requests_app.integrations.models import Delivery
    from requests_app.models import ProviderPause
    from requests_app.providers import gate

    workspace.sim.add_user(employee.email)
    workspace.sim.add_fault(
        path="chat.postMessage", status=429, retry_after="7", body={"ok": False, "error": "ratelimited"}
    )
    elevation = make_elevation(employee, device)
    notifications.announce("granted", elevation.pk)
    delivery = Delivery.objects.get(channel=Delivery.Channel.SLACK_APP)
    assert notifications.deliver(delivery.pk) >= 7
    assert workspace.sim.messages == {}
    assert notifications.deliver(delivery.pk) > 5  # too soon: the shared gate holds it, Slack is not asked
    assert len(workspace.sim.calls("POST", "chat.postMessage")) == 1
    ProviderPause.objects.all().delete()  # as if Retry-After had passed
    gate.forget_pauses()
    assert notifications.deliver(delivery.pk) is None  # the retry posts it
    assert len(workspace.sim.messages) == 1


def test_a_command_is_answered_within_three_seconds(workspace, employee, device):
    slack_id = workspace.sim.add_user(employee.email)
    answer = workspace.sim.slash_command(workspace.command_url, slack_id, "erin-laptop 30m Install the driver")
    assert answer.status_code == 200
    assert answer.elapsed.total_seconds() < 3
