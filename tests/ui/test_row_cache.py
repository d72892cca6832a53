"""List rows come from a cache keyed by what they show: a second look costs no rendering, and
anything that changes a row, or the zone and day it is shown in, shows at once."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.cache import cache
from redis.exceptions import ConnectionError as RedisConnectionError

from requests_app import audit, fragments
from requests_app.clock import now
from requests_app.lifecycle import State
from requests_app.models import Elevation

MY = "/"
CONSOLE = "/helpdesk/"


def test_a_row_is_rendered_once_then_read_from_the_cache(db):
    items = [{"n": 1, "label": "one"}, {"n": 2, "label": "two"}]
    loads = []
    run = now().timestamp()  # keys of this test only

    def load(missing):
        loads.append([item["n"] for item in missing])
        return missing

    def render():
        return fragments.cached_rows(
            "auditing/dashboard.html#audit-event", items, key=lambda i: f"test-{i['n']}-{run}", load=load
        )

    first, second = render(), render()
    assert first == second and len(first) == 2
    assert loads == [[1, 2]]  # the second call rendered nothing


def test_a_response_value_is_filled_in_escaped_and_never_cached(employee, device, make_elevation):
    key = f"fill-{now().timestamp()}"
    html = fragments.cached_rows(
        "helpdesk/_elevation_rows.html#elevation-row",
        [make_elevation(employee, device)],
        key=lambda e: key,
        fill={"token": "tok-1", "next": '/helpdesk/?q="x"&after=1'},
    )[0]
    assert 'value="tok-1"' in html and 'value="/helpdesk/?q=&quot;x&quot;&amp;after=1"' in html
    cached = next(v for k, v in cache.get_many(_keys_ending(key)).items())
    assert "tok-1" not in cached and "<!--fill:token-->" in cached


def _keys_ending(suffix: str) -> list[str]:
    client = cache._cache.get_client()
    prefix = cache.make_key("")
    return [k.decode().removeprefix(prefix) for k in client.scan_iter(match=f"{prefix}row:*{suffix}")]


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
    assert f'id="hd-elevation-{live.public_id}"' in body and 'class="badge badge-active"' in body
    later = now() + timedelta(days=1)
    Elevation.objects.filter(pk=live.pk).update(state=State.REVOKING, expires_at=later)
    body = helpdesk_client.get(CONSOLE).content.decode()
    row = body.split(f'id="hd-elevation-{live.public_id}"')[1].split("</tr>")[0]
    assert ">Revoking</span>" in row and "tomorrow" in row


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
    with django_assert_num_queries(6):
        auditor_client.get("/audit/", query)
    audit.record("test.row_cache_queries", reason="a new one")
    with django_assert_num_queries(7):  # the new row's columns
        auditor_client.get("/audit/", query)


def test_pages_still_show_their_rows_when_the_cache_is_down(
    employee_client, employee, device, make_elevation, monkeypatch, caplog
):
    make_elevation(employee, device, state=State.EXPIRED, reason="shown without a cache")

    def down(*args, **kwargs):
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(fragments.cache, "get_many", down)
    monkeypatch.setattr(fragments.cache, "set_many", down)
    response = employee_client.get(MY)
    assert response.status_code == 200 and "shown without a cache" in response.content.decode()
    assert "row cache unavailable" in caplog.text
