"""Configuration: defaults < refinery.toml < pyproject.toml / .migration-gate.yaml < flags.

Every key is validated; an unknown key or a bad value is a `GateError` naming the key and the
file. Keys may be written `kebab-case` or `snake_case`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from migration_gate.config_schema import MAX_REPLAY_TIMEOUT as MAX_REPLAY_TIMEOUT
from migration_gate.config_schema import SCHEMA as SCHEMA
from migration_gate.config_schema import ProjectEntry as ProjectEntry
from migration_gate.config_schema import normalise_key
from migration_gate.diagnostics import GateError, Severity
from migration_gate.runners.model import RunnerName
from migration_gate.types import Dialect

FORMATS = ("text", "json", "github", "sarif")
REFINERY_DB_TYPES: dict[str, Dialect] = {
    "Postgres": "postgres", "Mysql": "mysql", "Sqlite": "sqlite", "Mssql": "mssql",
}
CONFIG_FILE_NAMES = (".migration-gate.yaml", ".migration-gate.yml")
#: The migration runners' own configuration files, each of which names a project.
RUNNER_FILES = ("refinery.toml", "flyway.conf", "flyway.toml")


@dataclass(frozen=True)
class Config:
    """The effective settings of one run, and where each came from (for error messages)."""

    dir: str = "migrations"
    base: str | None = None
    dialect: Dialect = "postgres"
    fail_on: Severity = Severity.ERROR
    verify: bool | None = None  # None: replay when an ephemeral database can be had
    padding: int | None = None  # None: inferred from the existing files
    name_pattern: str = "[a-z0-9_]+"
    exclude: tuple[str, ...] = ()
    rules: tuple[tuple[str, Severity], ...] = ()  # per-rule severity overrides, "off" disables
    table_name: str = "refinery_schema_history"
    int8_versions: bool = False
    postgres_bin_dir: str | None = None
    postgres_version: int | None = None  # the target server's major version, for rules
    sqlite_version: tuple[int, int] | None = None  # the target SQLite (None: a current one)
    database_url: str | None = None
    runner: RunnerName | None = None  # None: detected from the project (runners.detect_runner)
    replay_timeout: float = 120.0  # seconds the whole database replay may take
    #: SQL files run once in the throwaway database before the base (`replaysetup`), relative
    #: to `project_dir` (the configuration file's folder)
    replay_setup: tuple[str, ...] = ()
    #: A monorepo's `projects:` entries: each its `dir` and its own settings as written.
    projects: tuple[ProjectEntry, ...] = ()
    applied: str | None = None  # production's applied history (a file), the history reference
    # where things come from, for messages and for relative paths
    project_dir: Path = field(default_factory=Path.cwd, compare=False)
    sources: tuple[str, ...] = field(default=(), compare=False)
    explicit_keys: frozenset[str] = field(default=frozenset(), compare=False)
    refinery_main: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    #: The folders whose configuration files made this configuration (the base re-reads them)
    config_dirs: tuple[Path, ...] = field(default=(), compare=False)
    #: The commit whose `replay.setup` files are run: the base's, when its configuration
    #: governs (`workspace.governed_by_base`); None: the working tree's
    setup_commit: str | None = field(default=None, compare=False)
    #: In a monorepo, the project's folder relative to the repository root (None otherwise)
    project_name: str | None = field(default=None, compare=False)

    @property
    def migrations_path(self) -> Path:
        return (self.project_dir / self.dir).resolve()

    def severity_for(self, rule: str, default: Severity) -> Severity:
        for rule_id, severity in self.rules:
            if rule_id == rule:
                return severity
        return default


_NESTED = {"postgres", "replay", "sqlite"}


def _flatten(table: Mapping[str, Any], origin: str) -> dict[str, tuple[str, Any]]:
    """Normalised key → (the key as the user wrote it, for messages; its value)."""
    flat: dict[str, tuple[str, Any]] = {}
    for raw_key, value in table.items():
        key = normalise_key(str(raw_key))
        if key in _NESTED:
            if not isinstance(value, Mapping):
                raise GateError(f"{origin}: `{raw_key}` must be a table of settings")
            for sub_key, sub_value in value.items():
                flat[f"{key}.{normalise_key(str(sub_key))}"] = (f"{raw_key}.{sub_key}", sub_value)
        else:
            flat[key] = (str(raw_key), value)
    return flat


def apply_settings(config: Config, table: Mapping[str, Any], origin: str) -> Config:
    """Validate `table` (one configuration file's settings) and lay it over `config`."""
    changes: dict[str, Any] = {}
    for key, (written, value) in _flatten(table, origin).items():
        if key not in SCHEMA:
            raise GateError(f"{origin}: unknown configuration key `{written}`")
        field_name, validate = SCHEMA[key]
        changes[field_name] = validate(written, value, origin)
    return replace(
        config,
        sources=(*config.sources, origin),
        explicit_keys=config.explicit_keys | set(changes),
        **changes,
    )


#: How configuration files are read: the working tree's (`read_working_tree`), or a commit's
#: (the base's, which governs a run compared with a base: see `migration_gate.baseconfig`).
#: Returns the file's bytes, or None when there is no such file.
Reader = Callable[[Path], "bytes | None"]


def read_working_tree(path: Path) -> bytes | None:
    if path.is_dir() and path.name in CONFIG_FILE_NAMES:
        raise GateError(f"{path} is a folder, not a configuration file: remove or rename it")
    if not path.is_file():
        return None
    try:
        return path.read_bytes()
    except OSError as error:
        raise GateError(f"cannot read {path}: {error.strerror}") from None


def _read(path: Path, read: Reader) -> bytes:
    data = read(path)
    if data is None:
        raise GateError(f"configuration file not found: {path}")
    return data


def _load_toml(path: Path, read: Reader = read_working_tree) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
    try:
        data: dict[str, Any] = tomllib.loads(_read(path, read).decode("utf-8"))
        return data
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise GateError(f"{path}: invalid TOML: {error}") from None


def _load_yaml(path: Path, read: Reader = read_working_tree) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(_read(path, read).decode("utf-8"))
    except yaml.MarkedYAMLError as error:
        # the first line alone ("while parsing a flow node") says neither what nor where
        mark = error.problem_mark or error.context_mark
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        what = error.problem or error.context or "syntax error"
        raise GateError(f"{path}{where}: invalid YAML: {what}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise GateError(f"{path}: invalid YAML: {error}".splitlines()[0]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise GateError(f"{path}: expected a mapping of settings at the top level")
    return data


def _refinery_settings(
    path: Path, read: Reader = read_working_tree
) -> tuple[dict[str, Any], tuple[tuple[str, str], ...]]:
    """refinery.toml's `[main]`: `db_type` selects the dialect; the rest is kept for `status`."""
    data = _load_toml(path, read)
    main = data.get("main", {})
    if not isinstance(main, dict):
        raise GateError(f"{path}: `[main]` must be a table")
    settings: dict[str, Any] = {}
    db_type = main.get("db_type")
    if db_type is not None:
        if not isinstance(db_type, str) or db_type not in REFINERY_DB_TYPES:
            raise GateError(
                f"{path}: `main.db_type` must be one of {', '.join(REFINERY_DB_TYPES)}, "
                f"not {db_type!r}"
            )
        settings["dialect"] = REFINERY_DB_TYPES[db_type]
    kept = tuple((str(k), str(v)) for k, v in main.items())
    return settings, kept


def _pyproject_settings(path: Path, read: Reader = read_working_tree) -> dict[str, Any] | None:
    tool = _load_toml(path, read).get("tool", {})
    section = tool.get("migration-gate") if isinstance(tool, dict) else None
    if section is None:
        return None
    if not isinstance(section, dict):
        raise GateError(f"{path}: `[tool.migration-gate]` must be a table")
    return section


def find_project_dir(start: Path, stop: Path | None) -> Path:
    """The nearest folder (from `start` up to `stop`) holding a configuration file; without
    one, inside a repository, the nearest holding a `migrations` folder (so that commands work
    from any sub-folder, the migrations folder itself included); else `start`."""
    current = start.resolve()
    with_migrations = None
    while True:
        if (current / "refinery.toml").is_file() or any(
            (current / name).is_file() for name in CONFIG_FILE_NAMES
        ):
            return current
        pyproject = current / "pyproject.toml"
        if pyproject.is_file() and b"[tool.migration-gate" in pyproject.read_bytes():
            return current
        if with_migrations is None and (current / Config.dir).is_dir():
            with_migrations = current
        if (stop is not None and current == stop) or current.parent == current:
            if stop is not None and with_migrations is not None:
                return with_migrations
            return start.resolve()
        current = current.parent


def config_tables(
    project_dir: Path, explicit: Path | None, read: Reader = read_working_tree
) -> list[tuple[Path, str, dict[str, Any]]]:
    """The configuration files of a project that exist, in the order they apply: each with
    its origin (for messages) and its settings as written (validated by `apply_settings`)."""
    tables: list[tuple[Path, str, dict[str, Any]]] = []
    refinery_toml = project_dir / "refinery.toml"
    # the runner's own file describes the database the migrations run on: always the working
    # tree's (it holds nothing that loosens the gate)
    if (explicit is None or explicit.name not in RUNNER_FILES) and refinery_toml.is_file():
        settings, _kept = _refinery_settings(refinery_toml)
        tables.append((refinery_toml, str(refinery_toml), settings))
    if explicit is not None:
        runner_file = explicit.name in RUNNER_FILES
        source = read_working_tree if runner_file else read
        if source is not read_working_tree and source(explicit) is None:
            return tables  # a file the branch adds: the base has none, its defaults govern
        tables.append((explicit, str(explicit), _read_explicit(explicit, source)))
        return tables
    pyproject = project_dir / "pyproject.toml"
    data = read(pyproject)
    if data is not None and b"[tool.migration-gate" in data:
        section = _pyproject_settings(pyproject, read)
        if section is not None:
            tables.append((pyproject, f"{pyproject} [tool.migration-gate]", section))
    for name in CONFIG_FILE_NAMES:
        candidate = project_dir / name
        if read(candidate) is not None:
            tables.append((candidate, str(candidate), _load_yaml(candidate, read)))
            break
    return tables


def load_config(
    start: Path,
    *,
    stop: Path | None = None,
    explicit: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    read: Reader = read_working_tree,
    found_dir: Path | None = None,
) -> Config:
    """Build the effective configuration for a run started in `start` (its files read with
    `read`: the working tree's by default, the base commit's when the base governs;
    `found_dir`: the folder of the configuration files, when already known)."""
    project_dir = found_dir or find_project_dir(start, stop)
    config = Config(project_dir=project_dir if explicit is None else explicit.resolve().parent,
                    config_dirs=(project_dir,))
    for path, origin, settings in config_tables(project_dir, explicit, read):
        config = apply_settings(config, settings, origin)
        if path.name == "refinery.toml":
            config = replace(config, refinery_main=_refinery_settings(path)[1])
    if explicit is not None and explicit.name in RUNNER_FILES:
        config = replace(config, runner="flyway" if explicit.name != "refinery.toml"
                         else config.runner)
    return finish_config(config, overrides)


def reload_config(config: Config, explicit: Path | None,
                  overrides: Mapping[str, Any] | None, read: Reader) -> Config:
    """`config` rebuilt from the files `read` gives (the base commit's), for a run that is no
    monorepo project (`projects.reload_project` does a project's)."""
    found_dir = config.config_dirs[0] if config.config_dirs else config.project_dir
    return load_config(found_dir, explicit=explicit, overrides=overrides, read=read,
                       found_dir=found_dir)


def is_multi_project(config: Config, dir_flag: str | None, repo_root: Path | None) -> bool:
    """Projects are configured, or, in a git repository, nothing names a migrations folder and
    the default is absent (a monorepo's root): single-project repositories keep their
    behaviour, and a folder outside git is never walked. Here, not in `projects`: a plain
    run asks it and never imports the monorepo code (issue 16)."""
    if config.projects:
        return True
    return (repo_root is not None and dir_flag is None and "dir" not in config.explicit_keys
            and not config.migrations_path.exists())


def finish_config(config: Config, overrides: Mapping[str, Any] | None) -> Config:
    """The command line's flags over the files, then the dialect a database URL implies."""
    if overrides:
        given = {k: v for k, v in overrides.items() if v is not None}
        config = apply_settings(config, given, "command line") if given else config
    if "dialect" not in config.explicit_keys and config.database_url:
        inferred = dialect_of_url(config.database_url)
        if inferred is not None:
            config = replace(config, dialect=inferred)
    return config


_URL_SCHEMES: dict[str, Dialect] = {
    "postgres": "postgres", "postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql",
    "sqlite": "sqlite", "mssql": "mssql", "sqlserver": "mssql",
}


def dialect_of_url(url: str) -> Dialect | None:
    """The dialect a database URL implies (`mysql://…` → mysql), used when none is configured."""
    scheme = url.partition(":")[0].lower().split("+", 1)[0]
    return _URL_SCHEMES.get(scheme)


def _read_explicit(path: Path, read: Reader = read_working_tree) -> dict[str, Any]:
    if path.is_dir():
        raise GateError(f"--config {path} is a folder: pass the configuration file itself")
    if read(path) is None:
        raise GateError(f"configuration file not found: {path}")
    if path.name == "pyproject.toml":
        return _pyproject_settings(path, read) or {}
    if path.name == "refinery.toml":
        return _refinery_settings(path, read)[0]
    if path.name in ("flyway.conf", "flyway.toml"):
        from migration_gate.projects import flyway_settings

        return flyway_settings(path, read)
    if path.suffix == ".toml":
        data = _load_toml(path, read)
        section = data.get("tool", {}).get("migration-gate") if "tool" in data else None
        return section if isinstance(section, dict) else data
    return _load_yaml(path)
