"""The commands, one module each, and the one registry that names them.

A command's module is imported only when that command runs (or when `--help` lists them all):
a pre-commit run pays for `lint` alone, and `--version` for nothing. Each module defines a
`click.Command` under its own module name (`check.check`, `list_.list_`), so that the registry
below is the only place that maps what the user types to code.
"""

from __future__ import annotations

import importlib

import click

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


def load_command(name: str) -> click.Command:
    """The command registered as `name`, importing its module now."""
    module_name = COMMANDS[name]
    module = importlib.import_module(f"{__name__}.{module_name}")
    command = getattr(module, module_name, None)
    if not isinstance(command, click.Command):
        # a packaging or registry mistake, not a user error: fail loudly
        raise TypeError(f"{module.__name__}.{module_name} is not a click command")
    return command
