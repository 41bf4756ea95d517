"""`migration-gate renumber`: apply the plan the hints quote, so a user never renames by hand.

The branch's new migrations move together, in their order, to the first free versions after
the base (its tip, its burned versions and, with `--all-branches`, every remote-tracking
branch): a migration that uses the table of the one before it keeps working. Versions and names
are the runner's: refinery `V009__x.sql`; Flyway in the project's own scheme (integers, dotted,
timestamps) with the description kept exactly as written. A Flyway repeatable (`R__`) has no
version and never moves. Tracked files move
with `git mv` (the rename stays visible in `git status`), untracked ones with a plain rename.
A migration that exists on the base is never touched: that would break every database that
applied it.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from migration_gate.commands.options import add_versions
from migration_gate.console import print_raw, write_err
from migration_gate.diagnostics import GateError
from migration_gate.runners.model import Kind, RunnerName

if TYPE_CHECKING:
    from argparse import ArgumentParser

    from migration_gate.migrations import MigrationFile
    from migration_gate.pipeline import CheckContext
    from migration_gate.runners.model import Version


@dataclass(frozen=True)
class Rename:
    """One file to move, both paths relative to the context's root."""

    source: str
    target: str
    shown_source: str  # relative to the migrations folder, as `check` names them
    shown_target: str


def add_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("migrations", nargs="*", type=Path, metavar="MIGRATIONS")
    add_versions(parser)
    parser.add_argument("--dry-run", dest="dry_run", action="store_true",
                        help="Print the moves without making them.")


def renumber(migrations: tuple[Path, ...], dir_flag: str | None, base_flag: str | None,
             config_file: Path | None, runner_flag: RunnerName | None, all_branches: bool,
             dry_run: bool) -> None:
    """Move the branch's new migrations, as one block in their order, to the next free
    versions (MIGRATIONS: only these files; default: every migration added versus the base)."""
    from migration_gate.commands._versions import other_branches_versions
    from migration_gate.workspace import build_context

    context = build_context(dir_flag=dir_flag, base_flag=base_flag, config_file=config_file,
                            overrides={}, runner_flag=runner_flag)
    if context.base is None:
        raise GateError("renumber needs a base with at least one commit (pass --base REF)")
    chosen = _chosen(context, migrations) if migrations else None
    others = other_branches_versions(context) if all_branches else set()
    plan = context.plan_with(others, chosen)
    assert plan is not None
    renames = _renames(context, [(c.path, c.new) for c in plan.changes])
    if not renames:
        write_err("nothing to renumber: the branch's migrations already follow "
                  f"{context.base.base.ref}")
        return
    for rename in renames:
        print_raw(f"{rename.shown_source} -> {rename.shown_target}")
    if not dry_run:
        _apply(context, renames)


def _chosen(context: CheckContext, paths: tuple[Path, ...]) -> list[MigrationFile]:
    """The named files, each a new versioned migration of this branch."""
    by_place = {(context.root / m.path).resolve(): m for m in context.local}
    base_paths = {m.path for m in context.base_files}
    ref = context.base.base.ref if context.base else "the base"
    chosen = []
    for path in paths:
        migration = by_place.get(path.resolve())
        if migration is None:
            raise GateError(f"{path} is not a migration of the folder {context.folder}")
        if migration.path in base_paths:
            raise GateError(
                f"{migration.path} exists on {ref}: renumbering it would break every database "
                "that applied it (only the branch's new migrations can move)"
            )
        parsed = context.migration_of(migration)
        if parsed is not None and parsed.kind is Kind.REPEATABLE:
            raise GateError(f"{migration.path} is a repeatable migration: it has no version "
                            f"({context.runner.name} re-runs it when it changes), so it never "
                            "moves")
        if parsed is None or parsed.version is None or parsed.kind not in (
                Kind.VERSIONED, Kind.UNVERSIONED):
            raise GateError(f"{migration.path} is not named like a versioned migration")
        chosen.append(migration)
    return chosen


def _renames(context: CheckContext, moves: list[tuple[str, Version]]) -> list[Rename]:
    """Each move as a rename; the runner writes the new name (only the version changes)."""
    by_path = {m.path: m for m in context.local}
    base_paths = {m.path for m in context.base_files}
    renames = []
    for path, version in moves:
        migration = by_path[path]
        parsed = context.migration_of(migration)
        if path in base_paths or parsed is None:
            raise GateError(f"{path} exists on the base: refusing to renumber it")
        file_name = context.runner.renamed(parsed, version)
        folder = posixpath.dirname(migration.rel)
        renames.append(Rename(
            source=path, target=posixpath.join(posixpath.dirname(path), file_name),
            shown_source=migration.rel, shown_target=posixpath.join(folder, file_name),
        ))
    return renames


def _apply(context: CheckContext, renames: list[Rename]) -> None:
    """Each rename once its target is free: a block moving up frees its own versions from the
    top down, one moving down from the bottom up."""
    sources = {r.source for r in renames}
    for rename in renames:
        if rename.target not in sources and (context.root / rename.target).exists():
            raise GateError(f"{rename.target} already exists: renumber changed nothing")
    tracked = _tracked(context)
    pending = list(renames)
    while pending:
        ready = [r for r in pending if r.target not in {p.source for p in pending}]
        if not ready:
            raise GateError("the moves form a cycle: renumber stopped part-way")
        for rename in ready:
            _move(context, rename, rename.source in tracked)
            pending.remove(rename)


def _tracked(context: CheckContext) -> set[str]:
    """The folder's files git tracks (one call): they move with `git mv`."""
    from migration_gate import gitbase

    if context.repo_root is None:
        return set()
    output = gitbase.run_git(["ls-files", "-z", "--", context.folder or "."], context.root)
    return {p for p in output.decode("utf-8", "surrogateescape").split("\0") if p}


def _move(context: CheckContext, rename: Rename, tracked: bool) -> None:
    from migration_gate import gitbase

    if tracked:
        gitbase.run_git(["mv", "--", rename.source, rename.target], context.root)
        return
    try:
        os.rename(context.root / rename.source, context.root / rename.target)
    except OSError as error:
        raise GateError(f"cannot rename {rename.source}: {error.strerror}") from None
