"""The `duration` option type: 30m, 2h, 1h30m, 90 (minutes), 1d."""

from __future__ import annotations

import click

from requests_app.durations import parse_minutes


class Duration(click.ParamType):
    name = "duration"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            return parse_minutes(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
