"""The base side of a `CheckContext`: the base branch's migrations, read from git at the
merge-base, sharing every file the working tree holds byte for byte.

Apart from `workspace` (which builds the whole context) because reading the base has its own
rules: a file git vouches for is never read, a renamed folder is followed, and a file that only
differs by end-of-line conversion is the checked-out one.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

from migration_gate import gitbase
from migration_gate.burned import BurnedVersion
from migration_gate.config import Config
from migration_gate.diagnostics import GateError
from migration_gate.gittree import folder_prefix
from migration_gate.migrations import MigrationFile, NamesOnly, discover
from migration_gate.pipeline import BaseSnapshot
from migration_gate.runners.model import Runner


def relative_to(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix() or "."
    except ValueError:
        return os.path.relpath(path, root).replace(os.sep, "/")

def read_base(
    repo_root: Path, folder: Path, config: Config, base: gitbase.Base,
    local: tuple[MigrationFile, ...] = (), runner: Runner | None = None,
    unread: frozenset[str] = frozenset(),
) -> BaseSnapshot:
    """`unread`: the local files git vouches are the merge-base's (`read_folder`)."""
    in_repo = relative_to(folder.resolve(), repo_root)
    if in_repo.startswith(".."):
        raise GateError(f"the migrations folder {folder} is outside the repository {repo_root}")
    files = _base_files(repo_root, base.merge_base, in_repo, config, local, runner, unread)
    moved_from = None
    if not files and local:
        moved_from = moved_folder(repo_root, base.merge_base, in_repo, local)
        if moved_from is not None:  # the base's migrations are those of the old folder
            in_repo = moved_from
            tree = gitbase.GitTree(repo_root, base.merge_base, in_repo)
            files = discover(tree, folder_path=in_repo, exclude=config.exclude,
                             int8_versions=config.int8_versions)
            files = _shared_with(as_checked_out(tree, files, local), local)
    tip_files: tuple[MigrationFile, ...] = ()
    if base.tip != base.merge_base:
        tip_files = discover(
            NamesOnly(gitbase.GitTree(repo_root, base.tip, in_repo)), folder_path=in_repo,
            exclude=config.exclude, int8_versions=config.int8_versions, runner=runner,
        )
    return BaseSnapshot(base=base, files=files, tip_files=tip_files,
                        burned=_burned(repo_root, in_repo, config, base, tip_files or files),
                        moved_from=moved_from)


def _base_files(
    repo_root: Path, commit: str, in_repo: str, config: Config,
    local: tuple[MigrationFile, ...], runner: Runner | None,
    unread: frozenset[str] = frozenset(),
) -> tuple[MigrationFile, ...]:
    """The base's files in `in_repo` at `commit`, as `discover` makes them. A base file whose
    blob is the working tree's file at the same path is that very file (equal in every field,
    so `_shared_with` would put it in anyway): it is neither built again nor read. Only the
    others (changed, deleted, renamed: a few) are discovered; a base file with the bytes of a
    working-tree file elsewhere (a rename) is not read either (`GitTree.known`).

    Which files are the base's, git says (`unread`: not even read on this side); the others
    read here are hashed (a file edited back to the base's bytes is the base's too)."""
    prefix = folder_prefix(in_repo)
    by_rel = {m.rel: m for m in local if m.path == prefix + m.rel}
    vouched = {rel for rel in unread if rel in by_rel}
    same = vouched | gitbase.GitTree(repo_root, commit, in_repo).unchanged(
        {rel: content for rel, m in by_rel.items()
         if rel not in vouched and (content := m.content) is not None})
    known = tuple(content for m in local
                  if m.rel not in same and (content := m.content) is not None)
    tree = gitbase.GitTree(repo_root, commit, in_repo, known=known)
    rest = discover(_Without(tree, frozenset(same)), folder_path=in_repo,
                    exclude=config.exclude, int8_versions=config.int8_versions, runner=runner)
    rest = _shared_with(as_checked_out(tree, rest, local), local)
    if not same:
        return rest
    # the working tree's own files passed the same `exclude` under the same path
    return tuple(sorted((*rest, *(by_rel[rel] for rel in same)), key=_rel_of))


def _rel_of(migration: MigrationFile) -> str:
    return migration.rel


class _Without:
    """A git tree without some of its files (`_base_files`: those already at hand). A plain
    class: a dataclass costs every run's import ~0.5 ms (issue 16)."""

    def __init__(self, tree: gitbase.GitTree, left_out: frozenset[str]) -> None:
        self.tree = tree
        self.left_out = left_out

    def list_files(self) -> list[str]:
        return [rel for rel in self.tree.list_files() if rel not in self.left_out]

    def read_many(self, rels: Sequence[str]) -> dict[str, bytes | str]:
        return self.tree.read_many(rels)


def moved_folder(repo_root: Path, commit: str, folder: str,
                 local: tuple[MigrationFile, ...]) -> str | None:
    """The folder `commit` kept these migrations in, when the folder itself moved: at least
    half of the local migrations are, byte for byte and under the same relative path, in one
    other folder of that commit. One `ls-tree` of the commit, only when `folder` is empty
    there."""
    import hashlib
    from collections import Counter

    wanted: dict[str, str] = {}
    for migration in local:
        if migration.content is not None and migration.name is not None:
            header = b"blob %d\0" % len(migration.content)
            wanted[hashlib.sha1(header + migration.content).hexdigest()] = migration.rel
    if not wanted:
        return None
    output = gitbase.run_git(["ls-tree", "-r", "-z", "--full-tree", commit], repo_root)
    votes: Counter[str] = Counter()
    for record in output.split(b"\0"):
        meta, _, raw_path = record.partition(b"\t")
        fields = meta.split()
        rel = wanted.get(fields[2].decode()) if len(fields) == 3 else None
        path = raw_path.decode("utf-8", "surrogateescape")
        if rel is not None and (path == rel or path.endswith("/" + rel)):
            votes[path[: -len(rel)].rstrip("/")] += 1
    if not votes:
        return None
    old, count = votes.most_common(1)[0]
    return old if old != folder and count * 2 >= len(wanted) else None


def _burned(repo_root: Path, in_repo: str, config: Config, base: gitbase.Base,
            tip: tuple[MigrationFile, ...]) -> tuple[BurnedVersion, ...]:
    """The versions the base branch's history deleted and its tip does not use again."""
    from migration_gate.burned import burned_versions

    in_use = [name.version for m in tip if (name := m.name) is not None]
    return burned_versions(repo_root, base.tip, in_repo, in_use,
                           int8_versions=config.int8_versions)


def _shared_with(files: tuple[MigrationFile, ...], local: tuple[MigrationFile, ...]
                 ) -> tuple[MigrationFile, ...]:
    """The base's files, each one equal to the working tree's file (same path, bytes and
    runner: nearly all of them) replaced by that object: equal frozen values, whose names,
    versions and checksums are then computed once per run instead of once per side."""
    by_path = {m.path: m for m in local}
    return tuple(same if (same := by_path.get(m.path)) is not None and same == m
                 and same.runner is m.runner else m for m in files)


def as_checked_out(
    tree: gitbase.GitTree, files: tuple[MigrationFile, ...], local: tuple[MigrationFile, ...]
) -> tuple[MigrationFile, ...]:
    """Base files as a checkout would write them, where that matters: a file whose raw blob
    differs from the working tree may only differ by `.gitattributes` end-of-line conversion
    (`*.sql eol=crlf`), which is no modification (the deployed file is the checked-out one)."""
    # only the paths the base has apart: a local file git vouched for is not read for this
    by_rel = {m.rel: m for m in local}
    result = []
    for migration in files:
        same_path = by_rel.get(migration.rel)
        current = same_path.content if same_path is not None else None
        if current is not None and migration.content is not None and current != migration.content:
            checked_out = tree.read_checked_out(migration.rel)
            if checked_out is not None and checked_out != migration.content:
                migration = dataclasses.replace(migration, content=checked_out)
        result.append(migration)
    return tuple(result)

