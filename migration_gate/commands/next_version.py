"""`migration-gate next-version`: the next free version, or the whole next file name."""

from __future__ import annotations

from pathlib import Path

import click

from migration_gate.commands.options import version_options
from migration_gate.console import echo
from migration_gate.runners.model import RunnerName


@click.command("next-version")
@click.argument("description", required=False)
@version_options
def next_version(description: str | None, dir_flag: str | None, base_flag: str | None,
                 config_file: Path | None, runner_flag: RunnerName | None,
                 all_branches: bool) -> None:
    """Print the next free version (V009), or with DESCRIPTION the whole file name."""
    from migration_gate.commands._versions import (
        local_context,
        next_file_name,
        next_free_version,
        runner_next_version,
        runner_version_label,
    )
    from migration_gate.pipeline import format_version

    context = local_context(dir_flag, base_flag, config_file, runner_flag)
    if description is None and not context.is_refinery:
        echo(runner_version_label(context, runner_next_version(context, all_branches)))
        return
    if description is None:
        echo(format_version(next_free_version(context, all_branches), context.padding))
        return
    echo(next_file_name(context, description, all_branches))
