"""`migration-gate next-version`: the next free version, or the whole next file name."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from migration_gate.commands.options import add_versions
from migration_gate.console import echo
from migration_gate.runners.model import RunnerName

if TYPE_CHECKING:
    from argparse import ArgumentParser


def add_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("description", nargs="?", metavar="DESCRIPTION")
    add_versions(parser)


def next_version(description: str | None, dir_flag: str | None, base_flag: str | None,
                 config_file: Path | None, runner_flag: RunnerName | None,
                 all_branches: bool) -> None:
    """Print the next free version (V009), or with DESCRIPTION the whole file name."""
    from migration_gate.commands._versions import (
        file_name,
        local_context,
        version_label,
    )
    from migration_gate.commands._versions import (
        next_version as next_free,
    )

    context = local_context(dir_flag, base_flag, config_file, runner_flag)
    if description is None:
        echo(version_label(context, next_free(context, all_branches)))
        return
    echo(file_name(context, description, all_branches))
