"""`elevate` as installed, against a live portal: login, devices, request, status, extend,
revoke, approvals, --json and the exit codes scripts rely on."""

from __future__ import annotations

import json
import stat

import pytest

from requests_app.lifecycle import State
from requests_app.models import Elevation, Policy

pytestmark = pytest.mark.django_db(transaction=True)


def test_login_keeps_the_token_in_a_private_file(terminal, employee):
    me = terminal()
    signed_in = me.login(employee)
    assert signed_in.code == 0, signed_in.err
    assert "erin@example.com" in signed_in.out
    config = me.home / "elevate" / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert json.loads(config.read_text())["token"].startswith("elv_")


def test_a_bad_token_is_refused_and_nothing_is_kept(terminal, employee):
    me = terminal()
    refused = me.run("login", "--url", me.url, "--token", "elv_bad_token")
    assert refused.code == 3
    assert "login" in refused.err
    assert not (me.home / "elevate" / "config.json").exists()


def test_without_login_every_command_says_so(terminal):
    result = terminal().run("status")
    assert result.code == 3
    assert "elevate login" in result.err


def test_request_status_extend_revoke(terminal, employee, device):
    me = terminal()
    me.login(employee)
    assert "erin-laptop" in me.run("devices").out

    asked = me.run("request", "erin-laptop", "--for", "1h", "--reason", "Install a driver", "--ticket", "IT-1")
    assert asked.code == 0, asked.err
    assert "on their way" in asked.out
    elevation = Elevation.objects.get()
    assert elevation.source == Elevation.Source.API and elevation.ticket_ref == "IT-1"

    listed = json.loads(me.run("status", "--json").out)
    assert [row["id"] for row in listed] == [str(elevation.public_id)]

    short = str(elevation.public_id)[:8]
    extended = me.run("extend", short, "--by", "15m")
    assert extended.code == 0, extended.err
    assert Elevation.objects.get().extensions == 1

    refused = me.run("extend", short, "--by", "45m")
    assert refused.code == 6
    assert "minutes" in refused.err

    revoked = me.run("--json", "revoke", short)
    assert revoked.code == 0, revoked.err
    assert json.loads(revoked.out)["state"] in (State.CANCELLED, State.REVOKING)


def test_refusals_have_their_own_exit_codes(terminal, employee, outsider, device, make_device, make_elevation):
    me = terminal()
    me.login(employee)
    unknown_device = me.run("request", "nobodys-pc", "--for", "30m", "--reason", "x")
    assert unknown_device.code == 6
    assert "device: Pick one of your own devices." in unknown_device.err
    theirs = make_elevation(outsider, make_device(outsider))
    assert me.run("revoke", str(theirs.public_id)).code == 5
    assert me.run("approvals").code == 4  # the token has no approve scope
    assert me.run("request", "erin-laptop", "--for", "soon", "--reason", "x").code == 2


def test_request_wait_prints_the_expiry_once_active(terminal, employee, device, worker):
    me = terminal()
    me.login(employee)
    waited = me.run("request", "erin-laptop", "--for", "30m", "--reason", "Driver", "--wait", "--timeout", "1m")
    assert waited.code == 0, waited.err + waited.out
    assert "Admin rights on erin-laptop until" in waited.out
    assert Elevation.objects.get().state == State.ACTIVE


def test_an_approver_denies_from_the_terminal_and_the_waiting_requester_is_told(
    terminal, employee, approver, with_mfa, device
):
    Policy.objects.filter(is_default=True).update(requires_approval=True)
    with_mfa(approver)
    requester, decider = terminal("erin"), terminal("avery")
    requester.login(employee)
    decider.login(approver, "read", "approve")

    waiting = requester.start(
        "request", "erin-laptop", "--for", "1h", "--reason", "Driver", "--wait", "--timeout", "1m"
    )
    queue = []
    for _ in range(100):
        queue = json.loads(decider.run("--json", "approvals").out)
        if queue:
            break
    assert [row["target"] for row in queue] == ["erin-laptop"]

    denied = decider.run("deny", queue[0]["id"][:8], "--reason", "Use the build box")
    assert denied.code == 0, denied.err
    out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 8, err
    assert "denied" in out


def test_help_shows_examples(terminal):
    for command in ([], ["request"], ["approve"]):
        shown = terminal().run(*command, "--help")
        assert shown.code == 0
        assert "Examples:" in shown.out
