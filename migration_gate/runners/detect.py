"""Which runner a project uses, told from its files: pure, the caller lists and reads them.

In order: an explicit setting wins; `refinery.toml` means refinery; `flyway.conf`,
`flyway.toml`, `spring.flyway.*` in a Spring `application*.yml|yaml|properties`, an `R__`
file or a dotted version (`V1.1__x.sql`, `V1_1__x.sql`) mean Flyway; otherwise refinery (the
gate's original runner). The reason is one line a user can check ("flyway.conf at services/x").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath

from migration_gate import refinery
from migration_gate.runners.model import RunnerName


@functools.cache
def _spring() -> re.Pattern[str]:
    """Compiled on first use, as `_property`: only a project with Spring files needs them."""
    return re.compile(r"^application(-[^/]*)?\.(ya?ml|properties)$")


@functools.cache
def _property() -> re.Pattern[str]:
    return re.compile(r"^[ \t]*spring\.flyway\.([A-Za-z0-9_.\-\[\]]+)[ \t]*[=:]?[ \t]*(.*)$",
                      re.MULTILINE)


_REPEATABLE = re.compile(r"R__.+\.sql", re.IGNORECASE | re.DOTALL)
_DOTTED = re.compile(r"V[0-9]+(?:[._][0-9]+)+__.+\.sql", re.IGNORECASE | re.DOTALL)
#: Flyway's default location (`classpath:db/migration`), as laid out by Maven and Gradle
_FLYWAY_LOCATION = ("db", "migration")


def _show(text: object) -> str:
    """A path fit for a one-line reason (control characters escaped)."""
    shown = str(text)
    return shown if shown.isprintable() else repr(shown)


def _where(path: PurePosixPath) -> str:
    folder = str(path.parent)
    return "at the repository root" if folder in ("", ".") else f"at {_show(folder)}"


def spring_flyway(file_name: str, text: str) -> bool:
    """Whether a Spring configuration sets `spring.flyway.*` (an explicit
    `spring.flyway.enabled: false` turns Flyway off, so it does not count)."""
    if file_name.endswith(".properties"):
        found = _property().findall(text)
        return bool(found) and not any(
            key == "enabled" and value.strip().lower() == "false" for key, value in found)
    return _yaml_spring_flyway(text)


def _yaml_spring_flyway(text: str) -> bool:
    import yaml  # only when a Spring YAML file is there

    try:
        documents = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    except Exception:  # broken YAML (PyYAML also raises ValueError on bad dates): read the text
        return bool(re.search(r"(?m)^spring\.flyway\.|^[ \t]+flyway:", text))
    for document in documents:
        flat = {str(k): v for k, v in document.items()}
        spring = flat.get("spring")
        settings = spring.get("flyway") if isinstance(spring, dict) else None
        if settings is None and any(k.startswith("spring.flyway.") for k in flat):
            settings = {k[len("spring.flyway."):]: v for k, v in flat.items()
                        if k.startswith("spring.flyway.")}
        if settings is None:
            continue
        if isinstance(settings, dict) and settings.get("enabled") is False:
            continue
        return True
    return False


def detect_runner(
    paths: Iterable[str],
    config_texts: Mapping[str, str],
    *,
    explicit: RunnerName | None = None,
    explicit_source: str = "the configuration",
) -> tuple[RunnerName, str]:
    """The runner and why, from repository-relative POSIX `paths` (every file of the project)
    and the text of its configuration files (`config_texts`, keyed by path; Spring files
    whose text is not given are not looked into)."""
    if explicit is not None:
        return explicit, f"runner {explicit} set by {explicit_source}"
    # each sign's first file in `_order_key`'s order, found without sorting thousands of paths
    named = [(p, p.rpartition("/")[2]) for p in paths]
    found = _first([pair for pair in named if pair[1] == "refinery.toml"])
    if found is not None:
        return "refinery", f"refinery.toml {_where(PurePosixPath(found[0]))}"
    found = _first([pair for pair in named if pair[1] in ("flyway.conf", "flyway.toml")])
    if found is not None:
        return "flyway", f"{found[1]} {_where(PurePosixPath(found[0]))}"
    for key in sorted(config_texts, key=lambda k: (len(PurePosixPath(k).parts), k)):
        config = PurePosixPath(key)
        if _spring().match(config.name) and spring_flyway(config.name, config_texts[key]):
            return "flyway", f"spring.flyway settings in {_show(config)}"
    found = _first([pair for pair in named if _REPEATABLE.fullmatch(pair[1])])
    if found is not None:
        path, name = found
        return "flyway", f"{_show(name)} is a Flyway repeatable migration ({_show(path)})"
    found = _first([pair for pair in named if _DOTTED.fullmatch(pair[1])])
    if found is not None:
        path, name = found
        return "flyway", f"{_show(name)} has a dotted Flyway version ({_show(path)})"
    return "refinery", DEFAULT_REASON


def _first(pairs: list[tuple[str, str]]) -> tuple[str, str] | None:
    """The first of `pairs` in `_order_key`'s order (shallowest, then by path), or None."""
    return min(pairs, key=_order_key) if pairs else None


DEFAULT_REASON = "no refinery.toml and no sign of Flyway: refinery, the default"


def weak_flyway_sign(paths: Iterable[str]) -> str | None:
    """Why a project `detect_runner` left to the default looks like Flyway's after all, or
    None: its SQL lives under `db/migration` (Flyway's and Spring Boot's default location), or
    a versioned name only Flyway reads (`V417__ny-egenskap.sql`). Weaker than the signals of
    `detect_runner` (a misnamed refinery file looks the same), so the edge asks only when
    nothing else spoke, and only about the files already merged."""
    # the first in `_order_key`'s order, found without sorting thousands of paths of which, in
    # the usual refinery folder, none is a sign
    named = [(p, p.rpartition("/")[2]) for p in paths]
    # `PurePosixPath(path).suffix == ".sql"`: a dot-file such as `.sql` has no suffix
    # the substring first: a path under `db/migration` holds it (nearly no path does)
    located = [pair for pair in named if "db/migration/" in pair[0] and pair[1].endswith(".sql")
               and pair[1].rfind(".") > 0 and _in_flyway_location(pair[0])]
    if located:
        path, _ = min(located, key=_order_key)
        return f"migrations in {_show(PurePosixPath(path).parent)}, Flyway's default location"
    flyway_only = [pair for pair in named if _only_flyway_reads(pair[1])]
    if flyway_only:
        path, name = min(flyway_only, key=_order_key)
        return f"{_show(name)} is a name only Flyway reads ({_show(path)})"
    return None


def _order_key(pair: tuple[str, str]) -> tuple[int, str]:
    """The order signs are looked for in: shallowest first, then by path (the listing's
    paths are clean, relative and POSIX: their depth is their count of `/`)."""
    return (pair[0].count("/"), pair[0])


def _in_flyway_location(path: str) -> bool:
    """Under `db/migration` (`src/main/resources/db/migration/V1__x.sql`, or a vendor folder
    below it): where Spring Boot and Flyway's Java API look by default."""
    parts = tuple(path.split("/")[:-1])
    return any(parts[i:i + 2] == _FLYWAY_LOCATION for i in range(len(parts) - 1))


def _only_flyway_reads(file_name: str) -> bool:
    """`V417__ny-egenskap.sql`: a versioned name Flyway runs and refinery skips. Flyway's
    name parser is imported only for a name refinery does not read (none, in a refinery
    project: its `check` runs on every commit)."""
    if not file_name.startswith("V") or not file_name.endswith(".sql"):
        return False
    # asked as the folder's discovery asks (`.rs` too: same answer for an `.sql` name), so
    # that each name is parsed once per run, not once here and once there
    if isinstance(refinery.parse_file_name(file_name, extensions=("rs", "sql")),
                  refinery.MigrationName):
        return False
    from migration_gate.runners.flyway_names import parse_file_name
    from migration_gate.runners.flyway_settings import FlywaySettings
    from migration_gate.runners.model import ParsedMigration

    return isinstance(parse_file_name(file_name, FlywaySettings()), ParsedMigration)
