"""An auditor in a real browser: works the review queue, then generates an evidence pack in a
real Celery worker, watches its progress and downloads the ZIP."""

from __future__ import annotations

import hashlib
import zipfile
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from requests_app.clock import now
from requests_app.lifecycle import State
from requests_app.models import AuditEvent, EvidencePack, ReviewItem
from requests_app.reviews.services import review_select

pytestmark = [pytest.mark.browser]


@pytest.fixture
def queue_items(employee, admin, device, make_elevation):
    """Two break-glass elevations that ended yesterday, in the review queue."""
    device.users.add(admin)
    ago = now() - timedelta(days=1)
    first = make_elevation(admin, device, state=State.REVOKED, break_glass=True, reason="Outage: restart the agent",
                           activated_at=ago, ended_at=ago)  # fmt: skip
    second = make_elevation(employee, device, state=State.EXPIRED, break_glass=True, reason="Database locked",
                            activated_at=ago, ended_at=ago)  # fmt: skip
    return review_select(elevation=first), review_select(elevation=second)


def test_an_auditor_signs_off_and_flags_in_the_review_queue(
    live_server, page, auditor, queue_items, sign_in, screenshot
):
    first, second = queue_items
    sign_in(page, auditor)
    page.get_by_role("link", name="Reviews").click()
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    first_item, second_item = page.locator(f"#review-{first.public_id}"), page.locator(f"#review-{second.public_id}")
    expect(first_item).to_contain_text("Outage: restart the agent")
    screenshot(page, "reviews-01-queue")

    first_item.get_by_role("button", name="Sign off").click()
    expect(page.locator(f"#review-{first.public_id} [data-review-status]")).to_have_text("Signed off")
    expect(page.locator(f"#review-{first.public_id}")).to_contain_text("Signed off.")

    second_item.get_by_role("button", name="Flag").click()  # no comment: refused, nothing changes
    expect(page.locator(f"#review-{second.public_id}")).to_contain_text("Add a comment")
    page.locator(f"#review-{second.public_id} textarea").fill("No incident ticket for this")
    page.locator(f"#review-{second.public_id}").get_by_role("button", name="Flag").click()
    expect(page.locator(f"#review-{second.public_id} [data-review-status]")).to_have_text("Flagged")
    expect(page.locator('[data-count="flagged"]')).to_have_text("1")  # the tabs follow, no reload
    expect(page.locator('[data-count="done"]')).to_have_text("1")
    screenshot(page, "reviews-02-decided")

    page.reload()  # flagged stays in the queue; signed off has left it
    expect(page.locator(f"#review-{second.public_id}")).to_be_visible()
    expect(page.locator(f"#review-{first.public_id}")).to_have_count(0)
    assert ReviewItem.objects.get(pk=second.pk).comment == "No incident ticket for this"
    assert AuditEvent.objects.filter(action__in=["review.signed_off", "review.flagged"], actor=auditor).count() == 2


@pytest.mark.worker
def test_an_auditor_generates_and_downloads_an_evidence_pack(
    live_server, page, auditor, queue_items, worker_factory, sign_in, screenshot, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"  # where the worker (ELEVATE_VAR_DIR=tmp_path) writes
    worker_factory()
    sign_in(page, auditor)
    page.goto(f"{live_server.url}/evidence/")
    today = now().date()
    page.get_by_label("From").fill(str(today - timedelta(days=7)))
    page.get_by_label("To (inclusive)").fill(str(today))
    page.get_by_role("button", name="Generate evidence pack").click()
    expect(page.get_by_role("status").filter(has_text="being generated")).to_be_visible()
    pack = EvidencePack.objects.get()
    row = page.locator(f"#pack-{pack.public_id}")
    expect(row.get_by_role("link", name="Download ZIP")).to_be_visible(timeout=60_000)  # polled, no reload
    screenshot(page, "evidence-01-ready")

    with page.expect_download() as download_info:
        row.get_by_role("link", name="Download ZIP").click()
    path = download_info.value.path()
    pack.refresh_from_db()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == pack.sha256
    with zipfile.ZipFile(path) as archive:
        assert "MANIFEST.sha256" in archive.namelist() and "summary.pdf" in archive.namelist()
        assert "Outage: restart the agent" in archive.read("break_glass.csv").decode()
    assert AuditEvent.objects.filter(action="evidence.downloaded", actor=auditor).count() == 1
