"""The I/O edge of runner detection: which files are looked at, read, and handed to the pure
`runners.detect_runner`; a Flyway project's `flyway.conf` / `flyway.toml` read into its
`FlywaySettings`.

Only the folders from the migrations folder up to the project's top (the repository root) are
looked into, plus each one's `conf/` (the Flyway CLI's) and `src/main/resources/` (Spring's):
listing a whole repository would cost more than the check itself on a large monorepo.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from migration_gate.diagnostics import GateError
from migration_gate.runners.model import RunnerChoice, RunnerName

if TYPE_CHECKING:
    from migration_gate.runners.flyway import FlywayRunner

_CONFIG_NAMES = ("refinery.toml", "flyway.conf", "flyway.toml")
_FLYWAY_CONFIGS = ("flyway.conf", "flyway.toml")
_SPRING_GLOBS = ("application*.yml", "application*.yaml", "application*.properties")
#: The Spring files whose `spring.flyway.*` the settings come from (profiles' files are not:
#: the gate checks what every deployment runs), in rising precedence within one folder.
_SPRING_SETTINGS = ("application.yml", "application.yaml", "application.properties")
#: A Spring configuration file larger than this is not read for settings.
MAX_SPRING_BYTES = 1_000_000


def _levels(folder: Path, top: Path) -> list[Path]:
    """`folder` and its parents up to `top` (just `folder` when it is not below `top`)."""
    levels = [folder]
    current = folder
    while current != top and current.parent != current and top in current.parents:
        current = current.parent
        levels.append(current)
    return levels


def _rel(path: Path, top: Path) -> str:
    try:
        return path.relative_to(top).as_posix()
    except ValueError:
        return path.as_posix()


def project_files(folder: Path, top: Path) -> tuple[list[Path], list[Path]]:
    """(configuration files that say which runner, Spring configuration files) around
    `folder`, nearest first."""
    configs: list[Path] = []
    spring: list[Path] = []
    for level in _levels(folder, top):
        for place in (level, level / "conf"):
            configs.extend(place / name for name in _CONFIG_NAMES if (place / name).is_file())
        for place in (level, level / "src" / "main" / "resources"):
            if place.is_dir() and _may_hold_spring(place):
                for pattern in _SPRING_GLOBS:
                    spring.extend(sorted(p for p in place.glob(pattern) if p.is_file()))
    return configs, spring


def _may_hold_spring(place: Path) -> bool:
    """Whether a folder has a name starting `application` (any case, as a case-insensitive
    file system's glob would match): one listing instead of a glob per pattern, each of
    which reads the whole folder -- the migrations folder itself, thousands of files."""
    try:
        return any(name[:11].lower() == "application" for name in os.listdir(place))
    except OSError:
        return True  # let the globs meet the error as they did


def detect(
    folder: Path, top: Path, rels: Iterable[str], *,
    explicit: RunnerName | None = None, explicit_source: str = "the configuration",
) -> tuple[RunnerName, str, Path | None]:
    """The runner, why, and the Flyway configuration file to read (None when there is none)."""
    from migration_gate.runners.detect import DEFAULT_REASON, detect_runner, weak_flyway_sign

    folder, top = folder.resolve(), top.resolve()
    configs, spring = project_files(folder, top)
    texts: dict[str, str] = {}
    for path in spring:
        try:
            texts[_rel(path, top)] = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
    paths = [_rel(p, top) for p in configs]
    prefix = _rel(folder, top)
    paths.extend(rel if prefix in ("", ".") else f"{prefix}/{rel}" for rel in rels)
    name, reason = detect_runner(paths, texts, explicit=explicit,
                                 explicit_source=explicit_source)
    if reason == DEFAULT_REASON:
        sign = weak_flyway_sign(paths)
        if sign is not None:
            name, reason = "flyway", sign
    conf = next((p for p in configs if p.name in _FLYWAY_CONFIGS), None)
    return name, reason, conf if name == "flyway" else None


def choose(
    folder: Path, top: Path, rels: Iterable[str], *,
    configured: RunnerName | None, flag: RunnerName | None,
) -> RunnerChoice:
    """The runner a run uses: `--runner`, else the configured `runner`, else detected."""
    from migration_gate.runners import default_runner

    explicit = flag or configured
    source = "--runner" if flag else "the configuration"
    name, reason, conf = detect(folder, top, rels, explicit=explicit, explicit_source=source)
    if name != "flyway":
        return RunnerChoice(default_runner(name), reason)
    if conf is not None:  # the Flyway CLI's own configuration wins over Spring's
        return RunnerChoice(flyway_runner(conf), reason)
    return RunnerChoice(spring_flyway_runner(folder.resolve(), top.resolve())
                        or default_runner("flyway"),
                        reason)


def flyway_runner(conf: Path) -> FlywayRunner:
    """Flyway configured by `conf` (a `flyway.conf` or `flyway.toml`); a setting the gate
    cannot read is one clear error naming the file."""
    from migration_gate.runners.flyway import FlywayRunner
    from migration_gate.runners.flyway_conf import (
        FlywayConfError,
        parse_conf,
        parse_toml,
        settings_from,
    )

    try:
        text = conf.read_text(encoding="utf-8")
        values = parse_toml(text) if conf.suffix == ".toml" else parse_conf(text)
        return FlywayRunner(settings_from(values))
    except OSError as error:
        raise GateError(f"cannot read {conf}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise GateError(f"{conf}: not valid UTF-8") from None
    except FlywayConfError as error:
        raise GateError(f"{conf}: {error}") from None


def spring_flyway_runner(folder: Path, top: Path) -> FlywayRunner | None:
    """Flyway configured by the `spring.flyway.*` properties of the Spring Boot files around
    `folder` (`project_files`: each level's own and its `src/main/resources/`), None when they
    set none. The nearest folder wins; within one, `.properties` wins over `.yml`, as in Spring
    Boot. A file too large, unreadable or not valid YAML (Maven's `@project.version@` filter
    tokens are not) is skipped: the application, not the gate, is its judge."""
    from migration_gate.runners.flyway import FlywayRunner
    from migration_gate.runners.flyway_conf import FlywayConfError, settings_from
    from migration_gate.runners.flyway_spring import from_properties, from_yaml

    _configs, spring = project_files(folder, top)
    chosen = [p for p in dict.fromkeys(spring) if p.name in _SPRING_SETTINGS]
    rank = {name: i for i, name in enumerate(_SPRING_SETTINGS)}
    by_folder: dict[Path, list[Path]] = {}
    for path in chosen:
        by_folder.setdefault(path.parent, []).append(path)
    values: dict[str, object] = {}
    for parent in reversed(list(by_folder)):  # farthest first: nearer folders override
        for path in sorted(by_folder[parent], key=lambda p: rank[p.name]):
            try:
                if path.stat().st_size > MAX_SPRING_BYTES:
                    continue
                text = path.read_text(encoding="utf-8")
                found = from_properties(text) if path.suffix == ".properties" else from_yaml(text)
            except (OSError, UnicodeDecodeError, ValueError):
                continue
            try:
                settings_from(found)  # a value the model cannot read, named with its file
            except FlywayConfError as error:
                raise GateError(f"{_rel(path, top)}: spring.{error}".replace(
                    "spring.`flyway.", "`spring.flyway.")) from None
            values.update(found)
    return FlywayRunner(settings_from(values)) if values else None
