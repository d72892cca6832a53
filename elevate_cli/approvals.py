"""approvals, approve, deny."""

from __future__ import annotations

import click

from elevate_cli.base import cli, current_state, handled, json_option
from elevate_cli.elevations import resolve
from elevate_cli.output import emit_json, local_time, table


@cli.command(epilog="\b\nExamples:\n  elevate approvals\n  elevate approvals --json")
@json_option
@handled
def approvals() -> None:
    """Requests waiting for your decision, oldest first."""
    rows = current_state().api().get("approvals")
    if current_state().as_json:
        return emit_json(rows)
    shown = [{**row, "decide_by": local_time(row["decide_by"]), "for": f"{row['requested_minutes']}m"} for row in rows]
    columns = [("ID", "id"), ("WHO", "beneficiary"), ("TARGET", "target"), ("FOR", "for")]
    table(shown, [*columns, ("DECIDE BY", "decide_by"), ("REASON", "reason")])


def _decide(verb: str, elevation_id: str, reason: str) -> None:
    api = current_state().api()
    elevation = api.post(f"approvals/{resolve(api, elevation_id, path='approvals')}/{verb}", {"reason": reason})
    if current_state().as_json:
        return emit_json(elevation)
    click.echo(f"{verb.capitalize()}d: {elevation['beneficiary']} on {elevation['target']} ({elevation['state']}).")


@cli.command(epilog='\b\nExamples:\n  elevate approve 6f1c2a9e\n  elevate approve 6f1c2a9e --reason "On call tonight"')
@click.argument("elevation_id")
@click.option("--reason", default="", help="A note for the requester (optional).")
@json_option
@handled
def approve(elevation_id: str, reason: str) -> None:
    """Approve a request."""
    _decide("approve", elevation_id, reason)


@cli.command(epilog='\b\nExamples:\n  elevate deny 6f1c2a9e --reason "Use the shared build box instead"')
@click.argument("elevation_id")
@click.option("--reason", required=True, help="Why (the requester is told).")
@json_option
@handled
def deny(elevation_id: str, reason: str) -> None:
    """Deny a request."""
    _decide("deny", elevation_id, reason)
