"""Printing: aligned tables for people, JSON for scripts, times in the local time zone."""

from __future__ import annotations

import json
from datetime import datetime

import click


def local_time(value: str | None) -> str:
    if not value:
        return "-"
    return datetime.fromisoformat(value).astimezone().strftime("%Y-%m-%d %H:%M %Z")


def emit_json(data) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


def table(rows: list[dict], columns: list[tuple[str, str]]) -> None:
    """Rows as columns (header, key); an empty list says so."""
    if not rows:
        click.echo("Nothing to show.")
        return
    cells = [[str(row.get(key, "") or "-") for _, key in columns] for row in rows]
    widths = [max(len(header), *(len(line[i]) for line in cells)) for i, (header, _) in enumerate(columns)]
    click.echo("  ".join(header.ljust(widths[i]) for i, (header, _) in enumerate(columns)).rstrip())
    for line in cells:
        click.echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())


def elevation_rows(elevations: list[dict]) -> list[dict]:
    return [{**e, "expires": local_time(e["expires_at"])} for e in elevations]


ELEVATION_COLUMNS = [("ID", "id"), ("TARGET", "target"), ("STATE", "state"), ("EXPIRES", "expires")]


def describe(elevation: dict) -> str:
    """One line about an elevation, as the portal would say it."""
    target, state = elevation["target"], elevation["state"]
    if state == "active":
        return f"Admin rights on {target} until {local_time(elevation['expires_at'])}."
    if state == "pending_approval":
        return f"Your request for {target} is waiting for approval ({elevation['id']})."
    if state in ("approved", "granting"):
        return f"Admin rights on {target} are on their way ({elevation['id']})."
    return f"{target}: {state.replace('_', ' ')}."
