"""The audit dashboard: who may see it, filters, keyset pages, htmx partials, the summary."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group

from bench.audit_chain import append_events, synthetic_events
from requests_app import audit
from requests_app.auditing import stats
from requests_app.auditing.filters import AuditFilterForm
from requests_app.auditing.selectors import PAGE_SIZE
from requests_app.clock import now
from requests_app.lifecycle import State
from requests_app.models import AuditEvent, Elevation, ProviderConnection
from tests.conftest import make_user

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def make_elevation(demo_connection):
    def make(beneficiary, device, *, hours: float, ago: timedelta, state=State.EXPIRED, **fields) -> Elevation:
        activated = now() - ago
        ended = activated + timedelta(hours=hours) if state != State.ACTIVE else None
        elevation = Elevation.objects.create(
            requester=beneficiary,
            beneficiary=beneficiary,
            connection=demo_connection,
            device=device,
            target_label=device.hostname,
            reason="Needed for the audit dashboard test",
            requested_minutes=int(hours * 60) or 1,
            starts_at=activated,
            expires_at=activated + timedelta(hours=hours),
            state=state,
            created_at=activated,
            updated_at=activated,
            activated_at=activated,
            ended_at=ended,
            **fields,
        )
        audit.record(f"elevation.{state}", actor=beneficiary, target=elevation, elevation=elevation)
        return elevation

    return make


def test_auditors_see_the_dashboard(auditor_client):
    response = auditor_client.get("/audit/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="audit-chain"' in body and 'id="audit-results"' in body and "<svg" in body
    assert "Not verified yet" in body


def test_admins_see_it_too_and_others_get_403(
    admin, admin_client, helpdesk, employee_client, helpdesk_client, client, with_mfa
):
    assert admin_client.get("/audit/")["Location"] == "/accounts/2fa/"  # an admin reads it with MFA
    with_mfa(admin)
    with_mfa(helpdesk)  # else the same redirect, before the 403
    assert admin_client.get("/audit/").status_code == 200
    assert employee_client.get("/audit/").status_code == 403
    assert helpdesk_client.get("/audit/").status_code == 403
    assert client.get("/audit/").status_code == 302  # to sign-in


def test_the_dashboard_is_read_only(auditor_client):
    assert auditor_client.post("/audit/").status_code == 405


def test_the_nav_links_to_the_dashboard_for_auditors_only(auditor_client, employee_client):
    assert 'href="/audit/"' in auditor_client.get("/").content.decode()
    assert 'href="/audit/"' not in employee_client.get("/").content.decode()


def test_filtering_by_user_shows_their_elevations_and_account_events(
    auditor_client, employee, outsider, make_device, make_elevation
):
    mine = make_elevation(employee, make_device(employee), hours=1, ago=timedelta(hours=3))
    make_elevation(outsider, make_device(outsider, hostname="oscar-pc"), hours=1, ago=timedelta(hours=3))
    response = auditor_client.get("/audit/", {"user": employee.email}, **HTMX, HTTP_HX_TARGET="audit-results")
    body = response.content.decode()
    assert "<html" not in body and body.lstrip().startswith('<div id="audit-results"')
    assert str(mine.public_id) in body
    assert "oscar-pc" not in body.split('id="audit-events"')[1]
    assert "role.membership_added" in body  # events about the user's account too


def test_the_provider_filter_lists_every_connection_and_keeps_the_choice(auditor_client, demo_connection):
    other = ProviderConnection.objects.create(name="Acme JumpCloud", kind="demo")
    body = auditor_client.get("/audit/").content.decode()
    options = body.split('name="provider"')[1].split("</select>")[0]
    assert options.index("Any provider") < options.index("Acme JumpCloud") < options.index("Demo")
    chosen = auditor_client.get("/audit/", {"provider": str(other.public_id)}).content.decode()
    assert f'<option value="{other.public_id}" selected>Acme JumpCloud</option>' in chosen
    assert f'<option value="{demo_connection.public_id}">Demo</option>' in chosen


def test_unknown_filter_values_show_an_error(auditor_client):
    body = auditor_client.get("/audit/", {"user": "nobody@example.com"}).content.decode()
    assert "No user has that e-mail address." in body


def test_events_page_newest_first_by_keyset(auditor_client, django_assert_max_num_queries):
    append_events(synthetic_events(120, start=now() - timedelta(hours=1), step=timedelta(seconds=10)))
    newest = AuditEvent.objects.order_by("-seq").first().seq
    first = auditor_client.get("/audit/", {"action": "auth.sign_in"}, **HTMX, HTTP_HX_TARGET="audit-events")
    body = first.content.decode()
    assert body.lstrip().startswith('<section id="audit-events"')
    last = newest - PAGE_SIZE + 1
    assert f'id="event-{newest}"' in body and f'id="event-{last}"' in body
    assert f'id="event-{last - 1}"' not in body
    with django_assert_max_num_queries(11):
        second = auditor_client.get(
            "/audit/", {"action": "auth.sign_in", "before": last}, **HTMX, HTTP_HX_TARGET="audit-events"
        )
    body = second.content.decode()
    assert f'id="event-{last - 1}"' in body and f"after={last - 1}" in body
    assert f'id="event-{last - PAGE_SIZE}"' in body and f'id="event-{last - PAGE_SIZE - 1}"' not in body


def test_the_summary_counts_hours_durations_and_flags_outliers(make_device, make_elevation, employee):
    device = make_device(employee)
    peers = [make_user(f"peer{n}@example.com", "employee") for n in range(6)]
    for peer in peers:
        make_elevation(peer, make_device(peer), hours=1, ago=timedelta(days=2))
        make_elevation(peer, make_device(peer), hours=2, ago=timedelta(days=3))
    for day in range(1, 13):
        make_elevation(employee, device, hours=4, ago=timedelta(days=day, hours=5))
    make_elevation(peers[0], make_device(peers[0]), hours=0, ago=timedelta(minutes=30), state=State.ACTIVE)
    make_elevation(peers[1], make_device(peers[1]), hours=1, ago=timedelta(days=1), state=State.FAILED)

    form = AuditFilterForm({})
    assert form.is_valid()
    summary = stats.compute_summary(form.filters())
    assert summary.active_now == 1
    assert summary.failed_grants == 1
    assert summary.started == 12 + 12 + 2
    assert summary.longest_duration == timedelta(hours=4)
    assert summary.median_duration == timedelta(hours=2)
    assert summary.hours_per_user[0].label == employee.email and summary.hours_per_user[0].hours == 48.0
    assert [peer.label for peer in summary.flagged] == [employee.email]
    assert summary.top_devices[0].count == 12
    assert len(summary.bars) == 30 and max(bar.count for bar in summary.bars) == summary.max_per_day


def test_helpdesk_overrides_count_actions_on_someone_elses_elevation(make_device, make_elevation, employee, helpdesk):
    elevation = make_elevation(employee, make_device(employee), hours=1, ago=timedelta(hours=2), state=State.ACTIVE)
    audit.record("elevation.revoke_requested", actor=helpdesk, elevation=elevation, target=elevation)
    audit.record("approval.approve", actor=helpdesk, elevation=elevation, target=elevation)
    audit.record("helpdesk.bulk_revoke", actor=helpdesk, target=employee)
    form = AuditFilterForm({})
    assert form.is_valid()
    assert stats.compute_summary(form.filters()).helpdesk_overrides == 2


@pytest.mark.parametrize(
    ("values", "flagged"),
    [
        ([1, 1, 2, 2, 3, 40], [40]),
        ([5, 5, 5, 5, 5, 5, 30], [30]),  # MAD 0: the mean absolute deviation takes over
        ([1, 2, 50], []),  # too few peers to call anyone an outlier
        ([3, 3, 3, 3, 3], []),
    ],
)
def test_robust_threshold(values, flagged):
    limit = stats.robust_threshold(values)
    assert [v for v in values if limit is not None and v > limit] == flagged


def test_the_audit_admin_is_read_only(admin, auditor):
    from django.contrib.admin.sites import site
    from django.test import RequestFactory

    model_admin = site._registry[AuditEvent]
    request = RequestFactory().get("/admin/")
    for user in (admin, auditor):
        request.user = user
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)
        assert not model_admin.has_add_permission(request)
    assert Group.objects.get(name="auditor").permissions.filter(codename="view_audit").exists()


def test_the_dashboard_shows_how_far_the_chain_is_verified(auditor_client, chain, tamper):
    from requests_app.auditing import verify

    verify.verify_and_checkpoint()
    head_seq, _ = chain(3)
    body = auditor_client.get("/audit/").content.decode()
    assert f"Verified up to event #{head_seq - 3} of #{head_seq} (3 newer events not yet checked)" in body
    tamper("UPDATE requests_app_auditevent SET reason = 'x' WHERE seq = 7")
    verify.verify_and_checkpoint(full=True)
    body = auditor_client.get("/audit/").content.decode()
    assert "Broken at event #7: content was altered" in body


def test_rows_drill_down_to_the_elevation_timeline(auditor_client, employee, make_device, make_elevation):
    elevation = make_elevation(employee, make_device(employee), hours=1, ago=timedelta(hours=2))
    body = auditor_client.get("/audit/", {"action": "elevation.expired"}).content.decode()
    assert f'href="/elevations/{elevation.public_id}/"' in body
    assert auditor_client.get(f"/elevations/{elevation.public_id}/").status_code == 200
    timeline = auditor_client.get("/audit/", {"elevation": str(elevation.public_id)}).content.decode()
    assert "elevation.expired" in timeline.split('id="audit-events"')[1]
