"""The `elevate` command group, its shared options and error handling, and login/logout."""

from __future__ import annotations

import functools
import sys

import click

from elevate_cli import config, exits
from elevate_cli.client import Api, ApiError
from elevate_cli.output import emit_json

EPILOG = """\b
Examples:
  elevate login --url https://elevate.example.com
  elevate devices
  elevate request erin-macbook --for 30m --reason "Install the printer driver" --wait
  elevate status
  elevate extend 6f1c2a9e --by 30m
  elevate revoke 6f1c2a9e
  elevate --json status | jq '.[].expires_at'

\b
Exit codes: 0 done, 1 error, 2 bad arguments, 3 not signed in, 4 not allowed,
5 not found, 6 refused by policy, 7 portal unavailable, 8 not granted (--wait),
9 timed out (--wait).
"""


class State:
    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def api(self) -> Api:
        settings = config.load()
        if settings is None:
            raise ApiError("Not signed in. Run: elevate login --url URL", exits.NOT_SIGNED_IN)
        return Api(settings.url, settings.token)


def current_state() -> State:
    """The options of this run (cli() makes them before any command runs)."""
    state = click.get_current_context().find_object(State)
    assert state is not None
    return state


@click.group(epilog=EPILOG)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text (for scripts).")
@click.version_option(package_name="elevate", prog_name="elevate")
@click.pass_context
def cli(ctx, as_json: bool) -> None:
    """Just-in-time admin rights from the terminal: ask, wait, extend, revoke, approve."""
    ctx.obj = State(as_json)


def json_option(command):
    """`--json` after the command name too (`elevate status --json`)."""

    @click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
    @functools.wraps(command)
    def wrapper(*args, as_json: bool = False, **kwargs):
        state = current_state()
        state.as_json = state.as_json or as_json
        return command(*args, **kwargs)

    return wrapper


def handled(command):
    """Refusals become a message on stderr and their exit code (and a problem on --json)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ApiError as exc:
            state = current_state()
            if state is not None and state.as_json:
                emit_json({"error": exc.message, "errors": exc.errors, "exit_code": exc.exit_code})
            click.echo(f"elevate: {exc.message}", err=True)
            for field, messages in exc.errors.items():
                for message in messages:
                    click.echo(f"  {field}: {message}", err=True)
            sys.exit(exc.exit_code)

    return wrapper


@cli.command(
    epilog="\b\nExamples:\n  elevate login --url https://elevate.example.com\n  echo $TOKEN | elevate login --url https://elevate.example.com"
)
@click.option("--url", required=True, help="The portal's address, e.g. https://elevate.example.com")
@click.option("--token", help="A personal access token (Settings → API tokens); asked for when left out.")
@json_option
@handled
def login(url: str, token: str | None) -> None:
    """Check a personal access token and keep it for the next commands."""
    if token is None:
        token = click.prompt("Token", hide_input=True) if sys.stdin.isatty() else sys.stdin.readline()
    token, url = token.strip(), url.rstrip("/")
    me = Api(url, token).get("me")
    where = config.save(url, token)
    state = current_state()
    if state.as_json:
        emit_json(me)
        return
    click.echo(f"Signed in to {url} as {me['email']} (scopes: {', '.join(me['scopes'])}); token kept in {where}.")


@cli.command()
@json_option
def logout() -> None:
    """Forget the stored token (revoke it on the portal's API tokens page)."""
    config.forget()
    click.echo("Signed out.")
