"""Flyway's file-name grammar, read off `ResourceNameParser` (see docs/flyway.md).

`prefix VERSION separator DESCRIPTION suffix` for versioned (`V`), undo (`U`, Teams edition)
and baseline (`B`) migrations; `prefix separator DESCRIPTION suffix` for repeatables (`R`) and
SQL callbacks (`beforeMigrate.sql`). The suffix is matched case-insensitively, the prefix
case-sensitively, longest prefix first; the name splits at the first separator; `_` in the
description becomes a space. A name Flyway cannot read is skipped silently (it only logs a
count) unless `validateMigrationNaming` is on, which stops the run listing every bad name.
"""

from __future__ import annotations

import functools
import re

from migration_gate.runners.flyway_settings import FlywaySettings
from migration_gate.runners.flyway_version import VersionError, read_version
from migration_gate.runners.model import (
    Kind,
    NameFix,
    NameIssue,
    NameProblem,
    ParsedMigration,
    Version,
)

#: `org.flywaydb.core.api.callback.Event` ids: SQL files starting with one are callbacks.
CALLBACK_EVENTS = (
    "beforeClean", "afterClean", "afterCleanError", "beforeMigrate", "beforeEachMigrate",
    "beforeEachMigrateStatement", "afterEachMigrateStatement", "afterEachMigrateStatementError",
    "afterEachMigrate", "afterEachMigrateError", "beforeRepeatables", "afterVersioned",
    "afterMigrateApplied", "afterMigrate", "afterMigrateError", "beforeUndo", "beforeEachUndo",
    "beforeEachUndoStatement", "afterEachUndoStatement", "afterEachUndoStatementError",
    "afterEachUndo", "afterEachUndoError", "afterUndo", "afterUndoError", "beforeValidate",
    "afterValidate", "afterValidateError", "beforeBaseline", "afterBaseline",
    "afterBaselineError", "beforeRepair", "afterRepair", "afterRepairError", "beforeInfo",
    "afterInfo", "afterInfoError", "afterMigrateOperationFinish", "afterInfoOperationFinish",
    "createSchema", "beforeCreateSchema", "beforeConnect", "afterConnect",
)
_VERSIONED_KINDS = (Kind.VERSIONED, Kind.UNDO, Kind.BASELINE)
#: characters a clean description never holds: path separators, Windows-reserved, controls
_UNSAFE = re.compile(r"[\\/:*?\"<>|\x00-\x1f\x7f]+|\s+")
#: a misnamed file's parts: a prefix letter (only before a digit or `_`), a version, the rest
_SALVAGE = re.compile(
    r"^\s*(?:([A-Za-z])(?=[\d_]))?\s*([0-9]+(?:[._,\-]+[0-9]+)*)?[\s_.\-]*(.*?)\s*$", re.DOTALL
)


def prefixes(settings: FlywaySettings) -> tuple[tuple[str, Kind], ...]:
    """Every prefix with its kind, longest first (a stable sort, as `populatePrefixes`)."""
    return _prefixes(settings.sql_migration_prefix, settings.repeatable_sql_migration_prefix,
                     settings.baseline_migration_prefix, settings.undo_sql_migration_prefix)


@functools.lru_cache(maxsize=16)
def _prefixes(
    versioned: str, repeatable: str, baseline: str, undo: str | None
) -> tuple[tuple[str, Kind], ...]:
    """Sorted once per configuration, not once per file name (issue 16)."""
    pairs = [
        (versioned, Kind.VERSIONED),
        (repeatable, Kind.REPEATABLE),
        *((event, Kind.CALLBACK) for event in CALLBACK_EVENTS),
        (baseline, Kind.BASELINE),
    ]
    if undo is not None:
        pairs.append((undo, Kind.UNDO))
    return tuple(sorted(pairs, key=lambda pair: -len(pair[0])))


@functools.lru_cache(maxsize=16)
def _prefixes_by_initial(
    versioned: str, repeatable: str, baseline: str, undo: str | None
) -> dict[str, tuple[tuple[str, Kind], ...]]:
    """The non-empty prefixes grouped by first character, longest first within a group: a
    name is tried against the few that can match instead of all 46."""
    groups: dict[str, list[tuple[str, Kind]]] = {}
    for prefix, kind in _prefixes(versioned, repeatable, baseline, undo):
        if prefix:
            groups.setdefault(prefix[0], []).append((prefix, kind))
    return {initial: tuple(pairs) for initial, pairs in groups.items()}


def _find_prefix(stem: str, settings: FlywaySettings) -> tuple[str, Kind] | None:
    """The longest prefix `stem` starts with, as `prefixes` orders them."""
    candidates = _prefixes_by_initial(
        settings.sql_migration_prefix, settings.repeatable_sql_migration_prefix,
        settings.baseline_migration_prefix, settings.undo_sql_migration_prefix,
    ).get(stem[:1], ())
    return next((pair for pair in candidates if stem.startswith(pair[0])), None)


def prefix_for(kind: Kind, settings: FlywaySettings) -> str:
    if kind is Kind.REPEATABLE:
        return settings.repeatable_sql_migration_prefix
    if kind is Kind.UNDO:
        return settings.undo_sql_migration_prefix or "U"
    if kind is Kind.BASELINE:
        return settings.baseline_migration_prefix
    return settings.sql_migration_prefix


def normalise_description(text: str, settings: FlywaySettings | None = None) -> str:
    """A description safe in a file name: words joined by `_`, no separator inside.

    Flyway accepts nearly anything (`ny-egenskap`, `Æøå`, capitals), so case, `-`, `.` and
    other scripts are kept; only whitespace, characters no file system takes, and runs of
    `_` (the default separator is `__`) are folded into one `_`.
    """
    separator = (settings or FlywaySettings()).sql_migration_separator
    cleaned = _UNSAFE.sub("_", text)
    if separator and separator.strip("_"):
        cleaned = cleaned.replace(separator, "_")
    return re.sub(r"_+", "_", cleaned).strip("_")


def file_name(
    kind: Kind, version_text: str | None, description: str, settings: FlywaySettings
) -> str:
    """`V1.2__add_users.sql`, `R__views.sql`, `beforeMigrate.sql` (a callback's description is
    its whole stem). An empty description becomes `migration`, as the gate's other fixes do."""
    suffix = settings.sql_migration_suffixes[0] if settings.sql_migration_suffixes else ".sql"
    if kind is Kind.CALLBACK:
        return f"{description}{suffix}"
    words = normalise_description(description, settings) or "migration"
    separator = settings.sql_migration_separator
    if kind is Kind.REPEATABLE:
        return f"{settings.repeatable_sql_migration_prefix}{separator}{words}{suffix}"
    if version_text is None:
        raise ValueError(f"a {kind.value} migration needs a version")
    return f"{prefix_for(kind, settings)}{version_text}{separator}{words}{suffix}"


def parse_file_name(name: str, settings: FlywaySettings) -> ParsedMigration | NameProblem:
    """Parse `name` exactly as Flyway's `ResourceNameParser` and resolvers do. Never raises."""
    suffix = next(
        (s for s in settings.sql_migration_suffixes
         if name.upper().endswith(s.upper()) and len(name) > len(s)),
        None,
    )
    if suffix is None:
        wanted = " or ".join(settings.sql_migration_suffixes)
        return _problem(name, NameIssue.NOT_A_MIGRATION, settings,
                        f"Flyway reads only files ending in {wanted}: this one never runs",
                        validated=False)
    stem, suffix_text = name[: len(name) - len(suffix)], name[len(name) - len(suffix):]
    found = _find_prefix(stem, settings)
    if found is None:
        return _problem(name, NameIssue.NOT_A_MIGRATION, settings,
                        "no Flyway prefix (V, R, U, B or a callback name): Flyway silently "
                        "skips the file",
                        message=f"Unrecognised migration name format: {name}")
    prefix, kind = found
    separator = settings.sql_migration_separator
    rest = stem[len(prefix):]
    cut = rest.find(separator)
    version_text, raw = (rest[:cut], rest[cut + len(separator):]) if cut >= 0 else (rest, "")
    example = raw or "description"
    if kind not in _VERSIONED_KINDS:
        if version_text:
            return _problem(
                name, NameIssue.UNEXPECTED_VERSION, settings,
                f"a {kind.value} has no version, so Flyway silently skips the file",
                kind=kind, description=raw or version_text,
                message=f"Invalid repeatable migration / callback name format: {name} (It "
                f"cannot contain a version and should look like this: "
                f"{prefix}{separator}{example}{suffix_text})",
                callback_stem=prefix if kind is Kind.CALLBACK else None)
        return _accepted(name, kind, None, raw, prefix, suffix_text, settings)
    if not version_text:
        return _problem(
            name, NameIssue.MISSING_VERSION, settings,
            f"no version between `{prefix}` and `{separator}`: Flyway silently skips the file",
            kind=kind, description=raw,
            message=f"Invalid versioned migration name format: {name} (It must contain a "
            f"version and should look like this: {prefix}1.2{separator}{example}{suffix_text})")
    version = read_version(version_text)
    if version is VersionError.RESERVED:
        return _problem(
            name, NameIssue.RESERVED_VERSION, settings,
            f"`{version_text}` is a Flyway version marker (current, next, latest), not a version",
            kind=kind, description=raw, validated=False)
    if isinstance(version, VersionError):
        digits, description = re.findall(r"[0-9]+", version_text), raw
        if not cut >= 0:  # `V1-add_x.sql`: the description hides in the "version"
            match = _SALVAGE.match(version_text)
            if match is not None and match.group(2):
                digits, description = re.findall(r"[0-9]+", match.group(2)), match.group(3)
        salvaged = read_version(".".join(digits))
        return _problem(
            name, NameIssue.INVALID_VERSION, settings,
            f"`{version_text}` is not a Flyway version (numbers separated by `.` or `_`): "
            "Flyway silently skips the file",
            kind=kind, description=description,
            version_text=salvaged.text if not isinstance(salvaged, VersionError) else None,
            message=f"Invalid versioned migration name format: {name} (could not recognise "
            f"version number {version_text})")
    return _accepted(name, kind, version, raw, prefix, suffix_text, settings)


def _accepted(
    name: str, kind: Kind, version: Version | None, raw: str, prefix: str, suffix: str,
    settings: FlywaySettings,
) -> ParsedMigration | NameProblem:
    """`version`: already read by the caller (reading it again cost a second parse per file)."""
    parsed = ParsedMigration(
        kind=kind,
        version=version,
        description=raw.replace("_", " "),
        raw_description=raw,
        prefix=prefix,
        suffix=suffix,
        file_name=name,
    )
    if raw or kind is Kind.CALLBACK:
        return parsed
    # `R.sql` is never picked up: the resolver wants a name longer than prefix + suffix
    runs = kind is not Kind.REPEATABLE or len(name) > len(prefix + suffix)
    what = "Flyway runs it with an empty description" if runs else "Flyway never runs it"
    fix = NameFix(kind, parsed.version, "")
    return NameProblem(
        NameIssue.MISSING_DESCRIPTION,
        f"no description after the {'version' if parsed.version else 'prefix'}: {what}",
        fix,
        _suggest(fix, settings),
        accepted_as=parsed if runs else None,
    )


def _problem(
    name: str, issue: NameIssue, settings: FlywaySettings, reason: str, *,
    kind: Kind | None = None, description: str | None = None, version_text: str | None = None,
    message: str | None = None, validated: bool = True, callback_stem: str | None = None,
) -> NameProblem:
    """A problem with its fix; parts the name does not give are salvaged from it."""
    stem = name.rsplit(".", 1)[0] if "." in name else name
    match = _SALVAGE.match(stem)
    letter, digits, words = match.groups() if match else (None, None, stem)
    if kind is None:
        kind = _guess_kind(letter, settings)
        version_text = digits
    if description is None:
        description = words or ""
    version = read_version(re.sub(r"[._,\-]+", ".", version_text)) if version_text else None
    fixed_version = None if version is None or isinstance(version, VersionError) else version
    if callback_stem is not None:
        fix = NameFix(Kind.CALLBACK, None, callback_stem)
        words = normalise_description(description, settings)
        stem_fixed = f"{callback_stem}{settings.sql_migration_separator}{words}" if words else (
            callback_stem)
        suggestion: str | None = file_name(Kind.CALLBACK, None, stem_fixed, settings)
    else:
        fix = NameFix(kind, fixed_version, normalise_description(description, settings))
        suggestion = _suggest(fix, settings)
    return NameProblem(
        issue, reason, fix, suggestion,
        runner_fails=validated and settings.validate_migration_naming,
        runner_message=message,
    )


def _guess_kind(letter: str | None, settings: FlywaySettings) -> Kind:
    by_letter = {
        settings.repeatable_sql_migration_prefix.lower(): Kind.REPEATABLE,
        settings.baseline_migration_prefix.lower(): Kind.BASELINE,
    }
    if settings.undo_sql_migration_prefix is not None:
        by_letter[settings.undo_sql_migration_prefix.lower()] = Kind.UNDO
    return by_letter.get((letter or "").lower(), Kind.VERSIONED)


def _suggest(fix: NameFix, settings: FlywaySettings) -> str | None:
    if fix.kind in _VERSIONED_KINDS and fix.version is None:
        return None
    text = fix.version.text if fix.version is not None else None
    return file_name(fix.kind, text, fix.description, settings)
