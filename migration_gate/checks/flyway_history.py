"""The history rules for a Flyway project: what was merged must never change, as Flyway's
`validate` sees it.

Flyway records each migration's CRC32 checksum: a changed versioned migration fails
validation ("Migration checksum mismatch"), a deleted applied one is "applied migration not
resolved locally", a new version below the highest applied one is ignored unless `outOfOrder`.
A repeatable (`R__`) is different: editing it is how it is meant to be used (Flyway re-runs
it when its checksum changes), but deleting one that was applied still fails validation.
Line endings are not part of Flyway's checksum, so a CRLF-only change is no modification.
"""

from __future__ import annotations

from collections.abc import Iterator

from migration_gate.checks.applied_order import flyway_below_applied
from migration_gate.checks.history import (
    DELETED_MIGRATION,
    MODIFIED_MIGRATION,
    RENAMED_MIGRATION,
    VERSION_GAP,
    VERSION_NOT_AFTER_BASE,
    first_difference,
)
from migration_gate.diagnostics import Diagnostic
from migration_gate.migrations import MigrationFile
from migration_gate.pipeline import CheckContext
from migration_gate.runners.model import Kind, ParsedMigration, Version


def check_history(context: CheckContext) -> Iterator[Diagnostic]:
    """The history stage of a Flyway project; it needs a base, and says nothing without one."""
    if context.base is None:
        return
    base_ref = context.base.base.ref
    local_by_rel = {m.rel: m for m in context.local}
    added = [m for m in context.added if m.runs_as is not None]
    taken: set[str] = set()
    for old in context.base.files:
        old_parsed = old.runs_as
        if old_parsed is None or old_parsed.kind is Kind.CALLBACK:
            continue
        current = local_by_rel.get(old.rel)
        if current is not None:
            yield from _modified(context, old, current)
            continue
        match = _counterpart(old, old_parsed, added, taken)
        if match is None:
            shown = old_parsed.display
            yield Diagnostic(
                DELETED_MIGRATION.id, DELETED_MIGRATION.severity, old.path,
                f"{old.file_name} was merged on {base_ref} and is deleted here: every database "
                f"that applied it fails Flyway's validation (\"Detected applied migration not "
                f"resolved locally: {shown}\")",
                hint=f"restore it: git checkout {context.base.base.merge_base[:12]} -- {old.path}",
            )
            continue
        new, same = match
        taken.add(new.rel)
        if same:
            yield from _modified(context, old, new)
            continue
        yield Diagnostic(
            RENAMED_MIGRATION.id, RENAMED_MIGRATION.severity, new.path,
            f"{old.path} (merged on {base_ref}) was renamed to {new.file_name}: databases that "
            "applied it fail Flyway's validation (its version or description changed)",
            hint=f"rename it back to {old.file_name}",
        )
    fresh = [m for m in added if m.rel not in taken]
    yield from _check_versions(context, fresh)
    yield from flyway_below_applied(context, fresh)


def _modified(context: CheckContext, old: MigrationFile, new: MigrationFile
              ) -> Iterator[Diagnostic]:
    assert context.base is not None
    parsed = new.runs_as
    if old.content is None or new.content is None or old.content == new.content:
        return
    if parsed is None or parsed.kind in (Kind.REPEATABLE, Kind.CALLBACK):
        return  # Flyway re-runs a changed repeatable: that is what it is for
    old_sum, new_sum = old.runner_checksum, new.runner_checksum
    if old_sum is not None and old_sum == new_sum:
        return  # only line endings changed: Flyway's checksum reads lines
    change = f" (Flyway checksum {old_sum} → {new_sum})" if old_sum is not None else ""
    fix = ""
    if parsed.version is not None:
        version = context.runner_allocator.take(new.path)
        fix = ", " + context.runner.file_name(
            Kind.VERSIONED, version, f"update_{parsed.raw_description}")
    yield Diagnostic(
        MODIFIED_MIGRATION.id, MODIFIED_MIGRATION.severity, new.path,
        f"{new.file_name} was merged on {context.base.base.ref} and has changed{change}: every "
        "database that applied it fails Flyway's validation (\"Migration checksum mismatch\")",
        line=first_difference(old.content, new.content),
        hint=f"revert this file and make the change in a new migration{fix}",
    )


def _counterpart(old: MigrationFile, parsed: ParsedMigration, added: list[MigrationFile],
                 taken: set[str]) -> tuple[MigrationFile, bool] | None:
    """The added file a vanished base file became: moved (same name: Flyway does not mind
    the folder) or renamed (same content, or same version)."""
    candidates = [m for m in added if m.rel not in taken and m.runs_as is not None]
    for new in candidates:
        if new.file_name == old.file_name:
            return new, True
    for new in candidates:
        if new.content == old.content:
            return new, False
    for new in candidates:
        assert new.runs_as is not None
        if parsed.version is not None and new.runs_as.version == parsed.version and (
                new.runs_as.kind is parsed.kind):
            return new, False
    return None


def versions(files: list[MigrationFile] | tuple[MigrationFile, ...]) -> list[Version]:
    return [m.runs_as.version for m in files
            if m.runs_as is not None and m.runs_as.kind is Kind.VERSIONED
            and m.runs_as.version is not None]


def _check_versions(context: CheckContext, added: list[MigrationFile]) -> Iterator[Diagnostic]:
    assert context.base is not None
    at_merge_base = set(context.base_by_rel)
    local = {m.rel for m in context.local}
    merged_since = [m for m in context.base.tip_files
                    if m.rel not in at_merge_base and m.rel not in local]
    base_versions = versions(context.base.files) + versions(merged_since)
    if not base_versions:
        return
    base_max = max(base_versions)
    base_ref = context.base.base.ref
    out_of_order = bool(getattr(getattr(context.runner, "settings", None), "out_of_order", False))
    ordered = sorted(
        ((m, m.runs_as) for m in added
         if m.runs_as is not None and m.runs_as.kind is Kind.VERSIONED
         and m.runs_as.version is not None),
        key=lambda item: (item[1].version, item[0].path))
    expected_next = base_max.parts[0] + 1 if len(base_max.parts) == 1 else None
    seen: set[Version] = set()
    for migration, parsed in ordered:
        assert parsed.version is not None
        if parsed.version <= base_max:
            if out_of_order and parsed.version not in base_versions:
                continue  # outOfOrder: Flyway applies it below the highest one
            fix = context.runner.file_name(Kind.VERSIONED,
                                           context.runner_allocator.take(migration.path),
                                           parsed.raw_description)
            yield Diagnostic(
                VERSION_NOT_AFTER_BASE.id, VERSION_NOT_AFTER_BASE.severity, migration.path,
                f"{migration.file_name} is at or below {base_max.display}, the highest version "
                f"on {base_ref}: every database that ran {base_ref} ignores it (Flyway: "
                "\"Detected resolved migration not applied to database\") unless outOfOrder",
                hint=f"rename to {fix}",
            )
            continue
        if parsed.version in seen:
            continue  # duplicate-version speaks for it
        seen.add(parsed.version)
        if expected_next is None or len(parsed.version.parts) != 1:
            expected_next = None  # dotted versions: a gap is a choice, not a hole
            continue
        number = parsed.version.parts[0]
        if number > expected_next:
            version = context.runner.parse_version(str(expected_next))
            fix = context.runner.file_name(Kind.VERSIONED, version, parsed.raw_description)
            missing = str(expected_next) + (f"–{number - 1}" if number - 1 > expected_next else "")
            yield Diagnostic(
                VERSION_GAP.id, VERSION_GAP.severity, migration.path,
                f"{migration.file_name} leaves a gap after {expected_next - 1} "
                f"({missing} unused)",
                hint=f"rename to {fix}",
            )
        expected_next = number + 1

