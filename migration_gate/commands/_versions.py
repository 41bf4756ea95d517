"""What `next-version` and `new` share: the folder read without a base required, the highest
version taken, and the next file name in the folder's style, one the project's own rules
accept."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from migration_gate.diagnostics import GateError

if TYPE_CHECKING:
    from migration_gate.pipeline import CheckContext


def local_context(dir_flag: str | None, base_flag: str | None,
                  config_file: Path | None) -> CheckContext:
    """The folder and, when one is found, the base; quietly, since these commands print a name
    that scripts read."""
    from migration_gate.workspace import build_context

    def quiet(_message: str) -> None:
        return None

    return build_context(
        dir_flag=dir_flag, base_flag=base_flag, config_file=config_file, overrides={},
        note=quiet, base_optional=True,
    )


def highest(context: CheckContext, all_branches: bool) -> int:
    """The highest version taken here and on the base (and on every remote-tracking branch)."""
    from migration_gate import gitbase
    from migration_gate.migrations import NamesOnly, discover, max_version
    from migration_gate.workspace import relative_to

    found = context.highest_version
    if all_branches:
        if context.repo_root is None:
            raise GateError("--all-branches needs a git repository")
        folder = relative_to(context.root / context.folder, context.repo_root)
        for ref in gitbase.remote_tracking_refs(context.repo_root):
            tree = gitbase.GitTree(context.repo_root, ref, folder)
            files = discover(NamesOnly(tree), folder_path=folder,
                             exclude=context.config.exclude)
            found = max(found, max_version(files))
    return found


def next_free_version(context: CheckContext, all_branches: bool) -> int:
    """The version after the highest, if refinery can still read it: its versions are 32-bit
    signed integers (64-bit with the `int8-versions` feature), and a larger one makes it
    refuse the file."""
    from migration_gate.refinery import INT32_MAX, INT64_MAX

    taken = highest(context, all_branches)
    int8 = context.config.int8_versions
    limit = INT64_MAX if int8 else INT32_MAX
    if taken + 1 <= limit:
        return taken + 1
    if int8:
        raise GateError(f"the version space is exhausted: V{taken} is the highest version "
                        "refinery accepts; renumber the migrations not yet deployed")
    raise GateError(
        f"the version space is exhausted: V{taken} is the highest version refinery accepts "
        "(a 32-bit signed integer); renumber the migrations not yet deployed below it, or "
        "enable refinery's `int8-versions` feature and set `int8-versions: true`"
    )


def next_file_name(context: CheckContext, description: str, all_branches: bool) -> str:
    """`V009__add_profiles.sql` for "add profiles": the next free version, the folder's style,
    and a name that `naming-style` accepts (what was changed to get one is said on stderr)."""
    from migration_gate.console import say
    from migration_gate.patterns import conforming_name
    from migration_gate.pipeline import normalise_description, suggest_file_name

    name = normalise_description(description)
    if not name:
        raise GateError(f"the description {description!r} has no letters or digits")
    conforming, changes = conforming_name(name, context.config.name_pattern)
    for change in changes:
        say(change)
    return suggest_file_name(next_free_version(context, all_branches), conforming, context.padding)
