"""What `next-version`, `new` and `renumber` share: the folder read without a base required,
the versions taken, and the next version and file name, both asked of the project's runner
(refinery `V009__add_profiles.sql`, Flyway `V1.3__add profiles.sql` or a timestamp)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from migration_gate.diagnostics import GateError

if TYPE_CHECKING:
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


def other_branches_versions(context: CheckContext) -> set[Version]:
    """Every version on a remote-tracking branch (`--all-branches`), as the runner reads it."""
    from migration_gate import gitbase
    from migration_gate.basefiles import relative_to
    from migration_gate.migrations import NamesOnly, discover
    from migration_gate.runners.refinery import padded_version

    if context.repo_root is None:
        raise GateError("--all-branches needs a git repository")
    folder = relative_to(context.root / context.folder, context.repo_root)
    runner = None if context.is_refinery else context.runner
    found: set[Version] = set()
    for ref in gitbase.remote_tracking_refs(context.repo_root):
        tree = gitbase.GitTree(context.repo_root, ref, folder)
        files = discover(NamesOnly(tree), folder_path=folder, exclude=context.config.exclude,
                         runner=runner)
        if runner is None:
            found |= {padded_version(name.version, context.padding)
                      for m in files if (name := m.name) is not None}
        else:
            found |= {parsed.version for m in files
                      if (parsed := m.runs_as) is not None and parsed.version is not None}
    return found


def next_version(context: CheckContext, all_branches: bool) -> Version:
    """The version after every one taken here and on the base (burned versions and the
    branch's own block, as the plan places it, included; with `all_branches`, every
    remote-tracking branch's too), in the project's scheme, if the runner can still read it
    (refinery's versions are 32-bit signed integers, 64-bit with `int8-versions`)."""
    from datetime import datetime

    others = other_branches_versions(context) if all_branches else set()
    plan = context.plan_with(others)
    if plan is not None:
        version = plan.next_free
    else:
        version = context.runner.next_version(context.taken_versions(()) | others,
                                              datetime.now())
    if context.runner.parse_version(version.text) is None:
        raise GateError(_exhausted(context, version))
    return version


def _exhausted(context: CheckContext, version: Version) -> str:
    highest = f"V{version.parts[0] - 1}"
    runner = context.runner.name
    if not context.is_refinery or context.config.int8_versions:
        return (f"the version space is exhausted: {highest} is the highest version {runner} "
                "accepts; renumber the migrations not yet deployed")
    return (f"the version space is exhausted: {highest} is the highest version refinery accepts "
            "(a 32-bit signed integer); renumber the migrations not yet deployed below it, or "
            "enable refinery's `int8-versions` feature and set `int8-versions: true`")


def version_label(context: CheckContext, version: Version) -> str:
    """`V009`, `V3`: the versioned prefix as the project's runner writes it, and the version."""
    from migration_gate.runners.model import Kind, ParsedMigration

    sample = context.runner.parse_name(context.runner.file_name(Kind.VERSIONED, version, "x"))
    prefix = sample.prefix if isinstance(sample, ParsedMigration) else "V"
    return f"{prefix}{version.text}"


def file_name(context: CheckContext, description: str, all_branches: bool) -> str:
    """`V009__add_profiles.sql` for "add profiles": the next free version and a name in the
    runner's grammar; for refinery one that `naming-style` accepts too (what was changed to get
    one is said on stderr)."""
    from migration_gate.runners.model import Kind

    if context.is_refinery:
        description = _refinery_description(context, description)
    elif not any(c.isalnum() for c in description):
        raise GateError(f"the description {description!r} has no letters or digits")
    version = next_version(context, all_branches)
    return context.runner.file_name(Kind.VERSIONED, version, description)


def _refinery_description(context: CheckContext, description: str) -> str:
    """The description refinery's words make of it, fitted to `name-pattern`."""
    from migration_gate.console import say
    from migration_gate.patterns import conforming_name
    from migration_gate.pipeline import normalise_description

    name = normalise_description(description)
    if not name:
        raise GateError(f"the description {description!r} has no letters or digits")
    conforming, changes = conforming_name(name, context.config.name_pattern)
    for change in changes:
        say(change)
    return conforming
