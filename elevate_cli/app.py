"""The console script: the command group with every command module's commands."""

from elevate_cli import approvals, elevations
from elevate_cli.base import cli

__all__ = ["approvals", "cli", "elevations", "main"]


def main() -> None:
    cli()
