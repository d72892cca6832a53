"""Audit rows come from a cache keyed by the event's hash under the release: a second look costs
no rendering, a deploy or another zone renders afresh. Other lists are rendered every time, so
whatever changes in a row shows at once."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.cache import cache
from django.template import Engine
from redis.exceptions import ConnectionError as RedisConnectionError

from requests_app import audit
from requests_app.auditing import row_cache, selectors
from requests_app.auditing.row_cache import ROW_TEMPLATE, audit_rows, row_key_prefix
from requests_app.clock import now
from requests_app.lifecycle import State
from requests_app.models import Elevation

MY = "/"
CONSOLE = "/helpdesk/"


def _rendered_rows(events, loads):
    def load(missing):
        loads.append([event["seq"] for event in missing])
        return selectors.event_rows(missing)

    return audit_rows(events, load=load)


def test_an_audit_row_is_rendered_once_then_read_from_the_cache(db):
    recorded = [audit.record("test.row_cache", reason=f"row {n}") for n in range(2)]
    events = [{"seq": e.seq, "hash": e.hash} for e in recorded]
    loads = []
    first, second = _rendered_rows(events, loads), _rendered_rows(events, loads)
    assert first == second and "row 0" in first[0] and "row 1" in first[1]
    assert loads == [[e.seq for e in recorded]]  # the second call rendered nothing


def test_a_new_release_renders_its_audit_rows_afresh(db, settings):
    event = audit.record("test.row_cache", reason="release")
    events = [{"seq": event.seq, "hash": event.hash}]
    loads = []
    _rendered_rows(events, loads)
    settings.ELEVATE_RELEASE = f"next-{now().timestamp()}"
    _rendered_rows(events, loads)
    assert loads == [[event.seq], [event.seq]]


def test_untrusted_text_in_an_audit_row_is_escaped_before_it_is_cached(db):
    event = audit.record("test.row_cache", reason="<script>alert(1)</script>")
    html = _rendered_rows([{"seq": event.seq, "hash": event.hash}], [])[0]
    assert "<script>" not in html and "&lt;script&gt;" in html
    cached = cache.get(row_key_prefix(Engine.get_default().get_template(ROW_TEMPLATE)) + event.hash)
    assert cached == str(html)


def test_history_shows_a_renamed_device_and_the_users_new_time_zone(employee_client, employee, device, make_elevation):
    employee.timezone = "UTC"
    employee.save()
    ended = make_elevation(employee, device, state=State.EXPIRED)
    Elevation.objects.filter(pk=ended.pk).update(ended_at=now().replace(hour=12, minute=0))
    body = employee_client.get(MY).content.decode()
    assert device.hostname in body and "12:00 UTC" in body

    device.hostname = "renamed-laptop"
    device.save()
    employee.timezone = "Asia/Tokyo"
    employee.save()
    body = employee_client.get(MY).content.decode()
    assert "renamed-laptop" in body and "21:00 JST" in body


def test_history_shows_a_finished_elevation_that_changed(employee_client, employee, device, make_elevation):
    ended = make_elevation(employee, device, state=State.REVOKED, reason="first reason")
    assert "first reason" in employee_client.get(MY).content.decode()
    Elevation.objects.filter(pk=ended.pk).update(reason="second reason", updated_at=now())
    body = employee_client.get(MY).content.decode()
    assert "second reason" in body and "first reason" not in body


def test_the_console_shows_a_rows_new_state_and_expiry(helpdesk, helpdesk_client, employee, device, make_elevation):
    TOTP.activate(helpdesk, generate_totp_secret())  # the console asks staff for MFA
    live = make_elevation(employee, device, state=State.ACTIVE)
    body = helpdesk_client.get(CONSOLE).content.decode()
    assert f'id="hd-elevation-{live.public_id}"' in body and 'class="badge active"' in body
    later = now() + timedelta(days=1)
    Elevation.objects.filter(pk=live.pk).update(state=State.REVOKING, expires_at=later)
    body = helpdesk_client.get(CONSOLE).content.decode()
    row = body.split(f'id="hd-elevation-{live.public_id}"')[1].split("</tr>")[0]
    assert 'class="badge revoking"' in row and "tomorrow" in row


def test_audit_rows_follow_the_auditors_time_zone(auditor_client, auditor):
    event = audit.record("test.row_cache", reason="zone check")
    utc = auditor_client.get("/audit/", {"action": "test.row_cache"}).content.decode()
    assert f'id="event-{event.seq}"' in utc and "zone check" in utc
    auditor.timezone = "Asia/Kolkata"
    auditor.save()
    local = auditor_client.get("/audit/", {"action": "test.row_cache"}).content.decode()
    shown = event.at.astimezone(zoneinfo.ZoneInfo("Asia/Kolkata")).strftime("%H:%M:%S")
    assert shown in local.split(f'id="event-{event.seq}"')[1].split("</tr>")[0]


def test_audit_rows_cost_one_more_query_only_when_not_cached(auditor_client, django_assert_num_queries):
    audit.record("test.row_cache_queries", reason="q")
    query = {"action": "test.row_cache_queries"}
    auditor_client.get("/audit/", query)  # warms the summary and the row
    # session, user, the MFA guard (second factor, roles), the user's and their groups'
    # permissions, checkpoint, head, providers, page
    with django_assert_num_queries(10):
        auditor_client.get("/audit/", query)
    audit.record("test.row_cache_queries", reason="a new one")
    with django_assert_num_queries(11):  # the new row's columns
        auditor_client.get("/audit/", query)


def test_the_audit_trail_still_shows_its_rows_when_the_cache_is_down(auditor_client, monkeypatch, caplog):
    audit.record("test.row_cache_down", reason="shown without a cache")

    def down(*args, **kwargs):
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(row_cache.cache, "get_many", down)
    monkeypatch.setattr(row_cache.cache, "set_many", down)
    response = auditor_client.get("/audit/", {"action": "test.row_cache_down"})
    assert response.status_code == 200 and "shown without a cache" in response.content.decode()
    assert "audit row cache unavailable" in caplog.text
