"""The argparse side of the command line: a command's parser and the help layout, imported only
when `_parser.read_plainly` cannot read the command line itself (help, `--`, a usage error,
an option it does not know): a plain `check` never imports argparse or gettext."""

from __future__ import annotations

import argparse
from typing import NoReturn

from migration_gate.commands import Command
from migration_gate.commands._parser import PROG, UsageError, help_width
from migration_gate.commands.options import BOOLEAN_OPTIONAL
from migration_gate.console import write_out


class HelpFormatter(argparse.HelpFormatter):
    """argparse's layout, with the paragraphs of a docstring kept apart (argparse would join
    them) and the width set without `shutil.get_terminal_size`."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32, width=help_width())

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        fill = super()._fill_text
        return "\n\n".join(fill(p, width, indent) for p in text.split("\n\n") if p.strip())


class GateParser(argparse.ArgumentParser):
    """A command's parser: errors raised as `UsageError`, help written as all output is;
    `action=BOOLEAN_OPTIONAL` is argparse's `--x/--no-x` pair."""

    def __init__(self, **settings: object) -> None:
        super().__init__(**settings)  # type: ignore[arg-type]
        self.register("action", BOOLEAN_OPTIONAL, argparse.BooleanOptionalAction)

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
