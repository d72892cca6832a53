"""--wait: poll until the elevation is active (or ended), with a spinner on a terminal."""

from __future__ import annotations

import itertools
import sys
import time

import click

LIVE_WAITING = {"requested", "pending_approval", "approved", "granting"}
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def wait_until_settled(fetch, elevation: dict, *, timeout: float, interval: float = 1.0) -> tuple[dict, bool]:
    """Poll `fetch()` until the elevation leaves the waiting states; (last seen, timed out)."""
    deadline = time.monotonic() + timeout
    spin = itertools.cycle(SPINNER)
    show = sys.stderr.isatty()
    while elevation["state"] in LIVE_WAITING:
        if time.monotonic() >= deadline:
            _clear(show)
            return elevation, True
        if show:
            label = "waiting for approval" if elevation["state"] == "pending_approval" else "granting"
            click.echo(f"\r{next(spin)} {label}…", nl=False, err=True)
        time.sleep(interval)
        elevation = fetch()
    _clear(show)
    return elevation, False


def _clear(show: bool) -> None:
    if show:
        click.echo("\r\033[K", nl=False, err=True)
