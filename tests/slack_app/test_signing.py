"""Slack's v0 request signature: the known answer, the 5-minute window both ways, replays, and
every malformed header refused with 401 before anything runs."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from django.core.cache import cache

from requests_app import clock
from requests_app.integrations.slack_app import signing
from requests_app.models import Elevation

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TIMESTAMP = "1531420618"
BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&"
    b"channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&"
    b"response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
    b"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
EXPECTED = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def test_slacks_known_answer_passes_once_and_its_replay_is_refused():
    cache.delete(f"slack-seen:{EXPECTED}")
    assert signing.signature(SECRET, TIMESTAMP, BODY) == EXPECTED
    assert signing.verify(SECRET, TIMESTAMP, EXPECTED, BODY, now=float(TIMESTAMP))
    assert not signing.verify(SECRET, TIMESTAMP, EXPECTED, BODY, now=float(TIMESTAMP))


@pytest.mark.parametrize(
    ("age", "accepted"), [(-301, False), (-299, True), (0, True), (299, True), (300, True), (301, False)]
)
def test_the_window_is_five_minutes_into_the_past_and_the_future(age, accepted):
    stamp = str(int(TIMESTAMP) - age)
    given = signing.signature(SECRET, stamp, BODY)
    cache.delete(f"slack-seen:{given}")
    assert signing.verify(SECRET, stamp, given, BODY, now=float(TIMESTAMP)) is accepted


@pytest.mark.parametrize(
    "tamper",
    ["other body", "flipped digit", "wrong secret", "v1 prefix", "no signature", "no timestamp", "words"],
)
def test_tampered_requests_are_refused(tamper):
    stamp, body, secret = TIMESTAMP, BODY, SECRET
    given = signing.signature(secret, stamp, body)
    if tamper == "other body":
        body = body + b"&x=1"
    elif tamper == "flipped digit":
        given = given[:-1] + ("0" if given[-1] != "0" else "1")
    elif tamper == "wrong secret":
        given = signing.signature("not-the-secret", stamp, body)
    elif tamper == "v1 prefix":
        given = "v1=" + given[3:]
    elif tamper == "no signature":
        given = None
    elif tamper == "no timestamp":
        stamp = None
    else:
        stamp = "soon"
    assert not signing.verify(secret, stamp, given, body, now=float(TIMESTAMP))


@pytest.mark.parametrize(("offset", "status"), [(-301, 401), (301, 401), (-299, 200), (299, 200)])
def test_over_http_a_command_more_than_five_minutes_off_gets_401_and_runs_nothing(
    workspace, employee, device, offset, status
):
    slack_id = workspace.sim.add_user(employee.email)
    frozen = int(time.time())
    clock.freeze(datetime.fromtimestamp(frozen, tz=UTC))  # the portal's clock, to the second
    answer = workspace.sim.slash_command(workspace.command_url, slack_id, "help", timestamp=frozen + offset)
    assert answer.status_code == status
    if status == 200:
        return

    assert not Elevation.objects.exists()
    assert workspace.sim.calls_made == []


def test_a_replayed_click_gets_401(workspace, employee, device):
    slack_id = workspace.sim.add_user(employee.email)
    first = workspace.sim.slash_command(workspace.command_url, slack_id, "devices", timestamp=int(time.time()))
    assert first.status_code == 200
    replay = workspace.sim._signed_post(workspace.command_url, {"user_id": slack_id, "text": "devices"}, timestamp=1)
    assert replay.status_code == 401
