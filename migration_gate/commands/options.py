"""The options several commands share, declared once so that their names, destinations and
help texts cannot drift apart between commands. Each adds its options to a command's parser in
the order `--help` lists them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from migration_gate.types import DIALECTS, FORMATS

if TYPE_CHECKING:
    from argparse import ArgumentParser

#: `action=BOOLEAN_OPTIONAL`: a `--x/--no-x` pair (argparse's `BooleanOptionalAction`, which
#: the command's parser registers under this name: declaring it imports no argparse).
BOOLEAN_OPTIONAL = "boolean_optional"


def add_dialect(parser: ArgumentParser, help_text: str) -> None:
    """--dialect, restricted to the dialects the gate knows."""
    parser.add_argument("--dialect", choices=list(DIALECTS), help=help_text)


def add_runner(parser: ArgumentParser) -> None:
    """--runner: which migration runner applies the folder (default: detected)."""
    from migration_gate.runners.model import RUNNER_NAMES

    parser.add_argument(
        "--runner", dest="runner_flag", choices=list(RUNNER_NAMES),
        help="Migration runner (default: configured `runner`, else detected from the project).",
    )


def add_config(parser: ArgumentParser, help_text: str | None = None) -> None:
    """--config: the configuration file, instead of the one found from the current folder."""
    parser.add_argument("--config", dest="config_file", type=Path, metavar="PATH",
                        help=help_text)


def add_folder(parser: ArgumentParser) -> None:
    """--dir, --base, --dialect, --runner and --config: where the migrations are, what applies
    them and what to compare with."""
    parser.add_argument("--dir", dest="dir_flag", metavar="DIR",
                        help="Migrations folder (default: configured `dir`, else `migrations`).")
    parser.add_argument("--base", dest="base_flag", metavar="REF",
                        help="Base branch or commit; compared at the merge-base with HEAD.")
    add_dialect(parser, "SQL dialect (default: refinery.toml's db_type, else postgres).")
    add_runner(parser)
    add_config(parser, "Configuration file (.migration-gate.yaml or a TOML file).")


def add_report(parser: ArgumentParser) -> None:
    """--format, --output and --fail-on."""
    parser.add_argument("--format", dest="fmt", choices=list(FORMATS),
                        help="Report format (default: text; github inside GitHub Actions).")
    parser.add_argument("--output", type=Path, metavar="FILE",
                        help="Write the report to FILE; the terminal still shows the text view.")
    parser.add_argument("--fail-on", dest="fail_on", choices=["error", "warning"],
                        help="Lowest severity that fails the run (default: error).")


def add_versions(parser: ArgumentParser) -> None:
    """--dir, --base, --config, --runner and --all-branches: where the next version is looked
    for."""
    parser.add_argument("--dir", dest="dir_flag", metavar="DIR", help="Migrations folder.")
    parser.add_argument("--base", dest="base_flag", metavar="REF",
                        help="Base branch (its versions count too).")
    add_config(parser)
    add_runner(parser)
    parser.add_argument("--all-branches", dest="all_branches", action="store_true",
                        help="Also count the versions on every remote-tracking branch.")


def add_text_or_json(parser: ArgumentParser) -> None:
    """--format for the commands that print a listing: text (default) or JSON."""
    parser.add_argument("--format", dest="fmt", choices=["text", "json"], default="text")
