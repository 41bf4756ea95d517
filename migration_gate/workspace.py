"""The I/O edge that builds a `CheckContext`: configuration, repository, folder, base."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migration_gate import gitbase, worktree_index
from migration_gate.basefiles import read_base, relative_to
from migration_gate.config import Config, load_config
from migration_gate.diagnostics import Diagnostic, GateError
from migration_gate.migrations import (
    MigrationFile,
    Source,
    WorkingTree,
    discover,
    listed,
)
from migration_gate.pipeline import CheckContext
from migration_gate.runners.model import Runner, RunnerChoice, RunnerName

if TYPE_CHECKING:
    from migration_gate.projects import Project


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
    """`--dir` is relative to the current folder; a configured `dir` to its file's folder.
    With neither and no default folder, the one project found here (a `flyway.conf` naming
    `db/migration`, a nested `refinery.toml`), as `check` finds it: `next-version`, `new`,
    `list` and `status` then work where `check` does."""
    folder = Path(dir_flag).resolve() if dir_flag else config.migrations_path
    if not folder.exists() and not dir_flag and "dir" not in config.explicit_keys:
        folder = the_one_project(config) or folder
    if not folder.exists():
        raise GateError(
            f"migrations folder not found: {folder} (pass --dir DIR or set `dir` in the "
            "configuration)"
        )
    if not folder.is_dir():
        raise GateError(f"not a folder: {folder} (pass the migrations folder with --dir)")
    return folder


def the_one_project(config: Config) -> Path | None:
    """The migrations folder of the only project under the configuration's folder (None: no
    project); several are one clear error naming them, since a version is per project. A
    single project whose folder is missing still names it (`flyway.locations`' folder, not
    the default `migrations/`), so that the error says where the folder is expected."""
    from migration_gate import projects as monorepo

    every = monorepo.projects_of(config, config.project_dir)
    found = [p for p in every if p.migrations.is_dir()]
    if len(found) > 1:
        names = ", ".join(sorted(p.name for p in found)[:10])
        raise GateError(f"{len(found)} projects here ({names}): pass --dir with the migrations "
                        "folder of one of them")
    if found:
        return found[0].migrations
    return every[0].migrations if len(every) == 1 else None


def read_folder(folder: Path, root: Path, config: Config, runner: Runner | None = None,
                unread: frozenset[str] = frozenset()) -> tuple[MigrationFile, ...]:
    """The working tree's folder; `runner` when the project's runner is not refinery;
    `unread`: files git vouches are the base's (`worktree_index`), read on use."""
    files = discover(
        WorkingTree(folder, unread),
        folder_path=relative_to(folder, root),
        exclude=config.exclude,
        int8_versions=config.int8_versions,
        runner=runner,
    )
    for migration in files:
        if migration.read_error is not None:
            raise GateError(
                f"cannot read {migration.path}: {migration.read_error}; refinery would fail on "
                "it too (fix or remove it)"
            )
    return files


def choose_runner(
    folder: Path, top: Path, config: Config, flag: RunnerName | None,
    repo_root: Path | None = None, base: gitbase.Base | None = None,
) -> RunnerChoice:
    """The project's runner: `--runner`, the configured `runner`, else detected from the
    files around the folder, names only. With a base, the folder's names there decide: what
    was merged is the project, and a misnamed file a branch adds (`V1.5__x.sql` in a refinery
    project) must be judged by the project's runner, not turn the project into another."""
    from migration_gate.choose_runner import choose

    source: Source = WorkingTree(folder)
    if base is not None and repo_root is not None:
        in_repo = relative_to(folder.resolve(), repo_root)
        tree = gitbase.GitTree(repo_root, base.merge_base, in_repo)
        if not in_repo.startswith("..") and tree.list_files():
            source = tree
    rels = listed(source, folder_path=".", exclude=config.exclude)
    return choose(folder, top, rels, configured=config.runner, flag=flag)


def non_refinery(choice: RunnerChoice) -> Runner | None:
    """The runner discovery hands to each file: None keeps refinery's original path."""
    return None if choice.runner.name == "refinery" else choice.runner


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
    runner_flag: RunnerName | None = None,
    loaded: tuple[Config, Path | None] | None = None,
    project: Project | None = None,
) -> CheckContext:
    """Everything `check` and `verify` need, read once.

    `base_optional` (next-version, new): when no base is asked for and none is found, count
    the working tree only and say so, instead of stopping. When a base is found, its
    configuration governs (`migration_gate.baseconfig`). `loaded`: a configuration already
    built (one project of a monorepo) instead of the current folder's.
    """
    config, repo_root = loaded or load(config_file=config_file, overrides=overrides)
    folder = migrations_folder(config, dir_flag)
    if dir_flag:
        # the folder's own repository, wherever the command runs from (outside any, or in
        # another one: a submodule, a sibling checkout)
        repo_root = gitbase.repository_root(folder)
    root = repo_root or config.project_dir
    # git looks at the folder's files while the base is resolved (`vouched_files`)
    listing = worktree_index.start(repo_root, _in_repo(repo_root, folder)) if use_base else None
    extra: dict[str, Any] = {"note": note} if note else {}
    found: gitbase.Base | None = None
    config_findings: tuple[Diagnostic, ...] = ()
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
                found = gitbase.resolve_base(repo_root, base_flag, config.base)
            except GateError as error:
                if isinstance(error, gitbase.GitError) or base_flag or config.base or (
                    not base_optional
                ):
                    raise
                _print_note(f"{error}; counting the working tree only")
            else:
                if found is not None and (in_repo := _in_repo(repo_root, folder)) is not None:
                    from migration_gate.burned import prefetch

                    prefetch(repo_root, found.tip, in_repo, config.int8_versions)
                if found is None:
                    (note or _print_note)("no commit yet: every migration is new")
                elif base_governs(repo_root, found):
                    config, config_findings = governed_by_base(
                        config, repo_root, found, config_file, overrides, project, folder
                    )
                    folder = migrations_folder(config, dir_flag)
    root = repo_root or config.project_dir
    choice = choose_runner(folder, root, config, runner_flag, repo_root, found)
    runner = non_refinery(choice)
    unread = vouched_files(repo_root, folder, found, listing)
    local = read_folder(folder, root, config, runner, unread)
    snapshot = None
    if found is not None and repo_root is not None:
        snapshot = read_base(repo_root, folder, config, found, local, runner, unread)
    return CheckContext(
        config=config,
        root=root,
        repo_root=repo_root,
        folder=relative_to(folder, root),
        local=local,
        base=snapshot,
        lint_all=lint_all,
        verify=verify,
        runner_choice=choice,
        config_findings=config_findings,
        **extra,
    )


def vouched_files(repo_root: Path | None, folder: Path, base: gitbase.Base | None,
                  pending: worktree_index.Pending | None = None) -> frozenset[str]:
    """The folder's files git vouches are the merge-base's, left unread (`worktree_index`)."""
    in_repo = _in_repo(repo_root, folder)
    if base is None or repo_root is None or in_repo is None:
        return frozenset()
    return worktree_index.vouched(repo_root, base.merge_base, in_repo, pending)


def _in_repo(repo_root: Path | None, folder: Path) -> str | None:
    in_repo = relative_to(folder.resolve(), repo_root) if repo_root is not None else ".."
    return None if in_repo.startswith("..") else in_repo


def base_governs(repo_root: Path, base: gitbase.Base) -> bool:
    """Whether the base's configuration governs (baseconfig.py): yes when the branch has
    commits of its own, except in the pre-commit framework's hooks on a developer's machine
    (`PRE_COMMIT=1`, not under CI), which check the author's own work in progress with the
    working tree's configuration, as `lint` and runs without a base do. On the base branch
    itself (the merge-base is HEAD) there is no branch to distrust either."""
    if os.environ.get("PRE_COMMIT") == "1" and not os.environ.get("CI"):
        return False
    return gitbase.head_commit(repo_root) != base.merge_base


def governed_by_base(
    config: Config, repo_root: Path, base: gitbase.Base, config_file: Path | None,
    overrides: Mapping[str, Any], project: Project | None = None, folder: Path | None = None,
) -> tuple[Config, tuple[Diagnostic, ...]]:
    """The configuration as the base commit has it (its files read through git), with the
    command line's flags over it, and a `config-changed` finding per file the branch changes.

    A monorepo project's entry in `projects:` is re-read from the base too; the project's
    folder and runner files (refinery.toml, flyway.conf: the database it runs on) are the
    working tree's. `folder`: the migrations folder the run reads, listed in the base by the
    same git process that lists the configuration files there.
    """
    from migration_gate.baseconfig import GitReader, config_changes
    from migration_gate.config import config_tables, reload_config

    in_repo = relative_to(folder.resolve(), repo_root) if folder is not None else None
    reader = GitReader(repo_root, base.merge_base,
                       folder=in_repo if in_repo is not None and not in_repo.startswith("..")
                       else None)
    explicit = config_file.resolve() if config_file is not None else None
    found: list[Diagnostic] = []
    try:
        if project is None:  # the monorepo code only for a monorepo's project
            governed = reload_config(config, explicit, overrides, reader)
        else:
            from migration_gate.projects import reload_project

            governed = reload_project(config, project, explicit, overrides, reader)
        for project_dir in dict.fromkeys(config.config_dirs or (config.project_dir,)):
            found.extend(config_changes(
                config_tables(project_dir, explicit, reader),
                config_tables(project_dir, explicit), repo_root,
            ))
    except GateError as error:
        raise GateError(f"the configuration at base {base.ref} ({base.merge_base[:12]}), which "
                        f"governs this run: {error}") from None
    # the setup SQL the base's `replay.setup` names is the base's too (`replaysetup`)
    return dataclasses.replace(governed, setup_commit=base.merge_base), tuple(found)


def _print_note(message: str) -> None:
    from migration_gate.pipeline import _stderr_note

    _stderr_note(message)
