"""The command line's grammar: the group (`migration-gate [--version] [-h] COMMAND ...`), read
by hand, and each command's own `argparse` parser, built only for the command invoked.

A usage error (an unknown command or option, a bad choice, a missing argument) is one
`UsageError` that `migration_gate.cli` prints as one line and exit 2, never argparse's usage
block; help goes to standard output through `console.write_out`, whose failures the command
line reports like any other lost output.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from typing import NoReturn

from migration_gate.commands import COMMANDS, Command, cleandoc, load_command
from migration_gate.console import write_out

PROG = "migration-gate"

#: The group's help, above the list of commands.
GROUP_HELP = """A quality gate for refinery SQL migrations.

Checks file names, versions and history against the base branch, lints the SQL, and replays
the migrations in a throwaway database. Exit codes: 0 clean, 1 findings, 2 usage or
environment error."""

#: Help is wrapped to the terminal, at most this wide (as click did: long lines read badly).
MAX_WIDTH = 80


class UsageError(Exception):
    """What the user typed is not a command line the gate reads: one line, exit 2."""


def version_line() -> str:
    from migration_gate import __version__

    return f"{PROG}, version {__version__}\n"


@functools.cache
def help_width() -> int:
    """The terminal's width, at most `MAX_WIDTH` (`$COLUMNS` first, as `shutil` reads it,
    without importing shutil: argparse asks for a formatter at every `add_argument`)."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = MAX_WIDTH
    return max(min(columns, MAX_WIDTH) - 2, 40)


class HelpFormatter(argparse.HelpFormatter):
    """argparse's layout, with the paragraphs of a docstring kept apart (argparse would join
    them) and the width set without `shutil.get_terminal_size`."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32, width=help_width())

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        fill = super()._fill_text
        return "\n\n".join(fill(p, width, indent) for p in text.split("\n\n") if p.strip())


class GateParser(argparse.ArgumentParser):
    """A command's parser: errors raised as `UsageError`, help written as all output is."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}; see `{self.prog} --help`")

    def print_help(self, file: object = None) -> None:
        write_out(self.format_help())


def command_parser(command: Command) -> GateParser:
    """The parser of one command, `-h/--help` included; click's behaviour kept where argparse
    differs: no abbreviated options (`--no-v` is not `--no-verify`)."""
    parser = GateParser(prog=f"{PROG} {command.name}", description=command.help,
                        formatter_class=HelpFormatter, allow_abbrev=False)
    command.add_arguments(parser)
    return parser


def parse(command: Command, argv: list[str]) -> dict[str, object]:
    """The command's keyword arguments: options and arguments in any order (as click read
    them: `lint a.sql --dialect mysql b.sql`), lists as tuples. After `--` everything is an
    argument (`lint -- -odd.sql`, `new -- -x`), which argparse's intermixed parsing mishandles
    (it keeps the `--` or drops what follows): such a command line is read in order."""
    parser = command_parser(command)
    namespace = parser.parse_args(argv) if "--" in argv else parser.parse_intermixed_args(argv)
    return {key: tuple(value) if isinstance(value, list) else value
            for key, value in vars(namespace).items()}


def split_group(argv: list[str]) -> tuple[str | None, str | None, list[str]]:
    """(the group option that answers alone, the command, its arguments). The group's own
    options (`--version`, `-h/--help`) come before the command; the first one wins."""
    for index, arg in enumerate(argv):
        if arg in ("-h", "--help", "--version"):
            return arg, None, []
        if arg == "--":
            continue
        if arg.startswith("-") and arg != "-":
            raise UsageError(f"unrecognized option {arg!r}; see `{PROG} --help`")
        return None, arg, argv[index + 1:]
    raise UsageError(f"no command given; `{PROG} --help` lists them")


def find_command(name: str) -> Command:
    """The command called `name`, or a usage error that suggests the nearest one."""
    if name in COMMANDS:
        return load_command(name)
    import difflib

    close = difflib.get_close_matches(name, list(COMMANDS), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise UsageError(f"unknown command {name!r}{hint}; `{PROG} --help` lists them")


def group_help() -> str:
    """The group's help: usage, what the gate does, its options and every command with its
    summary (this imports every command's module: only `--help` pays for it)."""
    width = help_width()
    formatter = HelpFormatter(PROG)
    lines = [f"usage: {PROG} [-h] [--version] COMMAND [ARGS]...", "",
             formatter._fill_text(cleandoc(GROUP_HELP), width, ""), "", "options:",
             "  -h, --help     show this help message and exit",
             "  --version      show the version and exit", "", "Commands:"]
    names = sorted(COMMANDS)
    column = max(len(name) for name in names) + 4
    for name in names:
        summary = _shortened(load_command(name).summary, width - column)
        lines.append(f"  {name:<{column - 2}}{summary}")
    return "\n".join(lines) + "\n"


def _shortened(text: str, limit: int) -> str:
    """`text` cut at a word to fit `limit` columns, with `...` when cut (click's short help)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 3].rsplit(" ", 1)[0].rstrip(",;:")
    return f"{cut}..."
