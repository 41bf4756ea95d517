"""The commands, one module each, and the one registry that names them.

A command's module is imported only when that command runs (or when `--help` lists them all):
a pre-commit run pays for `lint` alone, and `--version` for nothing. Each module declares two
things, and nothing of a command-line library:

* `add_arguments(parser)`: its options and arguments, with `parser.add_argument` alone (the
  shared ones come from `commands.options`), each with the `dest` its function takes; the
  parser is argparse's, or a recorder that reads plain command lines without it
  (`_parser.read_plainly`);
* a function under its own module name (`check.check`, `list_.list_`), called with the parsed
  options as keyword arguments; its docstring is the command's help, its first sentence the
  summary the group's `--help` lists.

The registry below is the only place that maps what the user types to code; `migration_gate.cli`
parses the command line with it. argparse and not click (issue 16): click took 14–30 ms of a warm
`check` (30–45 ms imported alone), argparse and our parser 3–5 ms; pre-commit itself uses it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

#: What the user types → the module of this package that defines the command (as an attribute
#: of the same name). A new command is one module plus one line here.
COMMANDS: dict[str, str] = {
    "check": "check",
    "lint": "lint",
    "verify": "verify",
    "status": "status",
    "next-version": "next_version",
    "new": "new",
    "renumber": "renumber",
    "list": "list_",
    "rules": "rules",
    "install-hooks": "install_hooks",
    "comment": "comment",
}


@dataclass(frozen=True)
class Command:
    """One command as its module declares it: its parser's arguments and its function."""

    name: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    function: Callable[..., object]

    @property
    def help(self) -> str:
        """The function's docstring, as `inspect.cleandoc` would give it (without importing
        inspect, 12 ms, on every run: the parser is built before `--help` is known)."""
        return cleandoc(self.function.__doc__ or "")

    @property
    def summary(self) -> str:
        """The help's first sentence (or first paragraph), on one line."""
        paragraph = " ".join(self.help.split("\n\n", 1)[0].split())
        sentence = paragraph.split(". ", 1)[0]
        return sentence if sentence.endswith(".") else f"{sentence}."


def load_command(name: str) -> Command:
    """The command registered as `name`, importing its module now."""
    module_name = COMMANDS[name]
    qualified = f"{__name__}.{module_name}"
    # `__import__`, not `importlib.import_module`: `python -X importtime` sees only the former
    # (tests and profiles of the start-up read it)
    __import__(qualified)
    module = sys.modules[qualified]
    function = getattr(module, module_name, None)
    add_arguments = getattr(module, "add_arguments", None)
    if not callable(function) or not callable(add_arguments):
        # a packaging or registry mistake, not a user error: fail loudly
        raise TypeError(f"{module.__name__} defines no {module_name}() and add_arguments()")
    return Command(name, add_arguments, function)


def cleandoc(doc: str) -> str:
    """A docstring without its indentation and surrounding blank lines (`inspect.cleandoc`)."""
    lines = doc.expandtabs().split("\n")
    indents = [len(line) - len(line.lstrip()) for line in lines[1:] if line.strip()]
    margin = min(indents, default=0)
    lines = [lines[0].strip(), *(line[margin:].rstrip() for line in lines[1:])]
    return "\n".join(lines).strip("\n")
