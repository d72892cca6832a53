"""The employee portal in a real browser, against a live server and a real Celery worker."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from helpers import wait_for, watch_csp_violations
from requests_app import services
from requests_app.clock import now
from requests_app.lifecycle import State
from requests_app.models import Device, Elevation

pytestmark = [pytest.mark.browser]

LIVE_TIMEOUT = 20_000  # ms: the worker grants and revokes within a few seconds; polling is every 2 s


def mark_page(page) -> None:
    """A flag that survives only as long as the page is not reloaded."""
    page.evaluate("window.__sameDocument = true")


def same_document(page) -> bool:
    return page.evaluate("window.__sameDocument === true")


@pytest.mark.worker
def test_request_watch_active_extend_and_revoke_without_reloading(
    live_server, page, employee, device, make_device, worker_factory, sign_in, screenshot
):
    make_device(employee, hostname="erin-surface", os="Windows 11", os_family="windows")
    worker_factory(beat=True, sweep_seconds=1)
    sign_in(page, employee)
    expect(page.get_by_role("heading", name="Welcome to Elevate")).to_be_visible()
    screenshot(page, "01-my-elevations-first-visit")

    mark_page(page)
    page.locator("label.device-option", has_text="erin-laptop").click()
    page.locator("label.chip", has_text="1 h").click()
    page.get_by_role("button", name="Request admin rights").click()
    expect(page.locator("#id_reason-error")).to_have_text("Say why you need admin rights.")
    expect(page.get_by_label("Why do you need admin rights?")).to_be_focused()
    page.get_by_label("Why do you need admin rights?").fill("Install the VPN client")
    page.get_by_label("Ticket").fill("IT-1234")
    page.get_by_role("button", name="Request admin rights").click()

    expect(page.get_by_role("status").filter(has_text="on their way")).to_be_visible()
    elevation = Elevation.objects.get(beneficiary=employee)
    row = page.locator(f"#elevation-{elevation.public_id}")
    expect(row).to_be_visible()
    expect(row.locator("[data-state-badge]")).to_have_text("Active", timeout=LIVE_TIMEOUT)
    expect(row.locator("[data-countdown]")).to_have_text(re.compile(r"(\d+ h \d\d min|\d+ min|\d+:\d\d) left"))
    assert same_document(page), "the request and the state changes must not reload the page"
    screenshot(page, "02-my-elevations-active")

    row.locator("summary", has_text="Extend").click()
    row.get_by_role("button", name="+15 min").click()
    expect(row.get_by_role("status")).to_have_text("Extended by 15 min.")
    elevation.refresh_from_db()
    assert (elevation.extensions, elevation.total_minutes) == (1, 75)
    assert same_document(page)

    row.locator("summary", has_text="Revoke").click()
    screenshot(page, "03-revoke-confirmation")
    row.get_by_role("button", name="Yes, revoke now").click()
    expect(row.locator("[data-state-badge]")).to_have_text("Revoked", timeout=LIVE_TIMEOUT)
    assert same_document(page)
    assert not row.locator("summary").count(), "no actions are left on a revoked elevation"
    screenshot(page, "04-my-elevations-revoked")

    row.get_by_role("link", name="erin-laptop").click()
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    timeline = page.locator(".timeline")
    for step in ("Requested", "Approved by policy", "Admin rights granted", "Extended", "Admin rights removed"):
        expect(timeline).to_contain_text(step)
    screenshot(page, "05-elevation-detail")

    # A short one on the other device: the countdown runs out and the row turns to expired by itself.
    surface = services.elevation_request(
        requester=employee, device=Device.objects.get(hostname="erin-surface"), minutes=15, reason="Quick fix"
    )
    wait_for(lambda: Elevation.objects.get(pk=surface.pk).state == State.ACTIVE, message="the grant")
    Elevation.objects.filter(pk=surface.pk).update(expires_at=now() + timedelta(seconds=4))
    page.goto(f"{live_server.url}/")
    mark_page(page)
    short = page.locator(f"#elevation-{surface.public_id}")
    expect(short.locator("[data-countdown]")).to_have_text(re.compile(r"0:0\d left"))
    expect(short.locator("[data-state-badge]")).to_have_text("Expired", timeout=LIVE_TIMEOUT)
    assert same_document(page)

    page.goto(f"{live_server.url}/request/")
    expect(page.get_by_text("last contact").first.or_(page.get_by_text("never seen").first)).to_be_visible()
    screenshot(page, "06-request-page")


def test_a_second_user_cannot_see_or_act_on_the_first_users_elevations(
    live_server, browser, employee, device, outsider, make_device, sign_in, screenshot
):
    elevation = services.elevation_request(requester=employee, device=device, minutes=60, reason="Printer driver")
    Elevation.objects.filter(pk=elevation.pk).update(state=State.ACTIVE)
    make_device(outsider, hostname="oscar-desktop")

    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    violations = watch_csp_violations(context)
    page = context.new_page()
    sign_in(page, outsider)
    expect(page.get_by_role("heading", name="My elevations")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("erin-laptop")
    expect(page.locator("label.device-option")).to_have_count(1)
    screenshot(page, "07-second-user-phone")

    detail = f"{live_server.url}/elevations/{elevation.public_id}/"
    assert page.goto(detail).status == 404
    token = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
    headers = {"X-CSRFToken": token, "HX-Request": "true", "Referer": f"{live_server.url}/"}
    for action in ("revoke", "extend"):
        response = page.request.post(f"{detail}{action}/", form={"minutes": "15"}, headers=headers)
        assert response.status == 404
    elevation.refresh_from_db()
    assert (elevation.state, elevation.extensions) == (State.ACTIVE, 0)
    context.close()
    assert violations == []


def test_every_action_works_as_a_plain_form_post_without_javascript(
    live_server, browser, employee, device, sign_in, screenshot
):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, employee)
    page.locator("#request-form label.device-option", has_text="erin-laptop").click()
    page.locator("#request-form label.chip", has_text="Custom").click()
    page.locator("#request-form").get_by_label("Custom length in minutes").fill("500")
    page.locator("#request-form").get_by_label("Why do you need admin rights?").fill("Rebuild the dev VM")
    page.locator("#request-form").get_by_role("button", name="Request admin rights").click()

    # Too long: the request page comes back with the error next to the field and the input kept.
    expect(page.locator("#id_custom_minutes-error")).to_contain_text("longer than the 4 h this policy allows")
    screenshot(page, "08-no-js-inline-error")
    page.get_by_label("Custom length in minutes").fill("90")
    page.get_by_role("button", name="Request admin rights").click()
    page.wait_for_url(f"{live_server.url}/")
    expect(page.locator(".flash-success")).to_contain_text("on their way")

    elevation = Elevation.objects.get(beneficiary=employee)
    assert elevation.requested_minutes == 90
    Elevation.objects.filter(pk=elevation.pk).update(state=State.ACTIVE)  # as the worker would
    page.reload()
    row = page.locator(f"#elevation-{elevation.public_id}")
    row.locator("summary", has_text="Extend").click()
    row.get_by_role("button", name="+1 h").click()
    expect(page.locator(".flash-success")).to_contain_text("Extended by 1 h.")
    row.locator("summary", has_text="Revoke").click()
    row.get_by_role("button", name="Yes, revoke now").click()
    expect(page.locator(".flash-success")).to_contain_text("Revoking admin rights")
    elevation.refresh_from_db()
    assert (elevation.state, elevation.extensions) == (State.REVOKING, 1)
    screenshot(page, "09-no-js-after-revoke")
    context.close()


def test_the_portal_can_be_used_with_the_keyboard_alone(live_server, page, employee, device, sign_in, screenshot):
    for n, state in enumerate([State.EXPIRED, State.REVOKED, State.FAILED, State.DENIED] * 3):
        done = services.elevation_request(requester=employee, device=device, minutes=15, reason=f"Earlier task {n}")
        Elevation.objects.filter(pk=done.pk).update(state=state, ended_at=now(), last_error="Device offline")
    sign_in(page, employee)
    expect(page.locator("#history")).to_contain_text("Page 1 of 2")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"

    page.locator("input[name=device]").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")  # into the duration presets, on the checked one
    assert page.evaluate("document.activeElement.value") == "60"
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.value") == "240"
    page.keyboard.press("Tab")
    page.keyboard.type("Keyboard-only request")
    page.keyboard.press("Tab")
    page.keyboard.type("IT-7")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")

    notice = page.locator("#request-form [data-swap-focus]")
    expect(notice).to_be_focused()  # the result is announced and focus is not lost
    elevation = Elevation.objects.get(beneficiary=employee, state=State.APPROVED)  # no worker here: queued
    assert (elevation.requested_minutes, elevation.ticket_ref) == (240, "IT-7")

    row = page.locator(f"#elevation-{elevation.public_id}")
    row.locator("summary", has_text="Extend").focus()
    page.keyboard.press("Enter")
    expect(row.get_by_role("button", name="+15 min")).to_be_focused()
    page.keyboard.press("Enter")
    expect(row.get_by_role("status")).to_have_text("Extended by 15 min.")
    expect(row.get_by_role("status")).to_be_focused()

    row.locator("summary", has_text="Cancel request").focus()
    page.keyboard.press("Enter")
    expect(row.locator("details[data-action=revoke]")).to_have_attribute("open", "")
    page.keyboard.press("Escape")
    expect(row.locator("details[data-action=revoke]")).not_to_have_attribute("open", "")
    expect(row.locator("summary", has_text="Cancel request")).to_be_focused()
    screenshot(page, "10-keyboard-and-history")

    page.locator("#history").get_by_role("link", name="Older").click()
    expect(page.locator("#history")).to_contain_text("Page 2 of 2")
    assert page.url.endswith("?page=2")
