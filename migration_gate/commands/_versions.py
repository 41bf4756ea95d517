"""What `next-version` and `new` share: the folder read without a base required, the highest
version taken, and the next file name in the folder's style."""

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


def next_file_name(context: CheckContext, description: str, all_branches: bool) -> str:
    """`V009__add_profiles.sql` for "add profiles": the next free version, the folder's style."""
    from migration_gate.pipeline import normalise_description, suggest_file_name

    name = normalise_description(description)
    if not name:
        raise GateError(f"the description {description!r} has no letters or digits")
    return suggest_file_name(highest(context, all_branches) + 1, name, context.padding)
