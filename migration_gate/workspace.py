"""The I/O edge that builds a `CheckContext`: configuration, repository, folder, base."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from migration_gate import gitbase
from migration_gate.burned import BurnedVersion
from migration_gate.config import Config, load_config
from migration_gate.diagnostics import GateError
from migration_gate.migrations import MigrationFile, NamesOnly, WorkingTree, discover
from migration_gate.pipeline import BaseSnapshot, CheckContext


def load(
    *,
    cwd: Path | None = None,
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> tuple[Config, Path | None]:
    """The effective configuration and the repository root (None outside git)."""
    start = (cwd or Path.cwd()).resolve()
    repo_root = gitbase.repository_root(start)
    config = load_config(start, stop=repo_root, explicit=config_file, overrides=overrides)
    return config, repo_root


def migrations_folder(config: Config, dir_flag: str | None) -> Path:
    """`--dir` is relative to the current folder; a configured `dir` to its file's folder."""
    folder = Path(dir_flag).resolve() if dir_flag else config.migrations_path
    if not folder.exists():
        raise GateError(
            f"migrations folder not found: {folder} (pass --dir DIR or set `dir` in the "
            "configuration)"
        )
    if not folder.is_dir():
        raise GateError(f"not a folder: {folder} (pass the migrations folder with --dir)")
    return folder


def relative_to(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix() or "."
    except ValueError:
        return os.path.relpath(path, root).replace(os.sep, "/")


def read_folder(folder: Path, root: Path, config: Config) -> tuple[MigrationFile, ...]:
    files = discover(
        WorkingTree(folder),
        folder_path=relative_to(folder, root),
        exclude=config.exclude,
        int8_versions=config.int8_versions,
    )
    for migration in files:
        if migration.read_error is not None:
            raise GateError(
                f"cannot read {migration.path}: {migration.read_error}; refinery would fail on "
                "it too (fix or remove it)"
            )
    return files


def read_base(
    repo_root: Path, folder: Path, config: Config, base: gitbase.Base,
    local: tuple[MigrationFile, ...] = (),
) -> BaseSnapshot:
    in_repo = relative_to(folder.resolve(), repo_root)
    if in_repo.startswith(".."):
        raise GateError(f"the migrations folder {folder} is outside the repository {repo_root}")
    tree = gitbase.GitTree(repo_root, base.merge_base, in_repo)
    files = discover(
        tree, folder_path=in_repo, exclude=config.exclude, int8_versions=config.int8_versions
    )
    moved_from = None
    if not files and local:
        moved_from = moved_folder(repo_root, base.merge_base, in_repo, local)
        if moved_from is not None:  # the base's migrations are those of the old folder
            in_repo = moved_from
            tree = gitbase.GitTree(repo_root, base.merge_base, in_repo)
            files = discover(tree, folder_path=in_repo, exclude=config.exclude,
                             int8_versions=config.int8_versions)
    files = as_checked_out(tree, files, local)
    tip_files: tuple[MigrationFile, ...] = ()
    if base.tip != base.merge_base:
        tip_files = discover(
            NamesOnly(gitbase.GitTree(repo_root, base.tip, in_repo)), folder_path=in_repo,
            exclude=config.exclude, int8_versions=config.int8_versions,
        )
    return BaseSnapshot(base=base, files=files, tip_files=tip_files,
                        burned=_burned(repo_root, in_repo, config, base, tip_files or files),
                        moved_from=moved_from)


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


def as_checked_out(
    tree: gitbase.GitTree, files: tuple[MigrationFile, ...], local: tuple[MigrationFile, ...]
) -> tuple[MigrationFile, ...]:
    """Base files as a checkout would write them, where that matters: a file whose raw blob
    differs from the working tree may only differ by `.gitattributes` end-of-line conversion
    (`*.sql eol=crlf`), which is no modification (the deployed file is the checked-out one)."""
    local_content = {m.rel: m.content for m in local}
    result = []
    for migration in files:
        current = local_content.get(migration.rel)
        if current is not None and migration.content is not None and current != migration.content:
            checked_out = tree.read_checked_out(migration.rel)
            if checked_out is not None and checked_out != migration.content:
                migration = dataclasses.replace(migration, content=checked_out)
        result.append(migration)
    return tuple(result)


def build_context(
    *,
    dir_flag: str | None,
    base_flag: str | None,
    config_file: Path | None,
    overrides: Mapping[str, Any],
    lint_all: bool = False,
    verify: bool | None = None,
    use_base: bool = True,
    note: Callable[[str], None] | None = None,
    base_optional: bool = False,
) -> CheckContext:
    """Everything `check` and `verify` need, read once.

    `base_optional` (next-version, new): when no base is asked for and none is found, count
    the working tree only and say so, instead of stopping.
    """
    config, repo_root = load(config_file=config_file, overrides=overrides)
    folder = migrations_folder(config, dir_flag)
    if dir_flag:
        # the folder's own repository, wherever the command runs from (outside any, or in
        # another one: a submodule, a sibling checkout)
        repo_root = gitbase.repository_root(folder)
    root = repo_root or config.project_dir
    local = read_folder(folder, root, config)
    extra: dict[str, Any] = {"note": note} if note else {}
    snapshot = None
    if use_base:
        if repo_root is None:
            if base_flag:
                reason = "git is not installed" if not gitbase.git_available() else (
                    "not a git repository"
                )
                raise GateError(f"--base {base_flag} needs a git repository ({reason})")
            reason = "git is not installed" if not gitbase.git_available() else (
                "not a git repository"
            )
            (note or _print_note)(
                f"{reason}: no base to compare with, so the history rules are skipped "
                "and every migration is checked as new"
            )
        else:
            try:
                base = gitbase.resolve_base(repo_root, base_flag, config.base)
            except GateError as error:
                if base_flag or config.base or not base_optional:
                    raise
                _print_note(f"{error}; counting the working tree only")
            else:
                if base is None:
                    (note or _print_note)("no commit yet: every migration is new")
                else:
                    snapshot = read_base(repo_root, folder, config, base, local)
    return CheckContext(
        config=config,
        root=root,
        repo_root=repo_root,
        folder=relative_to(folder, root),
        local=local,
        base=snapshot,
        lint_all=lint_all,
        verify=verify,
        **extra,
    )


def _print_note(message: str) -> None:
    from migration_gate.pipeline import _stderr_note

    _stderr_note(message)
