"""devices, request, status, extend, revoke."""

from __future__ import annotations

import sys
import uuid

import click

from elevate_cli import exits
from elevate_cli.base import cli, current_state, handled, json_option
from elevate_cli.client import Api, ApiError
from elevate_cli.durations import Duration
from elevate_cli.output import ELEVATION_COLUMNS, describe, elevation_rows, emit_json, local_time, table
from elevate_cli.waiting import wait_until_settled

ENDED_WITHOUT_RIGHTS = {"denied", "failed", "cancelled"}


def resolve(api: Api, given: str, *, path: str = "elevations", **params) -> str:
    """A full id, or the one live elevation (or queue entry) whose id starts with `given`."""
    try:
        return str(uuid.UUID(given))
    except ValueError:
        pass
    rows = api.get(path, **params)
    rows = rows["results"] if isinstance(rows, dict) else rows
    matches = [row["id"] for row in rows if row["id"].startswith(given.lower())]
    if len(matches) != 1:
        found = "No" if not matches else "More than one"
        raise ApiError(f"{found} elevation has an id starting with {given!r}; give more of it.", exits.NOT_FOUND)
    return matches[0]


@cli.command(epilog="\b\nExamples:\n  elevate devices\n  elevate devices --json")
@json_option
@handled
def devices() -> None:
    """List the devices you may ask admin rights on."""
    rows = current_state().api().get("devices")
    if current_state().as_json:
        return emit_json(rows)
    table(rows, [("HOSTNAME", "hostname"), ("OS", "os"), ("PROVIDER", "provider"), ("ID", "id")])


@cli.command(
    epilog="\b\nExamples:\n"
    '  elevate request erin-macbook --for 30m --reason "Install the printer driver"\n'
    '  elevate request erin-macbook --for 2h --reason "Rebuild the toolchain" --ticket IT-1234 --wait'
)
@click.argument("device")
@click.option("--for", "minutes", type=Duration(), required=True, help="How long: 30m, 2h, 1h30m.")
@click.option("--reason", required=True, help="Why you need admin rights (approvers and the audit trail see it).")
@click.option("--ticket", default="", help="A ticket reference, e.g. IT-1234.")
@click.option("--wait", is_flag=True, help="Wait until the rights are active and print the expiry.")
@click.option("--timeout", type=Duration(), default="15m", show_default=True, help="How long --wait waits.")
@json_option
@handled
def request(device: str, minutes: int, reason: str, ticket: str, wait: bool, timeout: int) -> None:
    """Ask for admin rights on DEVICE (hostname or id). A live elevation there is extended instead."""
    api = current_state().api()
    body = {"device": device, "minutes": minutes, "reason": reason, "ticket": ticket}
    elevation = api.post("elevations", body)
    if wait:
        elevation, timed_out = wait_until_settled(
            lambda: api.get(f"elevations/{elevation['id']}"), elevation, timeout=timeout * 60
        )
        _report(elevation)
        if timed_out:
            click.echo(f"elevate: still {elevation['state'].replace('_', ' ')} after the timeout.", err=True)
            sys.exit(exits.TIMED_OUT)
        if elevation["state"] != "active":
            sys.exit(exits.NOT_GRANTED)
        return
    _report(elevation)


def _report(elevation: dict) -> None:
    if current_state().as_json:
        return emit_json(elevation)
    if elevation.get("outcome") == "extended":
        click.echo(f"You already had admin rights on {elevation['target']}: they were extended instead.")
    click.echo(describe(elevation))
    if elevation.get("last_error") and elevation["state"] in ENDED_WITHOUT_RIGHTS:
        click.echo(elevation["last_error"])


@cli.command(epilog="\b\nExamples:\n  elevate status\n  elevate status 6f1c2a9e\n  elevate status --all --json")
@click.argument("elevation_id", required=False)
@click.option("--all", "everything", is_flag=True, help="Include ended elevations (newest first).")
@json_option
@handled
def status(elevation_id: str | None, everything: bool) -> None:
    """Your live elevations, or one elevation in detail."""
    api = current_state().api()
    if elevation_id:
        elevation = api.get(f"elevations/{resolve(api, elevation_id, state='live')}")
        if current_state().as_json:
            return emit_json(elevation)
        for label, key in (("ID", "id"), ("Target", "target"), ("State", "state"), ("Reason", "reason")):
            click.echo(f"{label + ':':9} {elevation[key]}")
        click.echo(f"{'Expires:':9} {local_time(elevation['expires_at'])}")
        return
    rows = api.get("elevations", state=None if everything else "live")["results"]
    if current_state().as_json:
        return emit_json(rows)
    table(elevation_rows(rows), ELEVATION_COLUMNS)


@cli.command(epilog="\b\nExamples:\n  elevate extend 6f1c2a9e --by 30m\n  elevate extend 6f1c2a9e --by 1h --json")
@click.argument("elevation_id")
@click.option("--by", "minutes", type=Duration(), required=True, help="How much longer (one of the policy's steps).")
@click.option("--reason", default="", help="Why (required when it is someone else's).")
@json_option
@handled
def extend(elevation_id: str, minutes: int, reason: str) -> None:
    """Push an elevation's expiry later."""
    api = current_state().api()
    elevation = api.post(
        f"elevations/{resolve(api, elevation_id, state='live')}/extend", {"minutes": minutes, "reason": reason}
    )
    if current_state().as_json:
        return emit_json(elevation)
    click.echo(f"Extended: admin rights on {elevation['target']} until {local_time(elevation['expires_at'])}.")


@cli.command(epilog='\b\nExamples:\n  elevate revoke 6f1c2a9e\n  elevate revoke 6f1c2a9e --reason "Done early"')
@click.argument("elevation_id")
@click.option("--reason", default="", help="Why (required when it is someone else's).")
@json_option
@handled
def revoke(elevation_id: str, reason: str) -> None:
    """End an elevation now (a request not yet granted is cancelled)."""
    api = current_state().api()
    elevation = api.post(f"elevations/{resolve(api, elevation_id, state='live')}/revoke", {"reason": reason})
    if current_state().as_json:
        return emit_json(elevation)
    ended = "Cancelled" if elevation["state"] == "cancelled" else "Revoking"
    click.echo(f"{ended}: {elevation['target']}.")
