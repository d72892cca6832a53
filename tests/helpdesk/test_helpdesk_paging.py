"""The console lists live elevations a page at a time, soonest expiry first, by keyset, with the
pager swapping only its own region under htmx; actions return to the page they were taken on."""

from datetime import timedelta

import pytest
from django.urls import reverse

from requests_app.clock import now
from requests_app.helpdesk import selectors
from requests_app.lifecycle import State
from requests_app.models import Elevation

pytestmark = pytest.mark.usefixtures("staff_mfa")
SIZE = selectors.LIVE_PAGE_SIZE
CONSOLE = "/helpdesk/"
HTMX_LIVE = {"HX-Request": "true", "HX-Target": "console-live"}


@pytest.fixture
def many_live(employee, make_device, default_policy):
    """SIZE * 2 + 3 live elevations, each on its own device, expiring a minute apart (the first
    two at the same instant, so the keyset's tie-break on id matters)."""
    current = now()
    rows = []
    for n in range(SIZE * 2 + 3):
        device = make_device(employee, hostname=f"host-{n:03d}")
        rows.append(
            Elevation.objects.create(
                requester=employee, beneficiary=employee, connection=device.connection, device=device,
                target_label=device.hostname, reason="work", requested_minutes=60, total_minutes=60,
                starts_at=current, expires_at=current + timedelta(minutes=10 + max(n, 1)), state=State.ACTIVE,
                created_at=current, updated_at=current, activated_at=current, policy=default_policy,
            )
        )  # fmt: skip
    Elevation.objects.create(  # an ended one is never listed
        requester=employee, beneficiary=employee, connection=rows[0].connection, device=rows[0].device,
        reason="old", requested_minutes=60, total_minutes=60, starts_at=current, expires_at=current,
        state=State.EXPIRED, created_at=current, updated_at=current,
    )  # fmt: skip
    return rows


def listed(body: str, rows) -> list[int]:
    return [n for n, e in enumerate(rows) if f"hd-elevation-{e.public_id}" in body]


def test_the_first_page_is_the_soonest_to_expire_with_the_total(helpdesk_client, many_live):
    body = helpdesk_client.get(CONSOLE).content.decode()
    assert listed(body, many_live) == list(range(SIZE))
    assert f'aria-label="{len(many_live)} in all"' in body
    assert 'rel="next"' in body and 'rel="prev"' not in body


def test_the_first_page_and_its_total_are_one_query(helpdesk_client, many_live):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        body = helpdesk_client.get(CONSOLE).content.decode()
    on_elevations = [q["sql"] for q in captured if 'FROM "requests_app_elevation"' in q["sql"]]
    assert len(on_elevations) == 1 and "COUNT(" in on_elevations[0]
    assert f'aria-label="{len(many_live)} in all"' in body


def test_an_empty_console_says_none_are_live(helpdesk_client, db):
    page = selectors.live_page()
    assert (page.rows, page.total, page.later, page.sooner) == ([], 0, None, None)
    assert helpdesk_client.get(CONSOLE).status_code == 200


def test_later_and_sooner_walk_the_pages_by_keyset(helpdesk_client, many_live):
    first = selectors.live_page()
    second = helpdesk_client.get(CONSOLE, {"after": first.later}, headers=HTMX_LIVE)
    body = second.content.decode()
    assert body.lstrip().startswith('<section id="console-live"') and "<html" not in body
    assert listed(body, many_live) == list(range(SIZE, SIZE * 2))
    page = selectors.live_page(after=first.later)
    third = helpdesk_client.get(CONSOLE, {"after": page.later}).content.decode()
    assert listed(third, many_live) == list(range(SIZE * 2, SIZE * 2 + 3))
    assert 'rel="next"' not in third
    back = selectors.live_page(before=selectors.live_page(after=page.later).sooner)
    assert [e.pk for e in back.rows] == [e.pk for e in many_live[SIZE : SIZE * 2]]


def test_sooner_from_near_the_start_gives_the_first_page(many_live):
    page = selectors.live_page(before=selectors.cursor_of(many_live[3]))
    assert [e.pk for e in page.rows] == [e.pk for e in many_live[:SIZE]]
    assert page.sooner is None


def test_a_cursor_past_the_end_or_malformed_gives_the_first_page(many_live):
    first = [e.pk for e in many_live[:SIZE]]
    assert [e.pk for e in selectors.live_page(after=selectors.cursor_of(many_live[-1])).rows] == first
    for junk in ("", "x", "12-", "-3", "1.5-2"):
        assert [e.pk for e in selectors.live_page(after=junk, before=junk).rows] == first


def test_actions_on_a_later_page_come_back_to_it(helpdesk_client, many_live):
    later = selectors.live_page().later
    body = helpdesk_client.get(CONSOLE, {"after": later}).content.decode()
    assert f'name="next" value="/helpdesk/?after={later}"' in body
    target = many_live[SIZE]
    response = helpdesk_client.post(
        reverse("helpdesk:extend", args=[target.public_id]),
        {"minutes": 15, "reason": "still patching", "next": f"/helpdesk/?after={later}"},
    )
    assert response["Location"] == f"/helpdesk/?after={later}"


def test_paging_keeps_the_search(helpdesk_client, many_live):
    body = helpdesk_client.get(CONSOLE, {"q": "host"}).content.decode()
    assert "q=host&amp;after=" in body


def test_each_row_keeps_its_forms_and_a_valid_csrf_field(helpdesk_client, many_live):
    helpdesk_client.handler.enforce_csrf_checks = True
    body = helpdesk_client.get(CONSOLE).content.decode()
    target = many_live[0]
    assert f'action="{reverse("helpdesk:extend", args=[target.public_id])}"' in body
    assert f'hx-post="{reverse("helpdesk:revoke", args=[target.public_id])}"' in body
    assert f'href="{reverse("helpdesk:user", args=[target.beneficiary_id])}"' in body
    assert f'href="{reverse("helpdesk:device", args=[target.device.public_id])}"' in body
    table = body.split('id="live-elevations"')[1].split("</table>")[0]
    token = table.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    # Two forms a row, each with this response's token.
    assert table.count(f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">') == SIZE * 2
    response = helpdesk_client.post(
        reverse("helpdesk:revoke", args=[target.public_id]), {"reason": "INC-1", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.state == State.REVOKING


def test_the_page_costs_the_same_queries_with_many_live(helpdesk_client, employee, make_device, many_live):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        helpdesk_client.get(CONSOLE)
    for n in range(SIZE):
        device = make_device(employee, hostname=f"more-{n}")
        Elevation.objects.create(
            requester=employee, beneficiary=employee, connection=device.connection, device=device,
            reason="work", requested_minutes=60, total_minutes=60, starts_at=now(),
            expires_at=now() + timedelta(minutes=1), state=State.ACTIVE, created_at=now(), updated_at=now(),
        )  # fmt: skip
    with CaptureQueriesContext(connection) as more:
        helpdesk_client.get(CONSOLE)
    assert len(more) == len(few)


def test_a_row_granted_on_someone_elses_behalf_names_who_asked(helpdesk_client, helpdesk, employee, device, many_live):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as own:
        helpdesk_client.get(CONSOLE)
    first = many_live[0]
    Elevation.objects.filter(pk=first.pk).update(requester=helpdesk)
    with CaptureQueriesContext(connection) as on_behalf:
        body = helpdesk_client.get(CONSOLE).content.decode()
    row = body.split(f'id="hd-elevation-{first.public_id}"')[1].split("</tr>")[0]
    assert f"<small>by {helpdesk}</small>" in row
    assert body.count("<small>by ") == 1
    assert len(on_behalf) == len(own) + 1  # the requesters who are not the beneficiary, in one query
