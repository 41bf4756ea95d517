"""The history rules about the versions a branch adds: after the base's highest, without a
hole, never a burned one (`version-not-after-base`, `version-gap`, `version-reused`).

One body for every runner, as the rest of `checks/history.py`: what counts towards the
highest version, what the runner applies below it and how a finding is worded are the
runner's (`Runner.rules`).
"""

from __future__ import annotations

from collections.abc import Iterator

from migration_gate.checks.applied_order import refinery_below_applied
from migration_gate.checks.history import (
    VERSION_GAP,
    VERSION_NOT_AFTER_BASE,
    VERSION_REUSED,
    matches_applied,
    plan_hint,
)
from migration_gate.diagnostics import Diagnostic
from migration_gate.migrations import MigrationFile
from migration_gate.pipeline import CheckContext
from migration_gate.runners.model import Version


def _merged_since(context: CheckContext) -> list[MigrationFile]:
    """Migrations the base branch gained after the merge-base that this branch does not hold:
    two branches that both add V008 collide once the first one is merged."""
    assert context.base is not None
    at_merge_base = set(context.base_by_rel)
    local = {m.rel for m in context.local}
    return [
        m for m in context.base.tip_files
        if context.migration_of(m) is not None and m.rel not in at_merge_base
        and m.rel not in local
    ]


def _highest_versions(context: CheckContext, files: list[MigrationFile]) -> list[Version]:
    """The versions that count towards the base's highest: versioned migrations, and
    refinery's `U` ones (they share its history table); Flyway's undo and baseline versions
    are not applied versions."""
    from migration_gate.runners.model import Kind

    counted = (Kind.VERSIONED, Kind.UNVERSIONED)
    return [parsed.version for m in files if (parsed := context.migration_of(m)) is not None
            and parsed.kind in counted and parsed.version is not None]


def _rename_hint(context: CheckContext, migration: MigrationFile, number: int | None = None
                 ) -> str:
    """The plan's hint (the branch's block moves as one) when the runner follows the plan,
    else the file renamed to `number` or the next free version."""
    rules = context.runner.rules
    if rules.plan_hints:
        return plan_hint(context, migration)
    parsed = context.migration_of(migration)
    assert parsed is not None
    return f"rename to {rules.renamed_fix(context, migration.path, parsed, number)}"


def check_versions(context: CheckContext, added: list[MigrationFile]) -> Iterator[Diagnostic]:
    from migration_gate.runners.model import Kind

    assert context.base is not None
    rules = context.runner.rules
    merged_since = _merged_since(context)
    base_versions = _highest_versions(context, [*context.base.files, *merged_since])
    if not base_versions and not rules.judges_empty_base:
        return
    base_max = max(base_versions, default=None) or context.runner.parse_version("0")
    assert base_max is not None
    base_ref = context.base.base.ref
    burned = {b.version: b for b in context.base.burned} if rules.burns_versions else {}
    plan = context.plan
    floor = plan.floor if plan is not None and rules.plan_hints else None
    start = floor if floor is not None else base_max
    expected: int | None = start.parts[0] + 1 if len(start.parts) == 1 else None
    seen: set[Version] = set()
    ordered = sorted(
        ((m, p) for m in added if (p := context.migration_of(m)) is not None
         and p.kind is Kind.VERSIONED and p.version is not None),
        key=lambda item: (item[1].version, item[0].path))
    for migration, parsed in ordered:
        version = parsed.version
        assert version is not None
        if matches_applied(context, migration):
            continue  # production's own migration put back: a repair, not a new version
        if version.parts[0] in burned and len(version.parts) == 1:
            yield Diagnostic(
                VERSION_REUSED.id, VERSION_REUSED.severity, migration.path,
                f"{migration.file_name} reuses version {version.parts[0]}: "
                f"{burned[version.parts[0]].describe(base_ref)}; {rules.reuse_consequence}",
                hint=plan_hint(context, migration),
            )
        elif version <= base_max:
            if rules.applies_below(version, base_versions):
                continue  # outOfOrder: Flyway applies it below the highest one
            since = [m.file_name for m in merged_since
                     if (p := context.migration_of(m)) is not None and p.version == version]
            yield Diagnostic(
                VERSION_NOT_AFTER_BASE.id, VERSION_NOT_AFTER_BASE.severity, migration.path,
                rules.not_after_base_message(context, migration.file_name, base_max, base_ref,
                                             since),
                hint=_rename_hint(context, migration),
            )
        elif rules.judges_applied and (
                applied := refinery_below_applied(context, migration)) is not None:
            yield applied
        elif version not in seen:  # a repeated version: duplicate-version speaks for it
            seen.add(version)
            if expected is None or len(version.parts) != 1:
                expected = None  # dotted versions: a gap is a choice, not a hole
                continue
            number = version.parts[0]
            if number > expected:
                missing = rules.number_label(context, expected)
                if number - 1 > expected:
                    missing += "–" + rules.number_label(context, number - 1)
                yield Diagnostic(
                    VERSION_GAP.id, VERSION_GAP.severity, migration.path,
                    f"{migration.file_name} leaves a gap after "
                    f"{rules.number_label(context, expected - 1)} ({missing} unused)",
                    hint=_rename_hint(context, migration, expected),
                )
            expected = number + 1
