"""`migration-gate new`: the next migration file, created from a template."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from migration_gate.commands.options import add_versions
from migration_gate.console import echo, say
from migration_gate.diagnostics import GateError
from migration_gate.runners.model import RunnerName

if TYPE_CHECKING:
    from argparse import ArgumentParser


def add_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("description", metavar="DESCRIPTION")
    add_versions(parser)


def new(description: str, dir_flag: str | None, base_flag: str | None,
        config_file: Path | None, runner_flag: RunnerName | None, all_branches: bool) -> None:
    """Create the next migration file from a template and print its path."""
    from migration_gate import gitbase
    from migration_gate.commands._versions import file_name as next_file_name
    from migration_gate.commands._versions import local_context

    _start_folder(dir_flag, config_file)
    context = local_context(dir_flag, base_flag, config_file, runner_flag)
    file_name = next_file_name(context, description, all_branches)
    target = context.root / context.folder / file_name
    author = ""
    if context.repo_root is not None:
        user = gitbase.config_value(context.repo_root, "user.name")
        email = gitbase.config_value(context.repo_root, "user.email")
        author = " ".join(part for part in (user, f"<{email}>" if email else None) if part)
    header = [comment_line(description)]
    if comment_line(author) != "--":
        header.append(comment_line(f"author: {author}"))
    header.append(f"-- date: {date.today().isoformat()}")
    try:
        with target.open("x", encoding="utf-8") as handle:
            handle.write("\n".join(header) + "\n\n")
    except FileExistsError:
        raise GateError(f"{target} already exists") from None
    except OSError as error:
        raise GateError(f"cannot create {target}: {error.strerror}") from None
    echo(os.path.relpath(target))


def comment_line(text: str) -> str:
    """`-- text` on one line, whatever `text` holds: a line break (LF, CR, U+2028, vertical
    tab...) would turn the rest into SQL that runs, and other control characters have no place
    in a file. Bytes that are not UTF-8 (possible in arguments) become U+FFFD."""
    import unicodedata

    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    kept = "".join(" " if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") else char
                   for char in text)
    return " ".join(["--", *kept.split()])


def _start_folder(dir_flag: str | None, config_file: Path | None) -> None:
    """`new` in a project without migrations yet creates the configured (or default) folder,
    as `sqlx migrate add` and `dbmate new` do, instead of refusing the very first migration.
    An explicit `--dir` that does not exist stays an error: it is more likely a typo."""
    from migration_gate.workspace import load, the_one_project

    if dir_flag:
        return
    config, _repo_root = load(config_file=config_file)
    folder = config.migrations_path
    if folder.exists() or folder.is_symlink():
        return  # what is there (a file, a dangling link) is judged by the usual checks
    if "dir" not in config.explicit_keys and the_one_project(config) is not None:
        return  # a project found here (flyway.conf's location): its folder (several: error)
    try:
        folder.mkdir(parents=True)
    except OSError as error:
        raise GateError(f"cannot create the migrations folder {folder}: {error.strerror}"
                        ) from None
    say(f"created the migrations folder {os.path.relpath(folder)}")
