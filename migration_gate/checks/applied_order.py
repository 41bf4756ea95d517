"""A new migration below the highest version production applied (`--applied`), judged by each
runner's own out-of-order rules.

The base branch can be behind production (a hotfix deployed from a release branch): a branch's
migration after the base's highest may still be below what production ran. refinery never
applies such a V file (docs/refinery.md#how-a-run-decides); Flyway refuses it in `validate`
unless `outOfOrder=true` (`MigrationInfoImpl.validate`), and then applies it out of order.
Both findings are `version-not-after-base`, since production is the history rules' reference
when it is given.
"""

from __future__ import annotations

from collections.abc import Iterator

from migration_gate.diagnostics import Diagnostic, Severity
from migration_gate.migrations import MigrationFile
from migration_gate.pipeline import CheckContext
from migration_gate.runners.model import Kind, Version


def refinery_below_applied(context: CheckContext, migration: MigrationFile) -> Diagnostic | None:
    """A new V migration below the highest version production applied (`--applied`): refinery
    treats it as it treats one below the base's highest (docs/refinery.md#how-a-run-decides)."""
    from migration_gate.checks.history import VERSION_NOT_AFTER_BASE, plan_hint

    applied, name = context.applied, migration.name
    if applied is None or name is None or name.version >= applied.highest:
        return None
    if applied.row(name.version) is not None:
        return None  # a row of that version: divergent, which the other rules judge
    return Diagnostic(
        VERSION_NOT_AFTER_BASE.id, VERSION_NOT_AFTER_BASE.severity, migration.path,
        f"{migration.file_name} is below V{applied.highest}, the highest version production "
        f"applied ({applied.source}): refinery reports \"migration {name.display} is missing "
        "from the filesystem\" there and never applies it, or aborts the run with abort on "
        "missing (`-m`; the library's `set_abort_missing`, on by default). No refinery setting "
        "applies a V migration out of order; a U migration is",
        hint=plan_hint(context, migration),
    )


def flyway_below_applied(context: CheckContext, added: list[MigrationFile]) -> Iterator[Diagnostic]:
    """New versioned migrations below the highest version production applied (`--applied`),
    judged by Flyway's own rules: without `outOfOrder` the migration is "ignored" and
    `validate` fails ("Detected resolved migration not applied to database",
    `MigrationInfoImpl.validate`), or with `ignoreMigrationPatterns=*:ignored` it is skipped
    for ever; with `outOfOrder=true` Flyway applies it, out of order. Those at or below the
    base's highest are `version-not-after-base`'s already."""
    applied, runner = context.applied, context.runner
    if applied is None or runner.name != "flyway":
        return  # the usual case: Flyway's modules are not imported
    from migration_gate.checks.history import VERSION_NOT_AFTER_BASE
    from migration_gate.runners.flyway import FlywayRunner
    from migration_gate.runners.flyway_plan import State, ignores_state

    if not isinstance(runner, FlywayRunner):
        return
    production = applied.versions(runner)
    if not production:
        return
    top = max(production)
    assert context.base is not None
    base = versions(context.base.files) + versions(context.base.tip_files)
    base_max = max(base, default=None)
    settings = runner.settings
    for migration in added:
        parsed = migration.runs_as
        if parsed is None or parsed.kind is not Kind.VERSIONED or parsed.version is None:
            continue
        version = parsed.version
        if version >= top or version in production or (
                base_max is not None and version <= base_max):
            continue
        where = f"{top.display}, the highest version production applied ({applied.source})"
        if settings.out_of_order:
            yield Diagnostic(
                VERSION_NOT_AFTER_BASE.id, Severity.WARNING, migration.path,
                f"{migration.file_name} is below {where}: with outOfOrder=true Flyway applies "
                "it there out of order (its row shows \"Out of Order\"), after migrations "
                "written later than it",
                hint="make sure it does not depend on what the later migrations do; "
                "flyway.outOfOrder=false makes Flyway refuse it instead",
            )
            continue
        skipped = ignores_state(settings.ignore_migration_patterns, State.IGNORED)
        what = ("Flyway skips it there for ever (ignoreMigrationPatterns ignores it)" if skipped
                else "Flyway's validate fails there (\"Detected resolved migration not applied "
                f"to database: {version.display}\") and migrate refuses to run")
        fix = context.runner.file_name(
            Kind.VERSIONED, context.runner_allocator.take(migration.path),
            parsed.raw_description)
        yield Diagnostic(
            VERSION_NOT_AFTER_BASE.id, VERSION_NOT_AFTER_BASE.severity, migration.path,
            f"{migration.file_name} is below {where}: {what}, unless outOfOrder=true",
            hint=f"rename to {fix} (`migration-gate renumber`), or set flyway.outOfOrder=true "
            "to have Flyway apply it out of order",
        )


def versions(files: list[MigrationFile] | tuple[MigrationFile, ...]) -> list[Version]:
    """The versions of a runner's (not refinery's) versioned migrations among `files`."""
    return [m.runs_as.version for m in files
            if m.runs_as is not None and m.runs_as.kind is Kind.VERSIONED
            and m.runs_as.version is not None]
