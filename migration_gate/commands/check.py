"""`migration-gate check`: every stage on the migrations folder, one report."""

from __future__ import annotations

from pathlib import Path

import click

from migration_gate.commands._finish import finish
from migration_gate.commands.options import folder_options, report_options
from migration_gate.types import Dialect


@click.command()
@folder_options
@report_options
@click.option("--verify/--no-verify", "verify", default=None,
              help="Replay in an ephemeral database (default: when one can be had).")
@click.option("--all", "lint_all", is_flag=True,
              help="Lint every migration, not only those added or changed versus the base.")
@click.option("--database-url", metavar="URL",
              help="Replay in a throwaway database on this server instead of an embedded one.")
def check(
    dir_flag: str | None, base_flag: str | None, dialect: Dialect | None,
    config_file: Path | None, fmt: str | None, output: Path | None, fail_on: str | None,
    verify: bool | None, lint_all: bool, database_url: str | None,
) -> None:
    """Run every rule on the migrations folder: names, history, SQL and the database replay."""
    from migration_gate.pipeline import NoteCollector, Result, run_header, run_stages
    from migration_gate.stages import check_stages, stages_named
    from migration_gate.workspace import build_context

    if database_url and verify is None:
        verify = True  # a server named on the command line is a replay asked for, not a maybe
    note = NoteCollector()

    context = build_context(
        dir_flag=dir_flag, base_flag=base_flag, config_file=config_file,
        overrides={"dialect": dialect, "fail_on": fail_on, "database_url": database_url},
        lint_all=lint_all, verify=verify, note=note,
    )
    names = check_stages(verify)
    diagnostics = run_stages(context, stages_named(names))
    result = Result(tuple(diagnostics), files_checked=len(context.local),
                    notes=tuple(note.notes), header=run_header(context, names, note.notes))
    finish(result, fmt=fmt, output=output, root=context.root,
           fail_on=context.config.fail_on, command="check")
