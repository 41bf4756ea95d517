"""Every configuration key: the `Config` field it sets and the validator of its value.

A validator takes (the key as the user wrote it, its value, the file it comes from) and returns
the value for `Config`, or raises a `GateError` naming the key and the file. Kept apart from
`config` (which loads and layers the files) so that each stays small.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migration_gate.diagnostics import GateError, Severity
from migration_gate.runners.model import RUNNER_NAMES
from migration_gate.types import DIALECTS


@dataclass(frozen=True)
class ProjectEntry:
    """One entry of `projects:`: its migrations folder (relative to the configuration file's
    folder) and the settings that override the shared ones for it (validated on load)."""

    dir: str
    settings: tuple[tuple[str, Any], ...]
    origin: str = field(default="", compare=False)



def _as_str(key: str, value: Any, origin: str) -> str:
    if not isinstance(value, str) or not value:
        raise GateError(f"{origin}: `{key}` must be a non-empty string, not {value!r}")
    return value


def _as_choice(choices: tuple[str, ...]) -> Callable[[str, Any, str], str]:
    def check(key: str, value: Any, origin: str) -> str:
        if value not in choices:
            raise GateError(f"{origin}: `{key}` must be one of {', '.join(choices)}, not {value!r}")
        return str(value)

    return check


def _as_severity(key: str, value: Any, origin: str) -> Severity:
    if value not in ("error", "warning"):
        raise GateError(f"{origin}: `{key}` must be `error` or `warning`, not {value!r}")
    return Severity(value)


def _as_bool(key: str, value: Any, origin: str) -> bool:
    if not isinstance(value, bool):
        raise GateError(f"{origin}: `{key}` must be true or false, not {value!r}")
    return value


def _as_padding(key: str, value: Any, origin: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise GateError(f"{origin}: `{key}` must be a whole number from 0 to 10, not {value!r}")
    return value


def _as_major_version(key: str, value: Any, origin: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 9 <= value <= 99:
        raise GateError(f"{origin}: `{key}` must be a PostgreSQL major version, not {value!r}")
    return value


#: The longest replay.timeout: a throwaway database older than this (plus its clean-up) is
#: known to be abandoned (`migration_gate.ephemeral.leftovers`).
MAX_REPLAY_TIMEOUT = 3000


def _as_timeout(key: str, value: Any, origin: str) -> float:
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not 0 < value <= MAX_REPLAY_TIMEOUT):
        raise GateError(f"{origin}: `{key}` must be a number of seconds, more than 0 and at "
                        f"most {MAX_REPLAY_TIMEOUT}, not {value!r}")
    return float(value)


#: At most this many `replay.setup` files (a setup is roles, grants, schemas, extensions).
MAX_SETUP_FILES = 20


def _as_setup(key: str, value: Any, origin: str) -> tuple[str, ...]:
    """`replay.setup`: SQL files relative to the configuration file's folder (their existence
    and size are checked when the replay reads them: `replaysetup.load_setup`)."""
    if isinstance(value, str):
        value = [value]
    if (not isinstance(value, list) or not value or len(value) > MAX_SETUP_FILES
            or not all(isinstance(v, str) and v.strip() for v in value)):
        raise GateError(f"{origin}: `{key}` must be a list of 1 to {MAX_SETUP_FILES} SQL file "
                        f"paths, not {value!r}")
    for path in value:
        if Path(path).is_absolute() or path.startswith("~"):
            raise GateError(f"{origin}: `{key}`: {path!r} must be relative to the "
                            "configuration file's folder (it is read from the repository)")
    return tuple(value)


def _as_sqlite_version(key: str, value: Any, origin: str) -> tuple[int, int]:
    """`sqlite.version: "3.35"` (a string: YAML would read 3.40 as the float 3.4)."""
    match = re.fullmatch(r"3\.(\d{1,3})(?:\.\d+)?", str(value).strip()) if isinstance(
        value, str) else None
    if match is None:
        raise GateError(f"{origin}: `{key}` must be a SQLite version as a string, like \"3.40\", "
                        f"not {value!r}")
    return 3, int(match.group(1))


def _as_pattern(key: str, value: Any, origin: str) -> str:
    text = _as_str(key, value, origin)
    try:
        re.compile(text)
    except re.error as error:
        raise GateError(f"{origin}: `{key}` is not a valid regular expression: {error}") from None
    from migration_gate.patterns import nested_quantifier

    slow = nested_quantifier(text)
    if slow:
        raise GateError(f"{origin}: `{key}` {text!r} is refused: {slow}; write it without the "
                        "nested repetition (e.g. [a-z0-9]+(_[a-z0-9]+)*)")
    return text


def _as_globs(key: str, value: Any, origin: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise GateError(f"{origin}: `{key}` must be a list of path patterns, not {value!r}")
    return tuple(value)


def _as_rules(key: str, value: Any, origin: str) -> tuple[tuple[str, Severity], ...]:
    from migration_gate.catalog import all_rules

    if not isinstance(value, Mapping):
        raise GateError(f"{origin}: `{key}` must map rule ids to error, warning or off")
    known = all_rules()
    result = []
    for rule_id, level in value.items():
        if rule_id not in known:
            raise GateError(f"{origin}: `{key}.{rule_id}` is not a known rule id")
        if level not in ("error", "warning", "off"):
            raise GateError(
                f"{origin}: `{key}.{rule_id}` must be error, warning or off, not {level!r}"
            )
        result.append((str(rule_id), Severity(level)))
    return tuple(result)


def _as_projects(key: str, value: Any, origin: str) -> tuple[ProjectEntry, ...]:
    """`projects:` a list of mappings, each with a `dir` and any other key but `projects`."""
    if not isinstance(value, list) or not value:
        raise GateError(f"{origin}: `{key}` must be a list of projects, each with a `dir`")
    entries = []
    for index, item in enumerate(value):
        where = f"{origin}: `{key}[{index}]`"
        if not isinstance(item, Mapping) or "dir" not in item:
            raise GateError(f"{where} must be a mapping with a `dir`")
        if any(normalise_key(str(k)) == "projects" for k in item):
            raise GateError(f"{where}: a project cannot hold `projects`")
        settings = {str(k): v for k, v in item.items()}
        from migration_gate.config import Config, apply_settings  # it imports this module

        apply_settings(Config(), settings, f"{origin} {key}[{index}]")  # validates every key
        entries.append(ProjectEntry(_as_str(f"{key}[{index}].dir", item["dir"], origin),
                                    tuple(settings.items()), f"{origin} {key}[{index}]"))
    dirs = [entry.dir.rstrip("/") for entry in entries]
    if len(set(dirs)) != len(dirs):
        raise GateError(f"{origin}: `{key}` names a folder twice")
    return tuple(entries)


_Validator = Callable[[str, Any, str], Any]

#: Every configuration key: its Config field and its validator.
SCHEMA: dict[str, tuple[str, _Validator]] = {
    "dir": ("dir", _as_str),
    "base": ("base", _as_str),
    "dialect": ("dialect", _as_choice(DIALECTS)),
    "fail_on": ("fail_on", _as_severity),
    "verify": ("verify", _as_bool),
    "padding": ("padding", _as_padding),
    "name_pattern": ("name_pattern", _as_pattern),
    "exclude": ("exclude", _as_globs),
    "rules": ("rules", _as_rules),
    "table_name": ("table_name", _as_str),
    "int8_versions": ("int8_versions", _as_bool),
    "database_url": ("database_url", _as_str),
    "runner": ("runner", _as_choice(RUNNER_NAMES)),
    "projects": ("projects", _as_projects),
    "applied": ("applied", _as_str),
    "postgres.bin_dir": ("postgres_bin_dir", _as_str),
    "postgres.version": ("postgres_version", _as_major_version),
    "replay.timeout": ("replay_timeout", _as_timeout),
    "replay.setup": ("replay_setup", _as_setup),
    "sqlite.version": ("sqlite_version", _as_sqlite_version),
}


def normalise_key(key: str) -> str:
    """`kebab-case` and `snake_case` keys are the same key."""
    return key.replace("-", "_")
