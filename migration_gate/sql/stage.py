"""The SQL stage of `check`: lint the added and changed migrations (all with `--all`).

Tables created by migrations added on the same branch with a lower version count as new (as
if created earlier in the same migration): nobody uses them yet, so the lock rules leave them
alone. Non-UTF-8 and empty files are the folder stage's findings, not this one's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from migration_gate.checks.folder import has_statement
from migration_gate.diagnostics import Diagnostic
from migration_gate.migrations import MigrationFile, is_sql_migration
from migration_gate.pipeline import CheckContext

if TYPE_CHECKING:
    from migration_gate.runners.model import Version


def _lintable(migration: MigrationFile) -> bool:
    """A `.sql` migration with statements (misnamed files are not read by discovery)."""
    return is_sql_migration(migration) and migration.text is not None and has_statement(
        migration.text
    )


def _runner_lintable(migration: MigrationFile) -> bool:
    """A migration a non-refinery runner runs (`V1.1__add-name.sql`), with statements."""
    parsed = migration.runs_as
    return parsed is not None and parsed.suffix.lower() == ".sql" and (
        migration.text is not None and has_statement(migration.text))


def _version(migration: MigrationFile) -> float:
    return migration.name.version if migration.name is not None else float("inf")


def _runner_order(migration: MigrationFile) -> tuple[int, Version | None]:
    """Versioned migrations in version order, repeatables (run last) after them."""
    parsed = migration.runs_as
    version = parsed.version if parsed is not None else None
    return (0, version) if version is not None else (1, None)


def _runner_text(context: CheckContext, migration: MigrationFile) -> str:
    """The text the runner sends: Flyway's placeholders replaced (an undefined one is the
    folder stage's finding, and stays as written here)."""
    from datetime import datetime

    assert migration.text is not None
    return context.runner.replace_placeholders(
        migration.text, migration.file_name, datetime.now()).text


def _runner_stage(context: CheckContext) -> Iterator[Diagnostic]:
    from migration_gate.sql.engine import LintJob, lint_many
    from migration_gate.sql.lint import created_tables

    dialect, runner = context.config.dialect, context.runner.name
    targets = [m for m in context.to_lint if _runner_lintable(m)]
    if not targets:
        return
    branch_tables: list[tuple[tuple[int, Version | None], set[str]]] = []
    if context.base is not None:
        for migration in context.added:
            if _runner_lintable(migration) and _runner_order(migration)[0] == 0:
                branch_tables.append((_runner_order(migration),
                                      created_tables(_runner_text(context, migration), dialect)))
    jobs = []
    for migration in targets:
        order = _runner_order(migration)
        new_tables = sorted({t for o, tables in branch_tables
                             if order[0] == 1 or (o[1] is not None and order[1] is not None
                                                  and o[1] < order[1]) for t in tables})
        jobs.append(LintJob.for_config(migration.path, _runner_text(context, migration),
                                       context.config, tuple(new_tables), runner))
    for diagnostics in lint_many(jobs):
        yield from diagnostics


def sql_stage(context: CheckContext) -> Iterator[Diagnostic]:
    if not context.is_refinery:
        yield from _runner_stage(context)
        return
    from migration_gate.sql.engine import LintJob, lint_many
    from migration_gate.sql.lint import created_tables

    dialect = context.config.dialect
    targets = [m for m in context.to_lint if _lintable(m)]
    if not targets:
        return
    branch_tables: list[tuple[float, set[str]]] = []
    if context.base is not None:
        for migration in context.added:
            if _lintable(migration) and migration.text:
                branch_tables.append((_version(migration),
                                      created_tables(migration.text, dialect)))
    jobs = []
    for migration in targets:
        assert migration.text is not None
        version = _version(migration)
        new_tables = sorted({t for v, tables in branch_tables if v < version for t in tables})
        jobs.append(LintJob.for_config(migration.path, migration.text, context.config,
                                       tuple(new_tables)))
    for diagnostics in lint_many(jobs):
        yield from diagnostics
