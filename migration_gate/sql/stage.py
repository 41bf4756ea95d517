"""The SQL stage of `check`: lint the added and changed migrations (all with `--all`).

One body for every runner: the runner says which files it runs as SQL and in which order, and
which text it sends (Flyway's placeholders replaced; refinery's text as written). Tables
created by migrations added on the same branch that run earlier count as new (as if created
earlier in the same migration): nobody uses them yet, so the lock rules leave them alone.
Non-UTF-8 and empty files are the folder stage's findings, not this one's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from migration_gate.checks.folder import has_statement
from migration_gate.diagnostics import Diagnostic
from migration_gate.migrations import MigrationFile
from migration_gate.pipeline import CheckContext

if TYPE_CHECKING:
    from migration_gate.runners.model import Version
    from migration_gate.sql.columns import ColumnRows

#: A MySQL migration that may restate a column (`MODIFY`, `CHANGE`): only those need the
#: columns earlier migrations made (compiled by a MySQL run only).
_COLUMN_CHANGE = r"\b(?:MODIFY|CHANGE)\b"

#: Where the runner runs a file: (0, its version) for migrations run in version order, (1, None)
#: for those run after every versioned one (Flyway's repeatables).
Order = tuple[int, "Version | None"]


def _order(context: CheckContext, migration: MigrationFile) -> Order | None:
    """Where the runner runs this file, None when it does not run it as SQL (or it has no
    statement). refinery's name is `migration.name` (the folder rules' parse); another runner's
    is `runs_as`, misnamed files it runs anyway included (Flyway runs `V3.sql`)."""
    if migration.text is None or not has_statement(migration.text):
        return None
    if context.is_refinery:
        from migration_gate.runners.refinery import refinery_version

        name = migration.name
        if name is None or name.extension != "sql":
            return None
        return (0, refinery_version(name.version))
    parsed = migration.runs_as
    if parsed is None or parsed.suffix.lower() != ".sql":
        return None
    return (0, parsed.version) if parsed.version is not None else (1, None)


def _runs_before(earlier: Order, later: Order) -> bool:
    """Whether a versioned migration at `earlier` runs before one at `later`."""
    if later[0] == 1:
        return True
    return earlier[1] is not None and later[1] is not None and earlier[1] < later[1]


def _text(context: CheckContext, migration: MigrationFile) -> str:
    """The text the runner sends: Flyway's placeholders replaced (an undefined one is the
    folder stage's finding, and stays as written here); refinery's as written (it has no
    placeholders: a refinery check does not import `datetime` for `now`)."""
    assert migration.text is not None
    if not context.runner.rules.placeholders:
        return migration.text
    from datetime import datetime

    return context.runner.replace_placeholders(
        migration.text, migration.file_name, datetime.now()).text


def _columns_before(context: CheckContext, targets: list[tuple[MigrationFile, Order]]
                    ) -> dict[str, ColumnRows]:
    """MySQL: for each target that MODIFYs or CHANGEs a column, the columns of the tables it
    alters as the migrations that run before it left them (`sql.columns`), by path. One walk
    over the folder in version order; nothing is read for other dialects, or when no target
    restates a column (most runs)."""
    if context.config.dialect != "mysql":
        return {}
    from migration_gate.sql.columns import Columns, altered_tables, apply_migration, as_rows

    wanted: dict[str, tuple[Order, set[str]]] = {}
    for migration, order in targets:
        text = _text(context, migration)
        if re.search(_COLUMN_CHANGE, text, re.IGNORECASE) and (
                tables := altered_tables(text, "mysql")):
            wanted[migration.path] = (order, tables)
    if not wanted:
        return {}
    versioned: list[tuple[Version, MigrationFile]] = []
    for migration in context.local:
        at = _order(context, migration)
        if at is not None and at[1] is not None:
            versioned.append((at[1], migration))
    versioned.sort(key=lambda pair: pair[0])
    found: dict[str, ColumnRows] = {}
    columns: Columns = {}

    def take(path: str) -> None:
        tables = wanted[path][1]
        found[path] = as_rows({t: c for t, c in columns.items() if t in tables})

    for version, migration in versioned:
        for path, (order, _tables) in wanted.items():
            if path not in found and not _runs_before((0, version), order):
                take(path)  # every migration before this target has been applied
        apply_migration(_text(context, migration), "mysql", columns)
    for path in wanted:
        if path not in found:
            take(path)  # a repeatable, or the last migration
    return found


def sql_stage(context: CheckContext) -> Iterator[Diagnostic]:
    from migration_gate.sql.engine import LintJob, lint_many

    # refinery's jobs carry no runner: its answers are the lint's defaults (and its cache keys)
    runner = None if context.is_refinery else context.runner
    targets = [(m, order) for m in context.to_lint if (order := _order(context, m)) is not None]
    if not targets:
        return
    branch_tables: list[tuple[Order, set[str]]] = []
    if context.base is not None:
        from migration_gate.sql.tables import TableCache

        # remembered by content: a warm run imports neither the splitter nor the rules
        known = TableCache.for_run()
        for migration in context.added:
            order = _order(context, migration)
            if order is not None and order[0] == 0:
                branch_tables.append((order, known.tables(_text(context, migration),
                                                          context.config.dialect)))
        known.save()
    columns = _columns_before(context, targets)
    jobs = []
    for migration, order in targets:
        new_tables = sorted({t for earlier, tables in branch_tables
                             if _runs_before(earlier, order) for t in tables})
        jobs.append(LintJob.for_config(migration.path, _text(context, migration),
                                       context.config, tuple(new_tables), runner,
                                       columns.get(migration.path, ())))
    for diagnostics in lint_many(jobs):
        yield from diagnostics
