"""What `next-version` and `new` share: the folder read without a base required, the highest
version taken, and the next file name in the folder's style, one the project's own rules
accept."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from migration_gate.diagnostics import GateError

if TYPE_CHECKING:
    from migration_gate.migrations import MigrationFile
    from migration_gate.pipeline import CheckContext
    from migration_gate.runners.model import RunnerName, Version


def local_context(dir_flag: str | None, base_flag: str | None,
                  config_file: Path | None, runner_flag: RunnerName | None = None
                  ) -> CheckContext:
    """The folder and, when one is found, the base; quietly, since these commands print a name
    that scripts read."""
    from migration_gate.workspace import build_context

    def quiet(_message: str) -> None:
        return None

    return build_context(
        dir_flag=dir_flag, base_flag=base_flag, config_file=config_file, overrides={},
        note=quiet, base_optional=True, runner_flag=runner_flag,
    )


def highest(context: CheckContext, all_branches: bool) -> int:
    """The highest version taken here and on the base (burned versions and the branch's own
    block, as the plan places it, included; with `all_branches`, every remote-tracking
    branch's too): the next free version is one more."""
    others = other_branches_versions(context) if all_branches else set()
    plan = context.plan_with(others)
    if plan is not None:
        return plan.next_free - 1
    return max(context.highest_version, max(others, default=0))


def other_branches_versions(context: CheckContext) -> set[int]:
    """Every version on a remote-tracking branch (`--all-branches`)."""
    from migration_gate import gitbase
    from migration_gate.migrations import NamesOnly, discover
    from migration_gate.workspace import relative_to

    if context.repo_root is None:
        raise GateError("--all-branches needs a git repository")
    folder = relative_to(context.root / context.folder, context.repo_root)
    found: set[int] = set()
    for ref in gitbase.remote_tracking_refs(context.repo_root):
        tree = gitbase.GitTree(context.repo_root, ref, folder)
        files = discover(NamesOnly(tree), folder_path=folder, exclude=context.config.exclude)
        found |= {name.version for m in files if (name := m.name) is not None}
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
    if not context.is_refinery:
        return runner_file_name(context, description, all_branches)
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


def _taken(files: Iterable[MigrationFile]) -> list[Version]:
    return [m.runs_as.version for m in files
            if m.runs_as is not None and m.runs_as.version is not None]


def runner_next_version(context: CheckContext, all_branches: bool) -> Version:
    """A non-refinery runner's next version, in the project's own scheme (`3`, `1.3`, a
    timestamp), after every version here, on the base (and on every remote-tracking branch)."""
    from datetime import datetime

    from migration_gate import gitbase
    from migration_gate.migrations import NamesOnly, discover
    from migration_gate.workspace import relative_to

    taken = _taken((*context.local, *context.base_files))
    if all_branches:
        if context.repo_root is None:
            raise GateError("--all-branches needs a git repository")
        folder = relative_to(context.root / context.folder, context.repo_root)
        for ref in gitbase.remote_tracking_refs(context.repo_root):
            tree = gitbase.GitTree(context.repo_root, ref, folder)
            taken += _taken(discover(NamesOnly(tree), folder_path=folder,
                                     exclude=context.config.exclude, runner=context.runner))
    return context.runner.next_version(taken, datetime.now())


def runner_version_label(context: CheckContext, version: Version) -> str:
    """`V3`: the versioned prefix as the project's runner writes it, and the version."""
    from migration_gate.runners.model import Kind, ParsedMigration

    sample = context.runner.parse_name(context.runner.file_name(Kind.VERSIONED, version, "x"))
    prefix = sample.prefix if isinstance(sample, ParsedMigration) else "V"
    return f"{prefix}{version.text}"


def runner_file_name(context: CheckContext, description: str, all_branches: bool) -> str:
    """`V3__add-email.sql` for "add-email", in the runner's grammar."""
    from migration_gate.runners.model import Kind

    if not any(c.isalnum() for c in description):
        raise GateError(f"the description {description!r} has no letters or digits")
    version = runner_next_version(context, all_branches)
    return context.runner.file_name(Kind.VERSIONED, version, description)
