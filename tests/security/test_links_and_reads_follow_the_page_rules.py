"""Issue 17, items 2, 6 and 7: a one-click link or a read of someone else's elevation follows
the rules the pages follow (requests_app.permissions), MFA included.

Each test here failed on the code before permissions.py: the link approved or extended, the
detail page showed the reason, and an unbound link showed its details to anyone signed in."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from requests_app.integrations import links
from requests_app.integrations.models import UsedLink
from requests_app.lifecycle import State

pytestmark = pytest.mark.django_db
MFA_SETUP = reverse("mfa_index")
REASON = "Install the printer driver"  # make_elevation's reason


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    from requests_app import tasks

    monkeypatch.setattr(tasks.grant, "delay", lambda *args: None)
    monkeypatch.setattr(tasks.sync_expiry, "delay", lambda *args: None)


def path_of(url: str) -> str:
    return urlsplit(url).path


def snapshot(elevation) -> tuple:
    elevation.refresh_from_db()
    return elevation.state, elevation.expires_at, elevation.extensions, elevation.approvals.count()


# 17.2: MFA bypass through one-click links -----------------------------------------------------


def test_a_superuser_without_mfa_cannot_approve_through_a_link(admin, admin_client, employee, device, make_elevation):
    pending = make_elevation(employee, device, state=State.PENDING_APPROVAL)
    url = path_of(links.make_link(action="approve", elevation=pending, user=admin))
    before = snapshot(pending)

    shown, posted = admin_client.get(url), admin_client.post(url, {"reason": "fine"})

    assert shown.status_code == posted.status_code == 302
    assert shown["Location"] == posted["Location"] == MFA_SETUP
    assert snapshot(pending) == before and pending.state == State.PENDING_APPROVAL
    assert not UsedLink.objects.exists()


def test_the_same_superuser_with_mfa_approves_through_the_link(
    admin, admin_client, employee, device, make_elevation, with_mfa
):
    with_mfa(admin)
    pending = make_elevation(employee, device, state=State.PENDING_APPROVAL)
    url = path_of(links.make_link(action="approve", elevation=pending, user=admin))
    assert admin_client.post(url, {"reason": "fine"}).status_code == 302
    pending.refresh_from_db()
    assert pending.state == State.APPROVED


def test_helpdesk_without_mfa_cannot_extend_through_a_channel_link(helpdesk_client, employee, device, make_elevation):
    active = make_elevation(employee, device, state=State.ACTIVE)
    url = path_of(links.make_link(action="extend", elevation=active, minutes=15))  # unbound: a channel post
    before = snapshot(active)

    shown, posted = helpdesk_client.get(url), helpdesk_client.post(url)

    assert shown["Location"] == posted["Location"] == MFA_SETUP
    assert REASON.encode() not in shown.content
    assert snapshot(active) == before
    assert not UsedLink.objects.exists()


def test_helpdesk_with_mfa_extends_through_a_channel_link(
    helpdesk, helpdesk_client, employee, device, make_elevation, with_mfa
):
    with_mfa(helpdesk)
    active = make_elevation(employee, device, state=State.ACTIVE)
    url = path_of(links.make_link(action="extend", elevation=active, minutes=15))
    assert REASON.encode() in helpdesk_client.get(url).content
    helpdesk_client.post(url, {"reason": "user on the phone"})
    active.refresh_from_db()
    assert active.extensions == 1


# 17.6: helpdesk without MFA can read any elevation ----------------------------------------------


def test_helpdesk_without_mfa_cannot_read_someone_elses_elevation(helpdesk_client, employee, device, make_elevation):
    theirs = make_elevation(employee, device, state=State.ACTIVE)

    page = helpdesk_client.get(reverse("requests_app:detail", args=[theirs.public_id]))
    row = helpdesk_client.get(reverse("requests_app:row", args=[theirs.public_id]), headers={"HX-Request": "true"})

    assert page.status_code == 302 and page["Location"] == MFA_SETUP
    assert row["HX-Redirect"] == MFA_SETUP
    assert REASON.encode() not in page.content + row.content


def test_helpdesk_reads_their_own_elevation_without_mfa_and_others_with_it(
    helpdesk, helpdesk_client, employee, device, make_device, make_elevation, with_mfa
):
    own = make_elevation(helpdesk, make_device(helpdesk), state=State.ACTIVE)
    theirs = make_elevation(employee, device, state=State.ACTIVE)
    assert helpdesk_client.get(reverse("requests_app:detail", args=[own.public_id])).status_code == 200
    with_mfa(helpdesk)
    response = helpdesk_client.get(reverse("requests_app:detail", args=[theirs.public_id]))
    assert response.status_code == 200 and REASON.encode() in response.content


# 17.7: channel links disclose details --------------------------------------------------------


def test_an_unbound_extend_link_shows_an_unrelated_employee_nothing(outsider_client, employee, device, make_elevation):
    active = make_elevation(employee, device, state=State.ACTIVE)
    url = path_of(links.make_link(action="extend", elevation=active, minutes=15))
    before = snapshot(active)

    for response in (outsider_client.get(url), outsider_client.post(url)):
        body = response.content.decode()
        assert response.status_code == 403
        assert "This link is not for you" in body
        assert REASON not in body and device.hostname not in body and employee.email not in body

    assert snapshot(active) == before


def test_a_link_refuses_the_same_way_whatever_the_elevation(outsider_client, employee, device, make_elevation):
    """One answer for one refusal: a bound link for someone else and an unbound link the person
    may not use read alike."""
    active = make_elevation(employee, device, state=State.ACTIVE)
    bound = path_of(links.make_link(action="extend", elevation=active, user=employee, minutes=15))
    unbound = path_of(links.make_link(action="extend", elevation=active, minutes=15))
    answers = {
        (r.status_code, b"This link is not for you" in r.content) for r in map(outsider_client.get, (bound, unbound))
    }
    assert answers == {(403, True)}
