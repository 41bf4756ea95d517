"""The command line's grammar: the group (`migration-gate [--version] [-h] COMMAND ...`), read
by hand, and each command's own arguments: a plain command line (`check --no-verify`, `lint
a.sql`) read here from what the command declares (`read_plainly`), anything else by the
command's `argparse` parser (`_argparse`), built only then.

A usage error (an unknown command or option, a bad choice, a missing argument) is one
`UsageError` that `migration_gate.cli` prints as one line and exit 2, never argparse's usage
block; help goes to standard output through `console.write_out`, whose failures the command
line reports like any other lost output.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from migration_gate.commands import COMMANDS, Command, cleandoc, load_command
from migration_gate.commands.options import BOOLEAN_OPTIONAL

if TYPE_CHECKING:
    from argparse import ArgumentParser

    from migration_gate.commands._argparse import GateParser

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


def command_parser(command: Command) -> GateParser:
    """The command's argparse parser (`_argparse.command_parser`)."""
    from migration_gate.commands._argparse import command_parser as build

    return build(command)


def parse(command: Command, argv: list[str]) -> dict[str, object]:
    """The command's keyword arguments: options and arguments in any order (as click read
    them: `lint a.sql --dialect mysql b.sql`), lists as tuples. After `--` everything is an
    argument (`lint -- -odd.sql`, `new -- -x`), which argparse's intermixed parsing mishandles
    (it keeps the `--` or drops what follows): such a command line is read in order."""
    plain = read_plainly(command, argv)
    if plain is not None:
        return plain
    parser = command_parser(command)
    namespace = parser.parse_args(argv) if "--" in argv else parser.parse_intermixed_args(argv)
    return {key: tuple(value) if isinstance(value, list) else value
            for key, value in vars(namespace).items()}


#: What `_Argument.read` answers for a value argparse would refuse.
_REFUSED = object()


class _Argument:
    """One argument as `add_argument` declared it, in the subset `read_plainly` reads."""

    __slots__ = ("action", "choices", "convert", "default", "dest", "nargs", "required")

    def __init__(self, names: tuple[str, ...], settings: dict[str, object]) -> None:
        self.action = settings.get("action") or "store"
        self.nargs = settings.get("nargs")
        self.choices = cast("list[object] | None", settings.get("choices"))
        self.convert = cast("Callable[[str], object] | None", settings.get("type"))
        self.required = bool(settings.get("required"))
        dest = settings.get("dest")
        # argparse's: the first long option without its dashes, `-` as `_`; a positional's name
        self.dest = cast(str, dest) if dest else names[0].lstrip("-").replace("-", "_")
        default = settings.get("default")
        self.default = False if default is None and self.action == "store_true" else default

    def read(self, text: str) -> object:
        """The value of `text` (converted, then checked against the choices, as argparse
        does), or `_REFUSED`."""
        try:
            value = self.convert(text) if self.convert is not None else text
        except Exception:  # argparse's message is the one to show: it reads the line again
            return _REFUSED
        if self.choices is not None and value not in self.choices:
            return _REFUSED
        return value

    def unset(self) -> object:
        """The value when the command line does not give it (a string default converted, as
        argparse converts it)."""
        if isinstance(self.default, str) and self.convert is not None:
            return self.convert(self.default)
        return self.default


#: The `add_argument` settings `read_plainly` knows; a command using another is read by argparse.
_KNOWN = frozenset({"action", "choices", "default", "dest", "help", "metavar", "nargs",
                    "required", "type"})


class _Declared:
    """A command's arguments, recorded by its `add_arguments` in place of an argparse parser
    (it calls `add_argument` only)."""

    def __init__(self) -> None:
        self.options: dict[str, _Argument] = {}  # every option string, `--no-x` included
        self.arguments: list[_Argument] = []
        self.positionals: list[_Argument] = []
        self.plain = True

    def add_argument(self, *names: str, **settings: object) -> None:
        argument = _Argument(names, settings)
        self.arguments.append(argument)
        if not settings.keys() <= _KNOWN or argument.action not in (
                "store", "store_true", BOOLEAN_OPTIONAL):
            self.plain = False
        elif not names[0].startswith("-"):
            self.positionals.append(argument)
            self.plain = self.plain and argument.nargs in (None, "?", "*") and (
                argument.action == "store")
        elif argument.nargs is not None or not all(n.startswith("--") for n in names):
            self.plain = False
        for name in names if names[0].startswith("-") else ():
            self.options[name] = argument
            if argument.action == BOOLEAN_OPTIONAL:
                self.options[f"--no-{name[2:]}"] = argument


def read_plainly(command: Command, argv: list[str]) -> dict[str, object] | None:
    """The command's keyword arguments for a plain command line, read without argparse (its
    import and gettext's, gettext's lookups, the parser's construction: ~4 ms of a warm check):
    `--name`, `--no-name`, `--name VALUE`, `--name=VALUE` and the arguments, in any order.
    None for anything else (help, `--`, a short, unknown or abbreviated option, a value that
    starts with `-`, is empty or is refused, a missing or extra argument): argparse then
    reads the line, and says what is wrong with it."""
    declared = _Declared()
    try:
        command.add_arguments(cast("ArgumentParser", declared))
    except AttributeError:  # it asks the parser for more than `add_argument`
        return None
    if not declared.plain or len(declared.positionals) > 1:
        return None
    values: dict[str, object] = {}
    loose: list[str] = []
    index = 0
    while index < len(argv):
        token = argv[index]
        index += 1
        if token == "-" or (token and not token.startswith("-")):
            loose.append(token)
            continue
        name, equals, text = token.partition("=")
        argument = declared.options.get(name)
        if argument is None:
            return None
        if argument.action != "store":
            if equals:
                return None
            # argparse's `BooleanOptionalAction`: `--no-x` is False (`--no-cache` is a flag)
            values[argument.dest] = argument.action == "store_true" or not name.startswith(
                "--no-")
            continue
        if not equals:
            if index == len(argv):
                return None
            text = argv[index]
            index += 1
        value = argument.read(text) if text and not text.startswith("-") else _REFUSED
        if value is _REFUSED:
            return None
        values[argument.dest] = value
    if not _take_loose(declared, loose, values):
        return None
    for argument in declared.arguments:
        if argument.dest not in values:
            if argument.required:
                return None
            values[argument.dest] = argument.unset()
    return {key: tuple(value) if isinstance(value, list) else value
            for key, value in values.items()}


def _take_loose(declared: _Declared, loose: list[str], values: dict[str, object]) -> bool:
    """The arguments that are not options, into the command's positional (one value, an
    optional one, or any number); False when argparse would refuse them."""
    if not declared.positionals:
        return not loose
    positional = declared.positionals[0]
    if len(loose) > (1 if positional.nargs in (None, "?") else len(loose)) or (
            positional.nargs is None and not loose):
        return False
    read = [positional.read(text) for text in loose]
    if _REFUSED in read:
        return False
    if positional.nargs == "*":
        default = positional.unset()
        values[positional.dest] = read if read or default is None else default
    elif read:
        values[positional.dest] = read[0]
    return True


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
    from migration_gate.commands._argparse import HelpFormatter

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
