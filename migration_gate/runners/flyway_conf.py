"""`flyway.conf` and `flyway.toml` read into `FlywaySettings`: pure, the caller reads the file.

Only the settings the gate's model depends on are taken (the prefixes, separator and suffixes,
placeholders, the history table, `outOfOrder`, `mixed`, `validateMigrationNaming`,
`locations`...); every other key is Flyway's business and is ignored. A value the gate cannot
read (`flyway.mixed=maybe`) is a `FlywayConfError` naming the key, which the edge turns into
one clear line.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Callable, Mapping

from migration_gate.runners.flyway_settings import FlywaySettings


class FlywayConfError(ValueError):
    """A Flyway setting the gate cannot read."""


def _bool(key: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise FlywayConfError(f"`{key}` must be true or false, not {value!r}")


def _text(key: str, value: object) -> str:
    if isinstance(value, (list, dict)):
        raise FlywayConfError(f"`{key}` must be a single value, not {value!r}")
    return str(value).strip()


def _list(key: str, value: object) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(item).strip() for item in value if str(item).strip())
    if isinstance(value, dict):
        raise FlywayConfError(f"`{key}` must be a list, not {value!r}")
    return tuple(part.strip() for part in str(value).split(",") if part.strip())


_Reader = Callable[[str, object], object]
#: Flyway key (after `flyway.`) -> (FlywaySettings field, reader)
_KEYS: dict[str, tuple[str, _Reader]] = {
    "sqlMigrationPrefix": ("sql_migration_prefix", _text),
    "repeatableSqlMigrationPrefix": ("repeatable_sql_migration_prefix", _text),
    "undoSqlMigrationPrefix": ("undo_sql_migration_prefix", _text),
    "baselineMigrationPrefix": ("baseline_migration_prefix", _text),
    "sqlMigrationSeparator": ("sql_migration_separator", _text),
    "sqlMigrationSuffixes": ("sql_migration_suffixes", _list),
    "validateMigrationNaming": ("validate_migration_naming", _bool),
    "placeholderReplacement": ("placeholder_replacement", _bool),
    "placeholderPrefix": ("placeholder_prefix", _text),
    "placeholderSuffix": ("placeholder_suffix", _text),
    "placeholderSeparator": ("placeholder_separator", _text),
    "table": ("table", _text),
    "defaultSchema": ("default_schema", _text),
    "schemas": ("schemas", _list),
    "installedBy": ("installed_by", _text),
    "mixed": ("mixed", _bool),
    "executeInTransaction": ("execute_in_transaction", _bool),
    "group": ("group", _bool),
    "outOfOrder": ("out_of_order", _bool),
    "ignoreMigrationPatterns": ("ignore_migration_patterns", _list),
    "validateOnMigrate": ("validate_on_migrate", _bool),
    "baselineVersion": ("baseline_version", _text),
    "baselineDescription": ("baseline_description", _text),
    "encoding": ("encoding", _text),
    "locations": ("locations", _list),
    "postgresql.transactional.lock": ("postgresql_transactional_lock", _bool),
}
_PLACEHOLDER = "placeholders."


def settings_from(values: Mapping[str, object], base: FlywaySettings | None = None
                  ) -> FlywaySettings:
    """`FlywaySettings` from Flyway keys without their `flyway.` prefix (`table`,
    `placeholders.schema`); unknown keys are ignored, as they change nothing the gate models."""
    changes: dict[str, object] = {}
    placeholders = dict((base or FlywaySettings()).placeholders)
    for key, value in values.items():
        if key.startswith(_PLACEHOLDER) and len(key) > len(_PLACEHOLDER):
            placeholders[key[len(_PLACEHOLDER):]] = _text(f"flyway.{key}", value)
        elif key in _KEYS:
            field, read = _KEYS[key]
            changes[field] = read(f"flyway.{key}", value)
    changes["placeholders"] = tuple(sorted(placeholders.items()))
    return dataclasses.replace(base or FlywaySettings(), **changes)  # type: ignore[arg-type]


#: The Flyway keys (without `flyway.`) the gate reads, besides `placeholders.*`.
KNOWN_KEYS: tuple[str, ...] = tuple(_KEYS)


def parse_conf(text: str) -> dict[str, str]:
    """The `flyway.*` keys of a Java properties file, without their prefix."""
    values = parse_properties(text)
    return {key[len("flyway."):]: value for key, value in values.items()
            if key.startswith("flyway.")}


def parse_properties(text: str) -> dict[str, str]:
    """Every key of a Java properties file (`key=value` or `key: value`, `#` and `!`
    comments, `\\` continuations)."""
    found: dict[str, str] = {}
    logical: list[str] = []
    for raw in text.splitlines():
        line = raw.lstrip() if not logical else raw.strip()
        if not logical and (not line or line[0] in "#!"):
            continue
        if line.endswith("\\") and not line.endswith("\\\\"):
            logical.append(line[:-1])
            continue
        logical.append(line)
        entry, logical = "".join(logical), []
        match = re.match(r"^([^=:\s]+)\s*[=:\s]\s*(.*)$", entry)
        if match:
            found[match.group(1)] = match.group(2).strip()
    return found


def parse_toml(text: str) -> dict[str, object]:
    """The `[flyway]` table of a `flyway.toml` (and `[flyway.placeholders]`), flattened to
    dotted keys; a `[environments.*]` section is a connection, which the gate never uses."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise FlywayConfError(f"invalid TOML: {error}") from None
    section = data.get("flyway", {})
    if not isinstance(section, dict):
        raise FlywayConfError("`[flyway]` must be a table")
    return dict(_flatten(section, ""))


def _flatten(table: Mapping[str, object], prefix: str) -> list[tuple[str, object]]:
    items: list[tuple[str, object]] = []
    for key, value in table.items():
        if isinstance(value, dict):
            items.extend(_flatten(value, f"{prefix}{key}."))
        else:
            items.append((f"{prefix}{key}", value))
    return items
