"""Durations as people type them (30m, 2h, 1h30m, 1d, or bare minutes): the `elevate` command
line and the Slack `/elevate` command read them alike. Plain Python: the CLI imports it too."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+)([dhm]?)")
_UNIT = {"d": 24 * 60, "h": 60, "m": 1, "": 1}


def parse_minutes(text: str) -> int:
    """Minutes in `text`; ValueError for anything else."""
    cleaned = text.strip().lower().replace(" ", "")
    if not cleaned or not re.fullmatch(r"(\d+[dhm]?)+", cleaned):
        raise ValueError(f"{text!r} is not a duration (e.g. 30m, 2h, 1h30m)")
    minutes = sum(int(number) * _UNIT[unit] for number, unit in _PART.findall(cleaned))
    if minutes <= 0:
        raise ValueError("a duration must be longer than zero")
    return minutes
