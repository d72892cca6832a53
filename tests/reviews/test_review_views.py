"""The review queue page: auditors only; sign off and flag by plain POST or htmx."""

from __future__ import annotations

import pytest

from requests_app.models import AuditEvent, ReviewItem
from requests_app.reviews.services import review_flag, review_select

QUEUE = "/reviews/"


@pytest.fixture
def item(ended):
    return review_select(elevation=ended(break_glass=True, reason="Outage: restart the agent"))


def test_auditors_see_the_queue_with_the_reason_and_why_it_is_there(auditor_client, item):
    page = auditor_client.get(QUEUE).content.decode()
    assert f'id="review-{item.public_id}"' in page
    assert "Outage: restart the agent" in page and "Break-glass" in page


def test_other_roles_are_refused_the_queue(employee_client, helpdesk, helpdesk_client, item, with_mfa):
    with_mfa(helpdesk)  # else sent to set it up first, as on every staff page
    assert employee_client.get(QUEUE).status_code == 403
    assert helpdesk_client.post(f"/reviews/{item.public_id}/decide/", {"decision": "sign_off"}).status_code == 403
    assert ReviewItem.objects.get(pk=item.pk).status == "open"


def test_deciding_takes_post_only(auditor_client, item):
    assert auditor_client.get(f"/reviews/{item.public_id}/decide/").status_code == 405


def test_signing_off_by_plain_post_redirects_with_a_message(auditor_client, item):
    response = auditor_client.post(f"/reviews/{item.public_id}/decide/", {"decision": "sign_off"}, follow=True)
    assert "Signed off." in response.content.decode()
    assert ReviewItem.objects.get(pk=item.pk).status == "signed_off"
    assert f'id="review-{item.public_id}"' not in auditor_client.get(QUEUE).content.decode()
    assert f'id="review-{item.public_id}"' in auditor_client.get(QUEUE + "?view=done").content.decode()


def test_flagging_by_htmx_swaps_the_item_and_a_missing_comment_changes_nothing(auditor_client, item):
    url = f"/reviews/{item.public_id}/decide/"
    refused = auditor_client.post(url, {"decision": "flag", "comment": ""}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 200 and "Add a comment" in refused.content.decode()
    assert not AuditEvent.objects.filter(action="review.flagged").exists()
    flagged = auditor_client.post(url, {"decision": "flag", "comment": "No ticket"}, HTTP_HX_REQUEST="true")
    body = flagged.content.decode()
    assert body.lstrip().startswith("<article") and 'data-status="flagged"' in body and "Resolve" in body
    assert 'id="review-tabs" hx-swap-oob="true"' in body and '<span class="count" data-count="flagged">1</span>' in body


def test_flagged_items_stay_at_the_top_of_the_queue_until_resolved(auditor, auditor_client, item, ended):
    later = review_select(elevation=ended(break_glass=True))
    review_flag(item=later, reviewer=auditor, comment="Looks odd")
    page = auditor_client.get(QUEUE).content.decode()
    assert page.index(f"review-{later.public_id}") < page.index(f"review-{item.public_id}")
