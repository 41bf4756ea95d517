"""`migration-gate check`: every stage on the migrations folder (or on each project of a
monorepo), one report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from migration_gate.commands._finish import finish, runner_shown
from migration_gate.commands.options import BOOLEAN_OPTIONAL, add_folder, add_report
from migration_gate.runners.model import RunnerName
from migration_gate.types import Dialect

if TYPE_CHECKING:
    from argparse import ArgumentParser

    from migration_gate.config import Config
    from migration_gate.pipeline import CheckContext, NoteCollector
    from migration_gate.projects import Project


def add_arguments(parser: ArgumentParser) -> None:
    add_folder(parser)
    add_report(parser)
    parser.add_argument("--verify", action=BOOLEAN_OPTIONAL, default=None,
                        help="Replay in an ephemeral database (default: when one can be had).")
    parser.add_argument("--all", dest="lint_all", action="store_true",
                        help="Lint every migration, not only those added or changed versus the "
                        "base.")
    parser.add_argument("--database-url", dest="database_url", metavar="URL",
                        help="Replay in a throwaway database on this server instead of an "
                        "embedded one.")
    parser.add_argument("--applied", dest="applied_file", metavar="FILE",
                        help="Production's applied history (`status --format json`, or the "
                        "history table as CSV/JSON: version,name,checksum): the history rules "
                        "judge against it.")
    parser.add_argument("--applied-url", dest="applied_url", metavar="URL",
                        help="Read production's applied history from this database "
                        "(read-only).")


def check(
    dir_flag: str | None, base_flag: str | None, dialect: Dialect | None,
    runner_flag: RunnerName | None, config_file: Path | None, fmt: str | None,
    output: Path | None, fail_on: str | None,
    verify: bool | None, lint_all: bool, database_url: str | None,
    applied_file: str | None, applied_url: str | None,
) -> None:
    """Run every rule on the migrations folder: names, history, SQL and the database replay.

    In a monorepo (`projects:` configured, or found by their refinery.toml / flyway.conf
    from a root without a migrations folder) each project is checked with its own settings."""
    _start_probe()  # git finds the repository while the pipeline is imported
    from migration_gate.commands._header import run_header
    from migration_gate.diagnostics import Severity
    from migration_gate.pipeline import NoteCollector, Result, run_stages
    from migration_gate.stages import check_stages, stages_named

    if database_url and verify is None:
        verify = True  # a server named on the command line is a replay asked for, not a maybe
    note = NoteCollector()
    overrides = {"dialect": dialect, "fail_on": fail_on, "database_url": database_url}
    contexts = project_contexts(dir_flag, base_flag, config_file, overrides, lint_all, verify,
                                note, runner_flag)
    contexts = [_with_applied(c, applied_file, applied_url) for c in contexts]
    names = check_stages(verify)
    stages = stages_named(names)
    # one finding once: two projects share the root's configuration (config-changed)
    diagnostics = sorted({d: None for c in contexts for d in run_stages(c, stages)},
                         key=lambda d: d.sort_key)
    projects = tuple(f"{c.folder} ({c.config.dialect}, {c.runner.name})" for c in contexts
                     if c.config.project_name is not None)
    result = Result(tuple(diagnostics), files_checked=sum(len(c.local) for c in contexts),
                    notes=tuple(note.notes), projects=projects,
                    runner=runner_shown(contexts[0]) if len(contexts) == 1 else None,
                    header=(run_header(contexts[0], names, note.notes, diagnostics)
                            if len(contexts) == 1
                            else None))
    fail = min((c.config.fail_on for c in contexts), key=lambda s: s.rank,
               default=Severity.ERROR)
    finish(result, fmt=fmt, output=output, root=contexts[0].root, fail_on=fail,
           command="check")


def _start_probe() -> None:
    """Start git's look at the repository around the current folder (`gitrun.start_probe`);
    a current folder that is gone is reported where the configuration is looked for."""
    from migration_gate.gitrun import start_probe

    try:
        start_probe(Path.cwd().resolve())
    except OSError:
        return


def project_contexts(
    dir_flag: str | None, base_flag: str | None, config_file: Path | None,
    overrides: dict[str, Any], lint_all: bool, verify: bool | None, note: NoteCollector,
    runner_flag: RunnerName | None = None,
) -> list[CheckContext]:
    """One context per project checked: the folder's, or each project of a monorepo."""
    from migration_gate.config import is_multi_project, load_here
    from migration_gate.diagnostics import GateError
    from migration_gate.workspace import build_context

    def one(project: Project | None = None, loaded: Any = None) -> CheckContext:
        return build_context(
            dir_flag=None if project else dir_flag, base_flag=base_flag,
            config_file=config_file, overrides=overrides, lint_all=lint_all, verify=verify,
            note=note, loaded=loaded, project=project, runner_flag=runner_flag,
        )

    config, repo_root = load_here(config_file=config_file, overrides=overrides)
    _prefetch_base(config, verify)
    multi = is_multi_project(config, dir_flag, repo_root)
    if (config_file is not None and not config.projects) or not (multi or dir_flag):
        return [one(loaded=(config, repo_root))]
    from migration_gate import projects as monorepo  # a monorepo, or a folder named

    root = repo_root or config.project_dir
    found_dir = config.config_dirs[0] if config.config_dirs else config.project_dir
    if dir_flag:
        project = (monorepo.project_for_folder(monorepo.configured_projects(config, root),
                                               Path(dir_flag)) if config.projects
                   else monorepo.project_around(Path(dir_flag), repo_root or Path.cwd()))
        if project is None or (project.project_dir == found_dir and not project.entry):
            return [one(loaded=(config, repo_root))]
        found = [project]
    else:
        found = monorepo.projects_of(config, root)
    if not found:
        return [one(loaded=(config, repo_root))]  # today's "migrations folder not found"
    contexts = []
    for project in found:
        if not project.migrations.is_dir():
            if project.entry:
                raise GateError(f"{project.entry_origin}: migrations folder not found: "
                                f"{project.migrations}")
            note(f"{project.name}: no migrations folder at {project.migrations}, skipped")
            continue
        project_config = monorepo.project_config(found_dir, project, overrides,
                                                 explicit=config_file)
        contexts.append(one(project, (project_config, repo_root)))
    if not contexts:
        raise GateError("no project has a migrations folder (pass --dir DIR)")
    return contexts


def _prefetch_base(config: Config, verify: bool | None) -> None:
    """When this run replays on the embedded PostgreSQL, start restoring the cached base schema
    the last replay used (`ephemeral.prefetch`): the copy runs on the other core while the
    folder, the history and the SQL are read, and the database stage uses it only if it is
    the one the base's cache key chooses."""
    wanted = config.verify if verify is None else verify
    if wanted is False or config.dialect != "postgres" or config.database_url:
        return
    from migration_gate.ephemeral import prefetch
    from migration_gate.ephemeral.pgcache import cache_root

    prefetch.start(cache_root())


def _with_applied(context: CheckContext, applied_file: str | None,
                  applied_url: str | None) -> CheckContext:
    """The context with production's applied history, when one is named (flag, then the
    `applied` configuration key, relative to the project)."""
    if not (applied_url or applied_file or context.config.applied):
        return context  # the usual case: nothing to load (applied.py and csv not imported)
    import dataclasses

    from migration_gate.applied import load_applied, read_applied_url

    if applied_url:
        applied = read_applied_url(applied_url, context.config.table_name)
    elif applied_file:
        applied = load_applied(Path(applied_file))
    else:
        assert context.config.applied is not None
        applied = load_applied(context.config.project_dir / context.config.applied)
    return dataclasses.replace(context, applied=applied)
