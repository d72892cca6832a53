"""One-click approve / deny / extend links, and the notification preferences page."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from requests_app import clock
from requests_app.integrations import links
from requests_app.integrations.models import NotificationPreference, UsedLink
from requests_app.lifecycle import State
from requests_app.models import Elevation

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quiet_on_commit(monkeypatch):
    """Approvals queue a grant after commit; no broker is needed to test the links."""
    from requests_app import tasks

    monkeypatch.setattr(tasks.grant, "delay", lambda *args: None)
    monkeypatch.setattr(tasks.sync_expiry, "delay", lambda *args: None)


def make_elevation(device, user, *, state, minutes=60) -> Elevation:
    current = clock.now()
    return Elevation.objects.create(
        requester=user, beneficiary=user, connection=device.connection, device=device,
        target_label=device.hostname, reason="printer driver", requested_minutes=minutes,
        total_minutes=minutes, starts_at=current, expires_at=current + timedelta(minutes=minutes),
        state=state, created_at=current, updated_at=current,
        decide_by=current + timedelta(hours=1) if state == State.PENDING_APPROVAL else None,
    )  # fmt: skip


@pytest.fixture
def pending(device, employee):
    return make_elevation(device, employee, state=State.PENDING_APPROVAL)


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_approver_confirms_then_the_link_is_spent(pending, approver, approver_client):
    url = path_of(links.make_link(action="approve", elevation=pending, user=approver))

    page = approver_client.get(url)
    assert page.status_code == 200
    assert b"Approve admin on erin-laptop" in page.content

    response = approver_client.post(url, {"reason": ""})
    assert response.status_code == 302
    assert response["Location"] == reverse("requests_app:detail", args=[pending.public_id])
    pending.refresh_from_db()
    assert pending.state == State.APPROVED

    again = approver_client.get(url)
    assert again.status_code == 400
    assert b"already used" in again.content


def test_get_never_acts(pending, approver, approver_client):
    url = path_of(links.make_link(action="approve", elevation=pending, user=approver))
    approver_client.get(url)
    pending.refresh_from_db()
    assert pending.state == State.PENDING_APPROVAL


def test_signed_out_person_is_sent_to_sign_in(pending, approver, client):
    url = path_of(links.make_link(action="approve", elevation=pending, user=approver))
    response = client.get(url)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_link_for_another_approver_is_refused(pending, approver, helpdesk_client):
    url = path_of(links.make_link(action="approve", elevation=pending, user=approver))
    response = helpdesk_client.post(url)
    assert response.status_code == 403
    assert b"This link is not for you" in response.content
    pending.refresh_from_db()
    assert pending.state == State.PENDING_APPROVAL


def test_channel_link_is_not_for_someone_who_may_not_approve(pending, employee_client, outsider_client):
    url = path_of(links.make_link(action="approve", elevation=pending))  # unbound: posted to a channel

    for client in (employee_client, outsider_client):  # the requester, and someone unrelated
        for response in (client.get(url), client.post(url)):
            assert response.status_code == 403
            assert b"This link is not for you" in response.content
            assert b"printer driver" not in response.content and b"erin-laptop" not in response.content

    pending.refresh_from_db()
    assert pending.state == State.PENDING_APPROVAL
    assert not UsedLink.objects.exists()  # refused actions leave the link usable


def test_deny_needs_a_reason_and_stays_usable_until_given(pending, approver, approver_client):
    url = path_of(links.make_link(action="deny", elevation=pending, user=approver))

    approver_client.post(url, {"reason": ""})
    pending.refresh_from_db()
    assert pending.state == State.PENDING_APPROVAL

    approver_client.post(url, {"reason": "not during the freeze"})
    pending.refresh_from_db()
    assert pending.state == State.DENIED


def test_expired_link_is_refused(pending, approver, approver_client, settings):
    settings.ELEVATE_APPROVAL_LINK_MAX_AGE_SECONDS = -1
    url = path_of(links.make_link(action="approve", elevation=pending, user=approver))

    response = approver_client.get(url)

    assert response.status_code == 400
    assert b"expired" in response.content


def test_tampered_link_is_refused(pending, approver, approver_client):
    url = path_of(links.make_link(action="approve", elevation=pending, user=approver))
    response = approver_client.get(url.replace(url[-6:-2], "AAAA"))
    assert response.status_code == 400


def test_extend_link_extends_by_its_minutes(device, employee, employee_client, default_policy):
    active = make_elevation(device, employee, state=State.ACTIVE)
    before = active.expires_at
    url = path_of(links.make_link(action="extend", elevation=active, user=employee, minutes=15))

    assert b"Extend by 15 min" in employee_client.get(url).content
    employee_client.post(url)

    active.refresh_from_db()
    assert active.expires_at == before + timedelta(minutes=15)
    assert active.extensions == 1


def test_preferences_page_saves_choices(employee, employee_client, slack, personal_webhooks_to_simulator):
    url = reverse("integrations:preferences")
    assert employee_client.get(url).status_code == 200

    hook = slack.add_webhook()
    response = employee_client.post(
        url, {"email_events": ["expiring_soon"], "slack_events": ["granted"], "slack_webhook_url": hook}
    )

    assert response.status_code == 302
    preference = NotificationPreference.objects.get(user=employee)
    assert preference.email_events == ["expiring_soon"]
    assert preference.slack_events == ["granted"]
    assert preference.slack_webhook_url == hook
    page = employee_client.get(url).content.decode()
    assert hook not in page  # the webhook URL is a secret: never shown back


def test_preferences_need_sign_in(client):
    assert client.get(reverse("integrations:preferences")).status_code == 302
