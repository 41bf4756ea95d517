"""Spring Boot's `spring.flyway.*` properties read as Flyway keys: pure, the caller reads files.

A Spring Boot application configures the Flyway it embeds in `application.yml`, `.yaml` or
`.properties`, under `spring.flyway`. Spring binds those names loosely ("relaxed binding":
`sql-migration-prefix`, `sqlMigrationPrefix` and `sql_migration_prefix` are one property) and
resolves `${NAME:default}` from the environment. The gate never sees that environment, so it
takes the default, and drops a property whose value has none (Flyway's default stands). Only
the keys `flyway_conf.settings_from` knows are returned, in Flyway's spelling, so that one
reader fills `FlywaySettings` from every source. Nothing is executed: YAML is read with
`safe_load`, and the walk through a document is bounded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from migration_gate.runners.flyway_conf import KNOWN_KEYS, parse_properties

PREFIX = "spring.flyway."
#: Spring's names that are not Flyway's with the dashes dropped.
_SPRING_ONLY = {"postgresql.transactional-lock": "postgresql.transactional.lock"}
#: A YAML document is walked at most this many nodes deep and wide (an alias bomb stops here).
MAX_NODES = 20_000
_REFERENCE = re.compile(r"\$\{([^${}:]*)(?::([^${}]*))?\}")


def _canonical(name: str) -> str:
    """Spring's relaxed form of a name: lower case, without `-` and `_`."""
    return re.sub(r"[-_]", "", name).lower()


_BY_CANONICAL = {_canonical(key): key for key in KNOWN_KEYS}
_BY_CANONICAL.update({_canonical(spring): flyway for spring, flyway in _SPRING_ONLY.items()})


def resolve(value: str) -> str | None:
    """`value` with each `${NAME:default}` replaced by its default, innermost first; None when
    a reference has no default (only the running application's environment knows it)."""
    for _ in range(20):  # nested references, bounded
        match = _REFERENCE.search(value)
        if match is None:
            return value
        if match.group(2) is None:
            return None
        value = value[: match.start()] + match.group(2) + value[match.end():]
    return None


def flyway_keys(spring: Mapping[str, object]) -> dict[str, object]:
    """Flyway keys (`sqlMigrationPrefix`, `placeholders.owner`) from `spring.flyway.*`
    properties (the prefix already removed); unknown names are ignored, indexed ones
    (`locations[0]`) are gathered into a list."""
    found: dict[str, object] = {}
    indexed: dict[str, dict[int, str]] = {}
    for name, raw in spring.items():
        value: object = raw
        if isinstance(raw, str):
            value = resolve(raw)
            if value is None:
                continue
        elif isinstance(raw, (bool, int, float)):
            value = str(raw).lower() if isinstance(raw, bool) else str(raw)
        index = re.fullmatch(r"(.+)\[(\d+)\]", name)
        if index is not None:
            name = index.group(1)
        if name.startswith("placeholders.") and len(name) > len("placeholders."):
            found[name] = value
            continue
        key = _BY_CANONICAL.get(_canonical(name))
        if key is None:
            continue
        if index is not None:
            indexed.setdefault(key, {})[int(index.group(2))] = str(value)
        else:
            found[key] = value
    for key, items in indexed.items():
        found[key] = [items[i] for i in sorted(items)]
    return found


def from_properties(text: str) -> dict[str, object]:
    """The `spring.flyway.*` keys of an `application.properties`, as Flyway keys."""
    values = parse_properties(text)
    return flyway_keys({k[len(PREFIX):]: v for k, v in values.items() if k.startswith(PREFIX)})


def from_yaml(text: str) -> dict[str, object]:
    """The `spring.flyway.*` keys of an `application.yml`, as Flyway keys. Documents that only
    apply to a profile (`spring.config.activate.on-profile`, `spring.profiles`) are skipped: the
    gate checks what every deployment runs. Raises `ValueError` on YAML it cannot read."""
    import yaml

    merged: dict[str, object] = {}
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as error:
        raise ValueError(str(error).splitlines()[0]) from None
    for document in documents:
        if not isinstance(document, dict):
            continue
        flat = dict(_flatten(document))
        if any(k in flat for k in ("spring.config.activate.on-profile", "spring.profiles")):
            continue
        merged.update(flat)
    return flyway_keys({k[len(PREFIX):]: v for k, v in merged.items() if k.startswith(PREFIX)})


def _flatten(document: Mapping[object, object]) -> Iterator[tuple[str, object]]:
    """Dotted keys (`spring.flyway.table`) and leaf values; a list of scalars stays a list,
    other lists are indexed (`locations[0]`). At most `MAX_NODES` nodes are visited."""
    stack: list[tuple[str, object]] = [("", document)]
    visited = 0
    while stack and visited < MAX_NODES:
        prefix, node = stack.pop()
        visited += 1
        if isinstance(node, dict):
            for key, value in node.items():
                stack.append((f"{prefix}.{key}" if prefix else str(key), value))
        elif isinstance(node, list) and not all(
                isinstance(item, (str, int, float, bool)) for item in node):
            for position, item in enumerate(node):
                stack.append((f"{prefix}[{position}]", item))
        elif prefix:
            yield prefix, node
