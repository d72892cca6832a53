"""Each role's main job, end to end in chromium against a live server and a real Celery worker.

Every state change must show up without a reload (a flag set in the page survives), the console
must stay free of errors and CSP violations (strict_page), and every page passes axe-core with
no serious or critical violations, fits a 390 px phone and is saved at 1280 px and 390 px
(check_page; screenshots under var/test-artifacts/browser/).
"""

from __future__ import annotations

import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from playwright.sync_api import expect

from helpers import wait_for
from requests_app import services
from requests_app.lifecycle import State
from requests_app.models import Elevation, Policy

pytestmark = [pytest.mark.browser, pytest.mark.worker]

LIVE = 20_000  # ms: the worker grants and revokes in a few seconds; rows poll every 2 s


def give_mfa(user) -> None:
    TOTP.activate(user, generate_totp_secret())  # the staff pages ask helpdesk and admin for MFA


def mark_page(page) -> None:
    page.evaluate("window.__sameDocument = true")


def same_document(page) -> bool:
    return page.evaluate("window.__sameDocument === true")


@pytest.fixture
def approval_device(make_device, employee, default_policy):
    """A device whose group's policy needs an approver for anything over 30 minutes."""
    Policy.objects.create(
        name="Production servers",
        device_group="production",
        priority=10,
        allowed_durations=[15, 30, 60, 120],
        max_duration_minutes=120,
        requires_approval=True,
        auto_approve_up_to_minutes=30,
    )
    return make_device(employee, hostname="erin-prod-box", groups=["production"])


def test_employee_requests_extends_and_revokes_and_the_row_moves_to_history(
    live_server, strict_page, employee, device, worker_factory, sign_in, check_page
):
    page = strict_page
    worker_factory(beat=True, sweep_seconds=1)
    sign_in(page, employee)
    assert page.url == f"{live_server.url}/"
    check_page(page, "employee-01-first-visit")
    mark_page(page)

    # Request with the keyboard: device, the 1 h preset, a reason, submit.
    page.locator("input[name=device]").first.focus()
    page.keyboard.press("Space")
    page.get_by_label("Why do you need admin rights?").focus()
    page.keyboard.type("Install the VPN client")
    page.get_by_role("button", name="Request admin rights").focus()
    page.keyboard.press("Enter")
    elevation = wait_for(lambda: Elevation.objects.filter(beneficiary=employee).first(), message="the request")
    row = page.locator(f"#elevation-{elevation.public_id}")
    expect(row.locator("[data-state-badge]")).to_have_text("Active", timeout=LIVE)
    note = page.locator(f"#device-live-{device.public_id}")
    expect(note).to_have_text(re.compile("Already requested here"))
    expect(page.locator("#live-title .count")).to_have_text("1")

    # Extend with the keyboard.
    row.locator("summary", has_text="Extend").focus()
    page.keyboard.press("Enter")
    expect(row.get_by_role("button", name="+15 min")).to_be_focused()
    page.keyboard.press("Enter")
    expect(row.get_by_role("status")).to_have_text("Extended by 15 min.")
    check_page(page, "employee-02-active")

    # Revoke with the keyboard: the row leaves Current for History, the form forgets the device.
    row.locator("summary", has_text="Revoke").focus()
    page.keyboard.press("Enter")
    expect(row.get_by_label("Note for the audit trail (optional)")).to_be_focused()
    page.keyboard.press("Tab")
    expect(row.get_by_role("button", name="Yes, revoke now")).to_be_focused()
    page.keyboard.press("Enter")
    history = page.locator("#history")
    expect(history.get_by_role("row").filter(has_text="Revoked")).to_have_count(1, timeout=LIVE)
    expect(page.locator(f"#live-list #elevation-{elevation.public_id}")).to_have_count(0)
    expect(page.locator("#live-title .count")).to_have_text("0")
    expect(note).to_have_text("")
    expect(history).to_contain_text("1 h 15 min granted")
    assert same_document(page), "request, grant, extend, revoke and the move to History without a reload"
    check_page(page, "employee-03-revoked")

    page.goto(f"{live_server.url}/elevations/{elevation.public_id}/")
    check_page(page, "employee-04-detail")
    page.goto(f"{live_server.url}/request/")
    check_page(page, "employee-05-request-page")
    page.get_by_role("link", name="Account").click()
    expect(page.get_by_role("heading", name="Account settings")).to_be_visible()
    check_page(page, "employee-06-account")
    page.get_by_role("link", name="Notification preferences").click()
    expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    check_page(page, "employee-07-notifications")


def test_employee_schedules_a_later_start_and_cancels_it(live_server, strict_page, employee, device, sign_in):
    page = strict_page
    sign_in(page, employee)
    mark_page(page)
    page.locator("label.device-option", has_text="erin-laptop").click()
    page.locator("summary", has_text="Start later").click()
    page.get_by_label("Start at").fill("2099-01-01T09:00")
    page.get_by_label("Why do you need admin rights?").fill("Too far ahead")
    page.get_by_role("button", name="Request admin rights").click()
    expect(page.locator("#id_starts_at-error")).to_contain_text("Schedule at most 168 hours ahead")
    assert not Elevation.objects.exists()

    tomorrow = page.evaluate(
        "(() => { const d = new Date(Date.now() + 26 * 3600 * 1000); d.setMinutes(0, 0, 0);"
        " const p = (n) => String(n).padStart(2, '0');"
        " return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:00`; })()"
    )
    page.get_by_label("Start at").fill(tomorrow)
    page.get_by_label("Why do you need admin rights?").fill("Maintenance window")
    page.get_by_role("button", name="Request admin rights").click()
    expect(page.get_by_role("status").filter(has_text="scheduled")).to_be_visible()
    elevation = Elevation.objects.get(beneficiary=employee)
    assert elevation.state == State.APPROVED and elevation.activated_at is None
    row = page.locator(f"#elevation-{elevation.public_id}")
    expect(row).to_contain_text("Scheduled")
    row.locator("summary", has_text="Cancel request").click()
    row.get_by_role("button", name="Yes, cancel it").click()
    expect(page.locator("#history").get_by_role("row").filter(has_text="Cancelled")).to_have_count(1, timeout=LIVE)
    assert same_document(page)
    assert Elevation.objects.get(pk=elevation.pk).state == State.CANCELLED


def test_approver_lands_on_approvals_and_approves_with_the_keyboard(
    live_server, strict_page, employee, approver, approval_device, worker_factory, sign_in, check_page
):
    page = strict_page
    worker_factory(beat=True, sweep_seconds=1)
    first = services.elevation_request(requester=employee, device=approval_device, minutes=60, reason="Patch prod")
    assert first.state == State.PENDING_APPROVAL
    sign_in(page, approver)
    assert page.url == f"{live_server.url}/approvals/"
    mark_page(page)
    card = page.locator(f"#approval-{first.public_id}")
    expect(card).to_contain_text("1 h")
    check_page(page, "approver-01-queue")

    # A request that arrives while the page is open shows up by itself.
    Elevation.objects.filter(pk=first.pk).update(device=None)  # one live request per device
    second = services.elevation_request(requester=employee, device=approval_device, minutes=120, reason="Reindex")
    expect(page.locator(f"#approval-{second.public_id}")).to_contain_text("2 h", timeout=LIVE)

    page.get_by_label("Note (optional)").first.focus()
    page.keyboard.type("ok for the window")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#messages")).to_contain_text("Approved")
    expect(page.locator(f"#approval-{first.public_id}")).to_have_count(0)
    assert same_document(page)
    wait_for(lambda: Elevation.objects.get(pk=first.pk).state == State.ACTIVE, timeout=20, message="the grant")
    check_page(page, "approver-02-after-approve")


def test_helpdesk_grants_on_behalf_and_follows_it_live(
    live_server, strict_page, employee, helpdesk, device, worker_factory, sign_in_as, check_page
):
    page = strict_page
    give_mfa(helpdesk)
    worker_factory(beat=True, sweep_seconds=1)
    sign_in_as(page, helpdesk, "/helpdesk/")
    check_page(page, "helpdesk-01-console")
    page.get_by_label("Search people and devices").fill("erin")
    page.locator("#search-results").get_by_role("link", name="Erin", exact=True).click()
    expect(page.get_by_role("heading", name="Erin", exact=True)).to_be_visible()
    check_page(page, "helpdesk-02-person")
    mark_page(page)

    grant = page.locator("#grant-form")
    grant.get_by_label("How long").select_option(label="1 h")
    grant.get_by_label("Reason").fill("On the phone with Erin, ticket 7")
    grant.get_by_role("button", name="Grant").click()
    expect(page.locator("#messages")).to_contain_text("Granted")
    elevation = Elevation.objects.get(beneficiary=employee)
    row = page.locator(f"#hd-elevation-{elevation.public_id}")
    expect(row.locator("[data-state-badge]")).to_have_text("Active", timeout=LIVE)

    row.locator("summary", has_text="Extend").click()
    extend = row.locator("details[data-action=extend]")
    extend.get_by_label("Add").select_option(label="30 min")
    extend.get_by_label("Reason (required, audited)").fill("still installing")
    extend.get_by_role("button", name="Extend", exact=True).click()
    expect(page.locator("#messages")).to_contain_text("Extended")
    wait_for(lambda: Elevation.objects.get(pk=elevation.pk).total_minutes == 90, message="the extension")

    row = page.locator(f"#hd-elevation-{elevation.public_id}")
    row.locator("summary", has_text="Revoke").click()
    row.locator("details[data-action=revoke]").get_by_label("Reason (required, audited)").fill("done")
    row.get_by_role("button", name="Yes, revoke now").click()
    expect(page.locator(f"#hd-elevation-{elevation.public_id}")).to_have_count(0, timeout=LIVE)
    expect(page.locator("#helpdesk-live")).to_contain_text("No live elevations.")
    assert same_document(page)
    wait_for(lambda: Elevation.objects.get(pk=elevation.pk).state == State.REVOKED, message="the revoke")
    check_page(page, "helpdesk-03-after-revoke")

    page.goto(f"{live_server.url}/elevations/{elevation.public_id}/")
    crumbs = page.get_by_role("navigation", name="Breadcrumb")
    expect(crumbs).to_contain_text("Helpdesk")
    expect(crumbs).not_to_contain_text("My elevations")
    check_page(page, "helpdesk-04-someone-elses-elevation")
    page.goto(f"{live_server.url}/helpdesk/devices/{device.public_id}/")
    check_page(page, "helpdesk-05-device")
    page.goto(f"{live_server.url}/attestations/overdue/")
    check_page(page, "helpdesk-06-overdue-attestations")


def test_admin_breaks_glass_and_finds_the_django_admin(
    live_server, strict_page, employee, admin, device, worker_factory, sign_in_as, check_page
):
    page = strict_page
    give_mfa(admin)
    worker_factory(beat=True, sweep_seconds=1)
    sign_in_as(page, admin, f"/helpdesk/users/{employee.pk}/")
    mark_page(page)
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("#break-glass summary").click()
    form = page.locator("#break-glass form")
    form.get_by_label("Reason").fill("Production down, on call")
    form.get_by_role("button", name="Break glass").click()
    expect(page.locator("#messages")).to_contain_text("Break-glass elevation started")
    elevation = Elevation.objects.get(beneficiary=employee, break_glass=True)
    row = page.locator(f"#hd-elevation-{elevation.public_id}")
    expect(row.locator("[data-state-badge]")).to_have_text("Active", timeout=LIVE)
    expect(row).to_contain_text("break-glass")
    assert same_document(page)
    check_page(page, "admin-01-break-glass")

    page.get_by_role("link", name="Account").click()
    check_page(page, "admin-02-account")
    page.get_by_role("link", name="Django admin").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))


def test_auditor_lands_on_audit_and_filters_pages_and_sees_the_chain(
    live_server, strict_page, employee, outsider, auditor, device, make_device, make_elevation, sign_in, check_page
):
    page = strict_page
    other = make_device(outsider, hostname="oscar-desktop")
    for n in range(12):  # enough events for a second page
        make_elevation(employee, device, state=State.EXPIRED, reason=f"task {n}")
        services.elevation_request(requester=outsider, device=other, minutes=15, reason=f"oscar {n}")
        Elevation.objects.filter(beneficiary=outsider, state__in=[State.APPROVED, State.REQUESTED]).update(
            state=State.EXPIRED
        )
    sign_in(page, auditor)
    assert page.url == f"{live_server.url}/audit/"
    check_page(page, "auditor-01-dashboard")

    page.get_by_label("User (e-mail)").fill(employee.email)
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"user=erin"))
    results = page.locator("#audit-results")
    expect(results.get_by_role("heading", name="Top devices")).to_be_visible()
    expect(results).to_contain_text("erin-laptop")
    expect(results).not_to_contain_text("oscar-desktop")  # the devices follow the user filter

    page.goto(f"{live_server.url}/audit/")
    older = page.get_by_role("link", name="Older")
    older.click()
    expect(page).to_have_url(re.compile(r"before=\d+"))
    page.go_back()
    expect(page).not_to_have_url(re.compile(r"before="))
    expect(page.locator("#audit-chain")).to_be_visible()
    check_page(page, "auditor-02-older")
    for path, name in (("/reviews/", "reviews"), ("/evidence/", "evidence"), ("/audit/insights/", "insights")):
        page.goto(f"{live_server.url}{path}")
        check_page(page, f"auditor-03-{name}")


def test_sign_in_and_mfa_pages_wear_the_portals_look(live_server, strict_page, helpdesk, sign_in, check_page):
    page = strict_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("#local-login summary").click()
    check_page(page, "allauth-01-sign-in")
    sign_in(page, helpdesk)  # no MFA yet: the helpdesk console sends them to set it up
    expect(page).to_have_url(re.compile(r"/accounts/2fa/"))
    check_page(page, "allauth-02-mfa")
    activate = page.get_by_role("link", name="Activate")
    expect(activate).to_have_class(re.compile(r"\bbtn\b"))
    activate.click()
    expect(page.get_by_role("button").filter(has_text=re.compile("Activate|Confirm"))).to_have_class(
        re.compile(r"\bbtn-primary\b")
    )
    check_page(page, "allauth-03-totp-activate")
    page.get_by_role("link", name="Account").click()
    expect(page.get_by_role("link", name="Two-factor authentication")).to_be_visible()
