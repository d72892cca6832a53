"""The helpdesk console: search, every live elevation, extend / revoke with a reason, grant on
behalf, bulk revoke, break-glass with review."""

import pytest
from django.urls import reverse

from requests_app import services
from requests_app.lifecycle import State
from requests_app.models import AuditEvent, Elevation

pytestmark = pytest.mark.usefixtures("staff_mfa")


@pytest.fixture
def live(employee, device):
    return services.elevation_request(requester=employee, device=device, minutes=60, reason="install drivers")


def test_the_console_lists_every_live_elevation(helpdesk_client, live):
    response = helpdesk_client.get(reverse("helpdesk:console"))
    assert response.status_code == 200
    assert f"hd-elevation-{live.public_id}" in response.content.decode()


def test_search_finds_people_and_devices_and_htmx_gets_the_partial(helpdesk_client, employee, device):
    response = helpdesk_client.get(
        reverse("helpdesk:console"), {"q": "erin"}, headers={"HX-Request": "true", "HX-Target": "search-results"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert reverse("helpdesk:user", args=[employee.pk]) in body
    assert reverse("helpdesk:device", args=[device.public_id]) in body


def test_employees_and_auditors_are_refused(employee_client, auditor_client):
    assert employee_client.get(reverse("helpdesk:console")).status_code == 403
    assert auditor_client.get(reverse("helpdesk:console")).status_code == 403


def test_helpdesk_without_mfa_is_sent_to_set_it_up(employee, device, client):
    from allauth.mfa.models import Authenticator

    from requests_app.models import User

    helpdesk = User.objects.get(email="harper@example.com")
    Authenticator.objects.filter(user=helpdesk).delete()
    client.force_login(helpdesk)
    response = client.get(reverse("helpdesk:console"))
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_index")
    htmx = client.get(reverse("helpdesk:console"), headers={"HX-Request": "true"})
    assert htmx["HX-Redirect"] == reverse("mfa_index")
    # their own pages stay usable
    assert client.get(reverse("requests_app:my_elevations")).status_code == 200


def test_revoke_needs_a_reason(helpdesk_client, live):
    response = helpdesk_client.post(reverse("helpdesk:revoke", args=[live.public_id]), {"reason": " "}, follow=True)
    assert "Give a reason" in response.content.decode()
    live.refresh_from_db()
    assert live.state == State.APPROVED


def test_revoke_with_a_reason_is_audited_with_the_helpdesk_as_actor(helpdesk, helpdesk_client, live):
    response = helpdesk_client.post(
        reverse("helpdesk:revoke", args=[live.public_id]), {"reason": "INC-42 laptop stolen", "next": "/helpdesk/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/helpdesk/"
    live.refresh_from_db()
    assert live.state == State.CANCELLED
    event = AuditEvent.objects.filter(elevation=live).latest("seq")
    assert (event.actor, event.reason) == (helpdesk, "INC-42 laptop stolen")


def test_an_unsafe_next_is_ignored(helpdesk_client, live):
    response = helpdesk_client.post(
        reverse("helpdesk:revoke", args=[live.public_id]), {"reason": "x", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("helpdesk:console")


def test_extend_with_a_reason(helpdesk_client, live):
    helpdesk_client.post(reverse("helpdesk:extend", args=[live.public_id]), {"minutes": 15, "reason": "still patching"})
    live.refresh_from_db()
    assert live.extensions == 1
    assert live.total_minutes == 75


def test_grant_on_behalf_names_both_people(helpdesk, helpdesk_client, employee, device):
    response = helpdesk_client.post(
        reverse("helpdesk:grant", args=[employee.pk]),
        {"device": device.public_id, "minutes": 60, "reason": "user on the phone, ticket 7", "ticket_ref": "T-7"},
    )
    assert response.status_code == 302
    elevation = Elevation.objects.get()
    assert (elevation.requester, elevation.beneficiary, elevation.source) == (helpdesk, employee, "helpdesk")
    event = AuditEvent.objects.get(elevation=elevation, action="elevation.requested")
    assert event.actor == helpdesk
    assert event.after["beneficiary"] == employee.email


def test_grant_on_a_device_that_is_not_theirs_is_refused(helpdesk_client, employee, outsider, make_device):
    other = make_device(outsider)
    response = helpdesk_client.post(
        reverse("helpdesk:grant", args=[employee.pk]), {"device": other.public_id, "minutes": 60, "reason": "x"}
    )
    assert response.status_code == 302
    assert not Elevation.objects.exists()


def test_bulk_revoke_of_a_user_ends_every_live_elevation(helpdesk_client, employee, make_device, default_policy):
    for _ in range(3):
        services.elevation_request(requester=employee, device=make_device(employee), minutes=60, reason="work")
    response = helpdesk_client.post(
        reverse("helpdesk:revoke_all_user", args=[employee.pk]), {"reason": "offboarding"}, follow=True
    )
    assert "Revoking 3 live elevations" in response.content.decode()
    assert set(Elevation.objects.values_list("state", flat=True)) == {State.CANCELLED}
    assert AuditEvent.objects.filter(action="helpdesk.bulk_revoke", reason="offboarding").exists()


def test_bulk_revoke_of_a_device_spares_other_devices(helpdesk_client, employee, outsider, make_device, default_policy):
    shared = make_device(employee, outsider)
    elsewhere = make_device(employee)
    on_shared = [
        services.elevation_request(requester=u, device=shared, minutes=60, reason="work") for u in (employee, outsider)
    ]
    spared = services.elevation_request(requester=employee, device=elsewhere, minutes=60, reason="work")
    helpdesk_client.post(reverse("helpdesk:revoke_all_device", args=[shared.public_id]), {"reason": "incident"})
    for elevation in [*on_shared, spared]:
        elevation.refresh_from_db()
    assert [e.state for e in on_shared] == [State.CANCELLED, State.CANCELLED]
    assert spared.state == State.APPROVED


def test_bulk_revoke_needs_a_reason(helpdesk_client, live, employee):
    helpdesk_client.post(reverse("helpdesk:revoke_all_user", args=[employee.pk]), {"reason": ""})
    live.refresh_from_db()
    assert live.state == State.APPROVED


def test_break_glass_is_for_admins_only(helpdesk_client, employee, device):
    response = helpdesk_client.post(
        reverse("helpdesk:break_glass", args=[employee.pk]), {"device": device.public_id, "minutes": 60, "reason": "x"}
    )
    assert response.status_code == 403
    assert not Elevation.objects.exists()


def test_break_glass_skips_approval_and_is_flagged_for_review(admin, admin_client, employee, device, default_policy):
    default_policy.requires_approval = True
    default_policy.save()
    admin_client.post(
        reverse("helpdesk:break_glass", args=[employee.pk]),
        {"device": device.public_id, "minutes": 60, "reason": "prod down, on-call"},
    )
    elevation = Elevation.objects.get()
    assert elevation.state == State.APPROVED
    assert (elevation.break_glass, elevation.needs_review, elevation.source) == (True, True, "break_glass")
    assert AuditEvent.objects.filter(elevation=elevation, action="elevation.break_glass", actor=admin).exists()
    console = admin_client.get(reverse("helpdesk:console")).content.decode()
    assert "Break-glass elevations to review" in console


def test_break_glass_demands_a_reason(admin_client, employee, device):
    admin_client.post(
        reverse("helpdesk:break_glass", args=[employee.pk]), {"device": device.public_id, "minutes": 60, "reason": ""}
    )
    assert not Elevation.objects.exists()


def test_break_glass_is_reviewed_by_another_admin(admin, admin_client, employee, device, client, with_mfa):
    from requests_app.roles import ROLES

    elevation = services.elevation_request(
        requester=admin, beneficiary=employee, device=device, minutes=60, reason="outage", break_glass=True
    )
    response = admin_client.post(reverse("helpdesk:mark_reviewed", args=[elevation.public_id]), {"reason": "ok"})
    assert response.status_code == 302
    elevation.refresh_from_db()
    assert elevation.needs_review  # the admin who broke the glass does not review it

    from django.contrib.auth.models import Group

    from requests_app.models import User

    second = User.objects.create_user(username="bo", email="bo@example.com", is_superuser=True)
    second.groups.set(Group.objects.filter(name__in=ROLES))
    with_mfa(second)
    client.force_login(second)
    client.post(reverse("helpdesk:mark_reviewed", args=[elevation.public_id]), {"reason": "checked the timeline"})
    elevation.refresh_from_db()
    assert not elevation.needs_review
    assert AuditEvent.objects.filter(elevation=elevation, action="elevation.reviewed", actor=second).exists()


def test_user_and_device_pages(helpdesk_client, employee, device, live):
    user_page = helpdesk_client.get(reverse("helpdesk:user", args=[employee.pk]))
    assert user_page.status_code == 200
    assert "grant-form" in user_page.content.decode()
    assert "break-glass" not in user_page.content.decode()  # helpdesk is not admin
    device_page = helpdesk_client.get(reverse("helpdesk:device", args=[device.public_id]))
    assert device_page.status_code == 200
    assert f"hd-elevation-{live.public_id}" in device_page.content.decode()


def test_unknown_ids_are_404(helpdesk_client):
    import uuid

    assert helpdesk_client.get(reverse("helpdesk:user", args=[987654])).status_code == 404
    assert helpdesk_client.get(reverse("helpdesk:device", args=[uuid.uuid4()])).status_code == 404
    assert helpdesk_client.post(reverse("helpdesk:revoke", args=[uuid.uuid4()]), {"reason": "x"}).status_code == 404


def test_break_glass_alerts_admins_after_commit(
    admin, employee, device, monkeypatch, django_capture_on_commit_callbacks
):
    from django.core import mail

    from requests_app.helpdesk import notify

    queued = []
    monkeypatch.setattr(notify.break_glass_alert, "delay", queued.append)
    monkeypatch.setattr("requests_app.tasks.grant.delay", lambda *args: None)
    with django_capture_on_commit_callbacks(execute=True):
        elevation = services.elevation_request(
            requester=admin, beneficiary=employee, device=device, minutes=60, reason="outage", break_glass=True
        )
    assert queued == [elevation.pk]
    assert notify._email_admins(elevation, "http://portal/x") == 1
    assert mail.outbox[-1].to == [admin.email]
    assert "BREAK-GLASS" in mail.outbox[-1].body


def test_an_ordinary_grant_raises_no_alarm(helpdesk, employee, device, monkeypatch, django_capture_on_commit_callbacks):
    from requests_app.helpdesk import notify

    queued = []
    monkeypatch.setattr(notify.break_glass_alert, "delay", queued.append)
    monkeypatch.setattr("requests_app.tasks.grant.delay", lambda *args: None)
    with django_capture_on_commit_callbacks(execute=True):
        services.elevation_request(requester=helpdesk, beneficiary=employee, device=device, minutes=60, reason="x")
    assert queued == []


def test_granting_on_behalf_also_needs_a_recent_sign_in(helpdesk, helpdesk_client, employee, device, settings):
    """allauth re-authenticates (password or the MFA code) and then replays the grant."""
    from requests_app.auth.stepup import SIGNED_IN_AT
    from requests_app.clock import now

    settings.ELEVATE_STEP_UP_SECONDS = 600
    session = helpdesk_client.session
    session[SIGNED_IN_AT] = now().timestamp() - 601
    session.save()
    response = helpdesk_client.post(
        reverse("helpdesk:grant", args=[employee.pk]),
        {"device": device.public_id, "minutes": 60, "reason": "phone"},
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert not Elevation.objects.exists()
