"""The click options several commands share, declared once so that their names and help texts
cannot drift apart between commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from migration_gate.types import DIALECTS, FORMATS

F = TypeVar("F", bound=Callable[..., Any])


def _apply(function: F, decorators: tuple[Callable[[F], F], ...]) -> F:
    """Apply option decorators so that `--help` lists them in the order given."""
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


def dialect_option(help_text: str) -> Callable[[F], F]:
    """--dialect, restricted to the dialects the gate knows."""
    return click.option("--dialect", type=click.Choice(list(DIALECTS)), help=help_text)


def runner_option(function: F) -> F:
    """--runner: which migration runner applies the folder (default: detected)."""
    from migration_gate.runners.model import RUNNER_NAMES

    return click.option(
        "--runner", "runner_flag", type=click.Choice(list(RUNNER_NAMES)),
        help="Migration runner (default: configured `runner`, else detected from the project).",
    )(function)


def folder_options(function: F) -> F:
    """--dir, --base, --dialect, --runner and --config: where the migrations are, what applies
    them and what to compare with."""
    return _apply(function, (
        click.option("--dir", "dir_flag", metavar="DIR",
                     help="Migrations folder (default: configured `dir`, else `migrations`)."),
        click.option("--base", "base_flag", metavar="REF",
                     help="Base branch or commit; compared at the merge-base with HEAD."),
        dialect_option("SQL dialect (default: refinery.toml's db_type, else postgres)."),
        runner_option,
        click.option("--config", "config_file", type=click.Path(path_type=Path),
                     help="Configuration file (.migration-gate.yaml or a TOML file)."),
    ))


def report_options(function: F) -> F:
    """--format, --output and --fail-on."""
    return _apply(function, (
        click.option("--format", "fmt",
                     type=click.Choice(list(FORMATS)),
                     help="Report format (default: text; github inside GitHub Actions)."),
        click.option("--output", type=click.Path(path_type=Path), metavar="FILE",
                     help="Write the report to FILE; the terminal still shows the text view."),
        click.option("--fail-on", type=click.Choice(["error", "warning"]),
                     help="Lowest severity that fails the run (default: error)."),
    ))


def version_options(function: F) -> F:
    """--dir, --base, --config and --all-branches: where the next version is looked for."""
    return _apply(function, (
        click.option("--dir", "dir_flag", metavar="DIR", help="Migrations folder."),
        click.option("--base", "base_flag", metavar="REF",
                     help="Base branch (its versions count too)."),
        click.option("--config", "config_file", type=click.Path(path_type=Path)),
        runner_option,
        click.option("--all-branches", is_flag=True,
                     help="Also count the versions on every remote-tracking branch."),
    ))
