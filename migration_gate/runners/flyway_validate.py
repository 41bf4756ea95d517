"""Flyway's validation (`MigrationInfoImpl.validate`) and what `migrate` would do.

`migrate` validates first (`validateOnMigrate`, on by default) with the configured
`ignoreMigrationPatterns` (default `*:future`) plus `*:pending`, and stops on any error; then
it applies the pending migrations in `info` order, one transaction each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from migration_gate.runners.flyway_history import NO_DESCRIPTION_MARKER, abbreviate_description
from migration_gate.runners.flyway_plan import (
    SYNTHETIC_TYPES,
    AppliedRow,
    Entry,
    Issue,
    LocalMigration,
    Plan,
    State,
    Verdict,
    entries,
    ignores_state,
    matches_pattern,
)
from migration_gate.runners.model import Version

_FAILED = frozenset({State.FAILED, State.MISSING_FAILED, State.FUTURE_FAILED})
_MISSING = frozenset({State.MISSING_SUCCESS, State.MISSING_FAILED})
_FUTURE = frozenset({State.FUTURE_SUCCESS, State.FUTURE_FAILED})
_REPAIR = "Either revert the changes to the migration, or run repair to update the schema history."


def _mismatch(what: str, identifier: str, applied: object, resolved: object) -> str:
    """`MigrationInfoImpl.createMismatchMessage`."""
    return (f"Migration {what} mismatch for migration {identifier}\n"
            f"-> Applied to database : {applied}\n"
            f"-> Resolved locally    : {resolved}\n{_REPAIR}")


def _description_differs(local: LocalMigration, applied: AppliedRow) -> bool:
    if applied.description == NO_DESCRIPTION_MARKER:
        return local.description != ""
    return abbreviate_description(local.description) != applied.description


def validate_entry(
    entry: Entry, patterns: Sequence[str], applied_baseline: Version | None
) -> Issue | None:
    """One migration's validation error, or None; checks in Flyway's order."""
    state, local, applied = entry.state, entry.local, entry.applied
    versioned = entry.version is not None
    if state in (State.ABOVE_TARGET, State.DELETED):
        return None
    if any(matches_pattern(pattern, versioned, state) for pattern in patterns):
        return None
    future_ignored, missing_ignored = ignores_state(patterns, State.FUTURE_SUCCESS), ignores_state(
        patterns, State.MISSING_SUCCESS)
    name = entry.version.display if entry.version is not None else entry.description
    if state in _FAILED and not (future_ignored and state is State.FUTURE_FAILED):
        if not versioned:
            return Issue(Verdict.FAILED, "FAILED_REPEATABLE_MIGRATION",
                         f"Detected failed repeatable migration: {entry.description}.\nPlease "
                         "remove any half-completed changes then run repair to fix the schema "
                         "history.", entry)
        return Issue(Verdict.FAILED, "FAILED_VERSIONED_MIGRATION",
                     f"Detected failed migration to version {name} ({entry.description}).\n"
                     "Please remove any half-completed changes then run repair to fix the "
                     "schema history.", entry)
    if (local is None and applied is not None and applied.type not in SYNTHETIC_TYPES
            and not applied.type.startswith("UNDO") and state is not State.SUPERSEDED
            and not (missing_ignored and state in _MISSING)
            and not (future_ignored and state in _FUTURE)):
        code = "APPLIED_VERSIONED_MIGRATION_NOT_RESOLVED" if versioned else (
            "APPLIED_REPEATABLE_MIGRATION_NOT_RESOLVED")
        return Issue(Verdict.MISSING, code,
                     f"Detected applied migration not resolved locally: {name}.\nIf you removed "
                     "this migration intentionally, run repair to mark the migration as deleted.",
                     entry)
    pending_ignored = ignores_state(patterns, State.PENDING)
    if (state is State.IGNORED and not ignores_state(patterns, State.IGNORED) and local is not None
            and local.type not in ("SQL_BASELINE", "JDBC_BASELINE")
            and not local.type.startswith("UNDO")):
        if versioned:
            return Issue(Verdict.OUT_OF_ORDER, "RESOLVED_VERSIONED_MIGRATION_NOT_APPLIED",
                         f"Detected resolved migration not applied to database: {name}.\nTo "
                         "ignore this migration, set -ignoreMigrationPatterns='*:ignored'. To "
                         "allow executing this migration, set -outOfOrder=true.", entry)
        return Issue(Verdict.OUT_OF_ORDER, "RESOLVED_REPEATABLE_MIGRATION_NOT_APPLIED",
                     f"Detected resolved repeatable migration not applied to database: {name}."
                     "\nTo ignore this migration, set -ignoreMigrationPatterns='*:ignored'.", entry)
    if not pending_ignored and state is State.PENDING:
        what = "migration" if versioned else "repeatable migration"
        code = "RESOLVED_VERSIONED_MIGRATION_NOT_APPLIED" if versioned else (
            "RESOLVED_REPEATABLE_MIGRATION_NOT_APPLIED")
        return Issue(Verdict.PENDING, code,
                     f"Detected resolved {what} not applied to database: {name}.\nTo fix this "
                     "error, either run migrate, or set -ignoreMigrationPatterns='*:pending'.",
                     entry)
    if not pending_ignored and state is State.OUTDATED:
        return Issue(Verdict.OUTDATED, "OUTDATED_REPEATABLE_MIGRATION",
                     "Detected outdated resolved repeatable migration that should be re-applied "
                     f"to database: {entry.description}.\nRun migrate to execute this migration.",
                     entry)
    if local is None or applied is None or applied.type == "DELETE":
        return None
    if applied.type.startswith("UNDO"):
        return None
    identifier = applied.script if applied.version is None else f"version {applied.version.display}"
    if applied.version is not None and applied_baseline is not None \
            and not applied.version > applied_baseline:
        return None
    if local.type != applied.type:
        return Issue(Verdict.DIVERGENT, "TYPE_MISMATCH",
                     _mismatch("type", identifier, applied.type, local.type), entry)
    if (local.version is not None or (pending_ignored and state not in (
            State.OUTDATED, State.SUPERSEDED))) and not (
            local.checksum is None or applied.checksum is None
            or local.checksum == applied.checksum):
        return Issue(Verdict.DIVERGENT, "CHECKSUM_MISMATCH",
                     _mismatch("checksum", identifier, applied.checksum, local.checksum), entry)
    if _description_differs(local, applied):
        return Issue(Verdict.DIVERGENT, "DESCRIPTION_MISMATCH",
                     _mismatch("description", identifier, applied.description,
                               local.description), entry)
    return None


def duplicates(local: Iterable[LocalMigration]) -> list[Issue]:
    """`CompositeMigrationResolver.checkForIncompatibilities`: one version (`1`, `1.0`, `1_0`
    are one) or one repeatable description twice stops every command."""
    seen: dict[tuple[object, str], LocalMigration] = {}
    found: list[Issue] = []
    for migration in local:
        group = "baseline" if migration.type.endswith("BASELINE") else (
            "undo" if migration.type.startswith("UNDO") else "regular")
        key: tuple[object, str] = (
            (migration.version, group) if migration.version is not None
            else (migration.description, "repeatable"))
        first = seen.setdefault(key, migration)
        if first is migration:
            continue
        if migration.version is not None:
            message = (f"Found more than one migration with version {migration.version.display}"
                       f"\nOffenders:\n-> {first.script} ({first.type})\n-> {migration.script} "
                       f"({migration.type})")
        else:
            message = (f"Found more than one repeatable migration with description "
                       f"{migration.description}\nOffenders:\n-> {first.script} ({first.type})\n"
                       f"-> {migration.script} ({migration.type})")
        code = "DUPLICATE_VERSIONED_MIGRATION" if migration.version is not None else (
            "DUPLICATE_REPEATABLE_MIGRATION")
        found.append(Issue(Verdict.DUPLICATE, code, message))
    return found


def plan_run(
    applied: Iterable[AppliedRow],
    local: Iterable[LocalMigration],
    *,
    out_of_order: bool = False,
    ignore_migration_patterns: Sequence[str] = ("*:future",),
    validate_on_migrate: bool = True,
    target: Version | None = None,
) -> Plan:
    """What `flyway migrate` reports and applies, pure: its validation errors (any one stops it)
    and the pending migrations in the order it would run them."""
    files = list(local)
    found, current, applied_baseline = entries(applied, files, out_of_order=out_of_order,
                                               target=target)
    issues = duplicates(files)
    if validate_on_migrate:
        patterns = (*ignore_migration_patterns, "*:pending")
        for entry in found:
            issue = validate_entry(entry, patterns, applied_baseline)
            if issue is not None:
                issues.append(issue)
    pending = tuple(entry for entry in found if entry.state is State.PENDING)
    to_apply = tuple(
        Entry(e.state, e.local, e.applied,
              e.version is not None and current is not None and e.version < current)
        for e in pending
    )
    return Plan(current, tuple(found), tuple(issues), to_apply)
