"""The SQL stage of `check`: lint the added and changed migrations (all with `--all`).

Tables created by migrations added on the same branch with a lower version count as new (as
if created earlier in the same migration): nobody uses them yet, so the lock rules leave them
alone. Non-UTF-8 and empty files are the folder stage's findings, not this one's.
"""

from __future__ import annotations

from collections.abc import Iterator

from migration_gate.checks.folder import has_statement
from migration_gate.diagnostics import Diagnostic
from migration_gate.migrations import MigrationFile, is_sql_migration
from migration_gate.pipeline import CheckContext


def _lintable(migration: MigrationFile) -> bool:
    """A `.sql` migration with statements (misnamed files are not read by discovery)."""
    return is_sql_migration(migration) and migration.text is not None and has_statement(
        migration.text
    )


def _version(migration: MigrationFile) -> float:
    return migration.name.version if migration.name is not None else float("inf")


def sql_stage(context: CheckContext) -> Iterator[Diagnostic]:
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
