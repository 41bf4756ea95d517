"""Several migration folders in one repository (a monorepo): the projects and their settings.

A project is one migrations folder with its runner, dialect, database and rule settings. The
projects are the configuration's `projects:` list, else every runner configuration file
(`refinery.toml`, `flyway.conf`, `flyway.toml`) found under the repository root by a bounded
walk. A project's settings are layered, the more specific over the more general: defaults <
the root configuration's shared settings < the project's own refinery.toml / Flyway file and
configuration files < its `projects:` entry < the command line.

A single-project repository never gets here: multi-project mode starts only when `projects:`
is configured, or when no migrations folder is configured and the default one does not exist.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from migration_gate.config import (
    RUNNER_FILES,
    Config,
    Reader,
    apply_settings,
    config_tables,
    dialect_of_url,
    finish_config,
    read_working_tree,
    reload_config,
)
from migration_gate.config import is_multi_project as is_multi_project
from migration_gate.config_schema import normalise_key
from migration_gate.diagnostics import GateError
from migration_gate.runners.model import RunnerName

#: Folders the discovery walk never enters (besides every hidden folder).
SKIPPED = frozenset({"node_modules", "target", "venv", "__pycache__", "build", "dist"})
MAX_DEPTH = 6
MAX_FOLDERS = 20_000  # a bounded walk: a huge tree costs a bounded time on every commit
#: Keys of the root configuration that are its own, not settings shared with the projects.
_ROOT_ONLY = frozenset({"dir", "projects"})


@dataclass(frozen=True)
class Project:
    """One migrations folder and where its settings come from."""

    name: str  # its folder relative to the repository root, for the report's header
    project_dir: Path  # the folder of its own configuration files (refinery.toml...)
    migrations: Path  # its migrations folder
    runner: RunnerName = "refinery"
    runner_file: Path | None = None  # flyway.conf / flyway.toml
    entry: tuple[tuple[str, Any], ...] = ()  # its `projects:` entry's settings
    entry_origin: str = ""


# --- Flyway's own configuration ----------------------------------------------------------------


def _flyway_values(path: Path, read: Reader) -> tuple[str | None, list[str]]:
    """(url, locations) of a flyway.conf (Java properties) or flyway.toml."""
    data = read(path)
    if data is None:
        raise GateError(f"configuration file not found: {path}")
    text = data.decode("utf-8", "replace")
    if path.suffix == ".toml":
        from migration_gate.config import _load_toml

        table = _load_toml(path, read)
        flyway = table.get("flyway", {}) if isinstance(table.get("flyway"), dict) else {}
        environments = table.get("environments", {})
        environment = flyway.get("environment", "default")
        env_table = environments.get(environment, {}) if isinstance(environments, dict) else {}
        url = env_table.get("url") if isinstance(env_table, dict) else None
        locations = flyway.get("locations", [])
        if isinstance(locations, str):
            locations = [locations]
        return (url if isinstance(url, str) else None), [str(x) for x in locations]
    values: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "!")) or "=" not in stripped:
            continue
        key, _, value = stripped.partition("=")
        values[key.strip()] = value.strip()
    locations = [x.strip() for x in values.get("flyway.locations", "").split(",") if x.strip()]
    return values.get("flyway.url"), locations


def flyway_settings(path: Path, read: Reader = read_working_tree) -> dict[str, Any]:
    """The gate's settings a Flyway file implies: the runner, the dialect of `flyway.url`
    (`jdbc:postgresql:` → postgres) and the first `filesystem:` location as `dir` (relative to
    the file's folder; Flyway's default `db/migration` otherwise)."""
    url, locations = _flyway_values(path, read)
    settings: dict[str, Any] = {"runner": "flyway"}
    if url:
        dialect = dialect_of_url(url.removeprefix("jdbc:"))
        if dialect is not None:
            settings["dialect"] = dialect
    folders = [loc.removeprefix("filesystem:") for loc in locations
               if loc.startswith("filesystem:")]
    settings["dir"] = folders[0] if folders else "db/migration"
    return settings


# --- which projects --------------------------------------------------------------------------


def discover_projects(root: Path) -> list[Project]:
    """Every refinery.toml, flyway.conf and flyway.toml under `root` (bounded, skipping hidden
    folders, dependencies and build output), each one project."""
    found: list[Project] = []
    for folder, names in _walk(root):
        for name in RUNNER_FILES:
            if name not in names:
                continue
            path = folder / name
            if name == "refinery.toml":
                migrations = folder / str(_own_dir(folder) or "migrations")
                found.append(Project(_rel(folder, root), folder, migrations.resolve()))
            else:
                dir_ = flyway_settings(path)["dir"]
                found.append(Project(_rel(folder, root), folder, (folder / dir_).resolve(),
                                     "flyway", path))
            break  # one project per folder: refinery.toml first
    return found


def _walk(root: Path) -> Iterator[tuple[Path, set[str]]]:
    seen = 0
    pending = [(root, 0)]
    while pending and seen < MAX_FOLDERS:
        folder, depth = pending.pop(0)
        seen += 1
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        names = {e.name for e in entries if e.is_file()}
        yield folder, names
        if depth >= MAX_DEPTH:
            continue
        for entry in sorted(entries, key=lambda e: e.name):
            if (entry.is_dir(follow_symlinks=False) and not entry.name.startswith(".")
                    and entry.name not in SKIPPED):
                pending.append((Path(entry.path), depth + 1))


def _own_dir(folder: Path) -> str | None:
    """A `dir` configured in the project's own configuration file, if any."""
    for _, _, settings in config_tables(folder, None):
        for key, value in settings.items():
            if normalise_key(key) == "dir" and isinstance(value, str):
                return value
    return None


def _rel(path: Path, root: Path) -> str:
    from migration_gate.basefiles import relative_to

    return relative_to(path.resolve(), root.resolve())


def configured_projects(config: Config, root: Path) -> list[Project]:
    """The `projects:` entries: each `dir` relative to the configuration's folder; the
    project's own files are in the migrations folder's parent."""
    projects = []
    for entry in config.projects:
        migrations = (config.project_dir / entry.dir).resolve()
        settings = dict(entry.settings)
        runner: RunnerName = "flyway" if settings.get("runner") == "flyway" else "refinery"
        project_dir = migrations.parent
        runner_file = next((project_dir / n for n in RUNNER_FILES[1:]
                            if (project_dir / n).is_file()), None) if runner == "flyway" else None
        projects.append(Project(_rel(migrations, root), project_dir, migrations, runner,
                                runner_file, entry.settings, entry.origin))
    return projects


def projects_of(config: Config, root: Path) -> list[Project]:
    return configured_projects(config, root) if config.projects else discover_projects(root)


def project_for_folder(projects: list[Project], folder: Path) -> Project | None:
    """The project whose migrations folder is `folder` or holds it."""
    folder = folder.resolve()
    matches = [p for p in projects if folder == p.migrations or p.migrations in folder.parents]
    return max(matches, key=lambda p: len(p.migrations.parts)) if matches else None


def project_around(folder: Path, stop: Path) -> Project | None:
    """The project of a migrations folder named on the command line: the nearest folder, from
    it up to `stop`, holding a runner file (refinery.toml, flyway.conf, flyway.toml)."""
    folder, stop = folder.resolve(), stop.resolve()
    if stop != folder and stop not in folder.parents:
        return None  # another repository's folder: its own configuration, as before
    for candidate in (folder, *folder.parents):
        for name in RUNNER_FILES:
            if (candidate / name).is_file():
                runner_file = None if name == "refinery.toml" else candidate / name
                return Project(_rel(candidate, stop), candidate, folder,
                               "refinery" if runner_file is None else "flyway", runner_file)
        if candidate == stop:
            break
    return None


def project_for_file(projects: list[Project], path: Path) -> Project | None:
    """The project a migration file belongs to (the deepest folder holding it)."""
    return project_finder(projects)(path)


def project_finder(projects: list[Project]) -> Callable[[Path], Project | None]:
    """`project_for_file` for many files: each folder is resolved and matched once (linting
    thousands of files would otherwise resolve each path and walk its parents)."""
    by_folder: dict[Path, Project | None] = {}
    homes = [(p, str(p.migrations) + os.sep, str(p.project_dir) + os.sep) for p in projects]

    def find(path: Path) -> Project | None:
        folder = path.parent
        if folder not in by_folder:
            inside = str(folder.resolve()) + os.sep
            matches = [p for p, migrations, project_dir in homes
                       if inside.startswith(migrations) or inside.startswith(project_dir)]
            by_folder[folder] = (max(matches, key=lambda p: len(p.migrations.parts))
                                 if matches else None)
        return by_folder[folder]

    return find


# --- a project's settings --------------------------------------------------------------------


def project_config(
    root_dir: Path, project: Project, overrides: Mapping[str, Any] | None,
    read: Reader = read_working_tree, explicit: Path | None = None,
) -> Config:
    """The project's effective configuration (see the module's docstring for the layers)."""
    config = Config(project_dir=project.project_dir, config_dirs=(root_dir, project.project_dir),
                    project_name=project.name, runner=project.runner)
    for _, origin, settings in config_tables(root_dir, explicit, read):
        shared = {k: v for k, v in settings.items() if normalise_key(k) not in _ROOT_ONLY}
        config = apply_settings(config, shared, origin)
    if project.project_dir != root_dir:
        for path, origin, settings in config_tables(project.project_dir, None, read):
            own = {k: v for k, v in settings.items() if normalise_key(k) != "projects"}
            config = apply_settings(config, own, origin)
            if path.name == "refinery.toml":
                from migration_gate.config import _refinery_settings

                config = replace(config, refinery_main=_refinery_settings(path)[1])
    if project.runner_file is not None:
        config = apply_settings(config, flyway_settings(project.runner_file),
                                str(project.runner_file))
    if project.entry:
        entry = {k: v for k, v in project.entry if normalise_key(k) != "dir"}
        config = apply_settings(config, entry, project.entry_origin)
    migrations = os.path.relpath(project.migrations, project.project_dir)
    config = replace(config, dir=migrations, runner=config.runner)
    return finish_config(config, overrides)


def entry_at(config: Config, project_name: str, root: Path) -> Project | None:
    """The project named `project_name` in `config`'s `projects:` list."""
    return next((p for p in configured_projects(config, root) if p.name == project_name), None)


def reload_project(
    config: Config, project: Project | None, explicit: Path | None,
    overrides: Mapping[str, Any] | None, read: Reader,
) -> Config:
    """`config` rebuilt from the files `read` gives (the base commit's): the same project, its
    `projects:` entry as the base has it (none when the base lacks it)."""
    from migration_gate.config import load_config

    if project is None:
        return reload_config(config, explicit, overrides, read)
    found_dir = config.config_dirs[0] if config.config_dirs else config.project_dir
    at_base = load_config(found_dir, explicit=explicit, read=read, found_dir=found_dir)
    entry = next((e for e in at_base.projects
                  if (at_base.project_dir / e.dir).resolve() == project.migrations), None)
    same = replace(project, entry=entry.settings if entry else (),
                   entry_origin=entry.origin if entry else "")
    return project_config(found_dir, same, overrides, read, explicit)
