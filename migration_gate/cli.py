"""The command line: the `migration-gate` group, its error handling and the entry point.

Exit codes: 0 clean, 1 findings at the failing severity, 2 usage or environment error (one line
on stderr, never a traceback). The commands live in `migration_gate.commands`, one module each,
imported only when invoked, so that a pre-commit run pays for nothing it does not use.
"""

from __future__ import annotations

from typing import Any

import click

from migration_gate import __version__
from migration_gate.commands import COMMANDS, load_command
from migration_gate.diagnostics import GateError


class GateGroup(click.Group):
    """A group that loads commands lazily and turns user errors into one line and exit 2."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS:
            return load_command(cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GateError as error:
            click.echo(f"migration-gate: error: {error}", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo("migration-gate: interrupted", err=True)
            ctx.exit(130)


@click.group(cls=GateGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="migration-gate")
def cli() -> None:
    """A quality gate for refinery SQL migrations.

    Checks file names, versions and history against the base branch, lints the SQL, and
    replays the migrations in a throwaway database. Exit codes: 0 clean, 1 findings,
    2 usage or environment error.
    """


def main() -> None:
    cli(prog_name="migration-gate")
