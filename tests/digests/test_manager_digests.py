"""The managers' weekly digest: their team's elevations of last week by e-mail (and Slack where
set up), each with a signed "this looks wrong" link that opens a review item."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django import forms
from django.contrib import admin as django_admin
from django.core import mail
from django.test import RequestFactory

from requests_app import clock
from requests_app.admin import UserAdmin
from requests_app.attestation.services import attestation_open, attestation_submit
from requests_app.auth import sso
from requests_app.digests import services
from requests_app.digests.content import Week
from requests_app.integrations import notifications
from requests_app.integrations.models import Delivery, NotificationPreference
from requests_app.lifecycle import State
from requests_app.models import AuditEvent, ReviewItem, User
from requests_app.reviews.links import make_raise_link

MONDAY = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # the beat's first run of the week
LAST_WEEK = Week(datetime(2026, 11, 23, tzinfo=UTC))


@pytest.fixture
def team(employee, approver, outsider):
    """Avery manages Erin; Oscar has no manager."""
    employee.manager = approver
    employee.save(update_fields=["manager"])
    return approver


@pytest.fixture
def last_week_elevation(team, employee, device, make_elevation):
    started = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    return make_elevation(
        employee,
        device,
        state=State.EXPIRED,
        reason="Install the label printer",
        total_minutes=90,
        extensions=1,
        created_at=started,
        starts_at=started,
        activated_at=started,
        ended_at=started + timedelta(minutes=90),
        expires_at=started + timedelta(minutes=90),
    )


def test_the_last_whole_week_is_monday_to_monday():
    assert Week.before(MONDAY) == LAST_WEEK
    assert Week.before(datetime(2026, 12, 6, 23, 59, tzinfo=UTC)) == LAST_WEEK
    assert LAST_WEEK.end == datetime(2026, 11, 30, tzinfo=UTC)


def test_each_manager_gets_their_teams_elevations_of_last_week(
    team, employee, last_week_elevation, outsider, make_device, make_elevation
):
    outsider_device = make_device(outsider, hostname="oscar-pc")
    make_elevation(outsider, outsider_device, created_at=LAST_WEEK.start + timedelta(days=1))  # not Avery's team
    attestation_open(elevation=last_week_elevation)
    attestation_submit(elevation=last_week_elevation, actor=employee, text="Set up the printer queue")
    clock.freeze(MONDAY)
    assert services.digests_send_weekly() == 1
    delivery = Delivery.objects.get(event="manager_digest")
    assert delivery.recipient == team and delivery.channel == Delivery.Channel.EMAIL
    text = delivery.payload["text"]
    assert "erin@example.com" in text and "erin-laptop" in text and "1 h 30 min, 1 extension" in text
    assert "Install the label printer" in text and "Set up the printer queue" in text
    assert "oscar" not in text
    assert AuditEvent.objects.filter(action="digest.queued", target_label=str(team)).count() == 1


def test_a_rerun_in_the_same_week_sends_nothing_again(team, last_week_elevation):
    clock.freeze(MONDAY)
    assert services.digests_send_weekly() == 1
    clock.freeze(MONDAY + timedelta(hours=6))
    assert services.digests_send_weekly() == 0
    assert Delivery.objects.filter(event="manager_digest").count() == 1


def test_a_quiet_week_sends_no_digest(team):
    clock.freeze(MONDAY)
    assert services.digests_send_weekly() == 0


def test_a_manager_with_a_slack_webhook_gets_it_there_too(team, last_week_elevation):
    NotificationPreference.objects.create(user=team, slack_webhook_url="https://hooks.slack.test/T/B/x")
    clock.freeze(MONDAY)
    assert services.digests_send_weekly() == 2
    slack = Delivery.objects.get(event="manager_digest", channel=Delivery.Channel.SLACK)
    assert slack.payload["links"][0][0] == "#1 looks wrong"


def test_the_email_carries_a_looks_wrong_link_per_elevation(team, last_week_elevation, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    clock.freeze(MONDAY)
    services.digests_send_weekly()
    notifications.deliver(Delivery.objects.get(event="manager_digest").pk)
    (message,) = mail.outbox
    assert message.to == [team.email]
    assert message.subject == "[Elevate] Your team's admin rights, week of 2026-11-23"
    assert "#1 looks wrong: http" in message.body and "/reviews/raise/" in message.body
    assert "change these e-mails" not in message.body  # not a preference: part of the access review


def test_the_looks_wrong_link_opens_a_review_item_for_the_auditors(
    team, last_week_elevation, approver_client, auditor_client
):
    url = make_raise_link(elevation=last_week_elevation, manager=team)
    path = url[url.index("/reviews/raise/") :]
    assert "Install the label printer" in approver_client.get(path).content.decode()
    too_long = approver_client.post(path, {"comment": "x" * 2001})
    assert too_long.status_code == 200 and not ReviewItem.objects.exists()
    assert approver_client.post(path, {"comment": "Erin is on leave that week"}).status_code == 302
    item = ReviewItem.objects.get()
    assert item.origin == ReviewItem.Origin.MANAGER and item.raised_by == team
    assert AuditEvent.objects.get(action="review.raised").reason == "Erin is on leave that week"
    assert "Erin is on leave that week" in auditor_client.get("/reviews/").content.decode()
    again = approver_client.post(path, {"comment": "Again"})
    assert "already raised" in again.content.decode() and ReviewItem.objects.count() == 1


def test_one_click_without_a_comment_is_enough(team, last_week_elevation, approver_client):
    url = make_raise_link(elevation=last_week_elevation, manager=team)
    assert approver_client.post(url[url.index("/reviews/raise/") :], {}).status_code == 302
    assert ReviewItem.objects.get().raised_comment == ""


def test_the_link_works_only_for_the_manager_it_was_sent_to(
    team, last_week_elevation, employee_client, approver_client
):
    url = make_raise_link(elevation=last_week_elevation, manager=team)
    path = url[url.index("/reviews/raise/") :]
    assert employee_client.get(path).status_code == 400
    assert approver_client.get(path[:-6] + "abcde/").status_code == 400


def test_the_manager_from_the_identity_providers_claim_is_audited(employee, approver, settings):
    settings.ELEVATE_SSO_MANAGER_CLAIM = "manager_email"
    sso.sync_manager(employee, {"manager_email": approver.email})
    assert User.objects.get(pk=employee.pk).manager == approver
    event = AuditEvent.objects.get(action="user.manager_changed")
    assert event.before == {"manager": None} and event.after == {"manager": approver.email}


def test_a_manager_set_in_the_admin_is_audited(employee, approver, admin):
    request = RequestFactory().post("/admin/")
    request.user = admin
    form = forms.modelform_factory(User, fields=["manager"])({"manager": approver.pk}, instance=employee)
    assert form.is_valid()
    UserAdmin(User, django_admin.site).save_model(request, form.save(commit=False), form, change=True)
    event = AuditEvent.objects.get(action="user.manager_changed")
    assert event.actor == admin and event.after == {"manager": approver.email}
