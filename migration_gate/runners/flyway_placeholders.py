"""Flyway's placeholder replacement: `PlaceholderReplacingReader`, character for character.

Before a script is parsed (and so before it runs), Flyway filters its text: `${name}` (with
the configured prefix and suffix) is replaced by the value of placeholder `name`, looked up
case-insensitively among the user's placeholders and Flyway's own `flyway:<name>` defaults
(`ParsingContext`). Everything is replaced, comments and string literals included; values are
not scanned again. An unknown name stops the migration ("No value provided for placeholder"),
and a prefix never closed by a suffix swallows the rest of the file and fails the same way.

One quirk is kept on purpose: after a character that starts the prefix but is not followed by
the rest of it (`$x`), Flyway hands out the characters it read ahead without looking at them
again, so `$${name}` is left as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from migration_gate.runners.flyway_settings import FlywaySettings
from migration_gate.runners.model import PlaceholderIssue, PlaceholderProblem, PlaceholderResult

#: `ParsingContext`'s default placeholders, `flyway:<name>` with the placeholder separator.
BUILTIN_NAMES = (
    "defaultSchema", "user", "database", "timestamp", "filename", "workingDirectory", "table",
    "environment",
)


def builtin_placeholders(
    settings: FlywaySettings,
    *,
    file_name: str,
    now: datetime,
    user: str | None = None,
    database: str | None = None,
    current_schema: str | None = None,
    working_directory: str | None = None,
) -> dict[str, str | None]:
    """Flyway's default placeholders for one script, keyed `flyway:<name>`.

    What only the database knows (`user`, `database`, the current schema when no
    `defaultSchema`/`schemas` is set) is passed in; None stands for a value the connection did
    not give, which Flyway replaces with nothing. `timestamp` is `now` formatted as Flyway's
    `yyyy-MM-dd HH:mm:ss`; `filename` the file name, as the parser knows it.
    """

    def key(name: str) -> str:
        return f"flyway{settings.placeholder_separator}{name}"

    schema = settings.default_schema_name() or current_schema
    values: dict[str, str | None] = {
        key("user"): user,
        key("timestamp"): now.strftime("%Y-%m-%d %H:%M:%S"),
        key("workingDirectory"): working_directory,
        key("table"): settings.table,
        key("environment"): settings.environment,
        key("filename"): file_name,
    }
    if schema is not None:
        values[key("defaultSchema")] = schema
    if database is not None:
        values[key("database")] = database
    return values


def replace_placeholders(
    text: str,
    settings: FlywaySettings,
    builtins: Mapping[str, str | None],
    *,
    enabled: bool | None = None,
) -> PlaceholderResult:
    """The text Flyway parses and runs, with every placeholder problem and where it starts.

    `enabled` is the script's own `placeholderReplacement` (a `.sql.conf` file) when it has
    one; otherwise `settings.placeholder_replacement` decides. Flyway stops at the first
    problem; here every one is reported and the text is kept as written where one occurs.
    """
    if not (settings.placeholder_replacement if enabled is None else enabled):
        return PlaceholderResult(text)
    values: dict[str, str | None] = dict(settings.placeholder_map())
    # `placeholders.putAll(configuration); placeholders.putAll(parsingContext)`: defaults win
    values.update({name.lower(): value for name, value in builtins.items()})
    prefix, suffix = settings.placeholder_prefix, settings.placeholder_suffix
    out: list[str] = []
    problems: list[tuple[PlaceholderIssue, str, int]] = []
    position, end = 0, len(text)
    while position < end:
        start = position
        read = _read_prefix(text, position, prefix)
        position += len(read)
        if read != prefix:
            out.append(read)  # Java hands these back one by one, never re-scanned
            continue
        close = text.find(suffix, position)
        if close < 0:
            problems.append((PlaceholderIssue.UNCLOSED, text[position:], start))
            out.append(text[start:])
            break
        name = text[position:close]
        position = close + len(suffix)
        if name.lower() not in values:
            problems.append((PlaceholderIssue.UNDEFINED, name, start))
            out.append(text[start:position])
            continue
        out.append(values[name.lower()] or "")
    if not problems:
        return PlaceholderResult("".join(out))
    from migration_gate.sql.split import Positions  # only when there is something to place

    positions = Positions(text)
    return PlaceholderResult(
        "".join(out),
        tuple(_problem(issue, name, *positions.at(start), settings)
              for issue, name, start in problems),
    )


def _read_prefix(text: str, position: int, prefix: str) -> str:
    """What `read()` reads ahead: characters while they are a beginning of the prefix."""
    taken = text[position: position + 1]
    while len(taken) < len(prefix) and prefix.startswith(taken) and position + len(taken) < len(
        text
    ):
        taken = text[position: position + len(taken) + 1]
    return taken


def _problem(
    issue: PlaceholderIssue, name: str, line: int, column: int, settings: FlywaySettings
) -> PlaceholderProblem:
    prefix, suffix = settings.placeholder_prefix, settings.placeholder_suffix
    if issue is PlaceholderIssue.UNCLOSED:
        shown = name.splitlines()[0][:40] if name.strip() else ""
        return PlaceholderProblem(
            issue, shown, line, column,
            f"placeholder {prefix}{shown}... is never closed by `{suffix}`: Flyway reads the "
            "rest of the file as its name and fails",
            f"close it with `{suffix}`, or write the `{prefix}` differently (or set "
            "placeholderReplacement=false for this script) if it is not a placeholder",
        )
    canonical = f"{prefix}{name}{suffix}"
    if name.startswith(f"flyway{settings.placeholder_separator}"):
        message = f"Failed to populate value for default placeholder: {canonical}"
        hint = "Flyway's own placeholders are " + ", ".join(
            f"{prefix}flyway{settings.placeholder_separator}{b}{suffix}" for b in BUILTIN_NAMES)
    else:
        message = f"No value provided for placeholder: {canonical}.  Check your configuration!"
        hint = (f"define it (flyway.placeholders.{name}=... in flyway.conf, "
                f"spring.flyway.placeholders.{name} in Spring) or set placeholderReplacement=false")
    return PlaceholderProblem(issue, name, line, column, message, hint)
