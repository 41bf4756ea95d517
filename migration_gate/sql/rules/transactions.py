"""Rules about refinery's transaction: every migration runs inside one, on one connection.

Statements that cannot run in a transaction fail there (25001), statements that end it break
refinery's bookkeeping, and what a migration does inside it (a backfill, a session setting)
lasts as long as the transaction or longer.
"""

from __future__ import annotations

from collections.abc import Iterator

from migration_gate.catalog import Rule
from migration_gate.diagnostics import Severity
from migration_gate.sql.rules.base import PG, FileState, Finding, keys_span
from migration_gate.sql.rules.registry import at_end, check
from migration_gate.sql.rules.statements import Stmt

E, W = Severity.ERROR, Severity.WARNING


BAN_CONCURRENT_IN_TRANSACTION = Rule(
    "ban-concurrent-index-creation-in-transaction", E,
    "A `CONCURRENTLY` operation in a refinery migration: it cannot run inside a transaction.",
    needs="stmt", dialects=PG,
    why="refinery wraps every migration in a transaction (docs/refinery.md#transactions). "
    "`CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, `REINDEX ... CONCURRENTLY` and "
    "`DETACH PARTITION ... CONCURRENTLY` refuse to run there: the migration fails with "
    "SQLSTATE 25001 \"cannot run inside a transaction block\" (refinery issue #277) and the "
    "deploy stops.",
    example="CREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
    instead="-- operations step, outside refinery:\n"
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);\n"
    "-- the migration, a no-op once the index exists:\n"
    "CREATE INDEX IF NOT EXISTS users_email_idx ON users (email);",
    hint="refinery cannot run CONCURRENTLY: run it as "
    "an operations step outside refinery and keep the IF [NOT] EXISTS form without CONCURRENTLY "
    "in the migration",
    instead_passes=False,
    fires=(
        "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
        "DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;",
        "REINDEX INDEX CONCURRENTLY users_email_idx;",
        "ALTER TABLE measurements DETACH PARTITION m2020 CONCURRENTLY;",
    ),
    passes=(
        "CREATE INDEX IF NOT EXISTS users_email_idx ON users (email);",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY stats;",
        "SELECT 'CREATE INDEX CONCURRENTLY x ON y (z)';",
    ),
)


@check(BAN_CONCURRENT_IN_TRANSACTION, "CREATE", "DROP", "REINDEX", "ALTER")
def _concurrently(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    create, drop, alter = stmt.create, stmt.drop, stmt.alter_table
    if create is not None and create.kind == "INDEX" and create.concurrently:
        yield Finding(BAN_CONCURRENT_IN_TRANSACTION,
                      "CREATE INDEX CONCURRENTLY cannot run inside refinery's transaction: the "
                      "migration fails with 25001 (cannot run inside a transaction block)",
                      keys_span(stmt.view, "CONCURRENTLY"))
    elif drop is not None and drop.kind == "INDEX" and drop.concurrently:
        yield Finding(BAN_CONCURRENT_IN_TRANSACTION,
                      "DROP INDEX CONCURRENTLY cannot run inside refinery's transaction: the "
                      "migration fails with 25001", keys_span(stmt.view, "CONCURRENTLY"))
    elif stmt.keys[0] == "REINDEX" and "CONCURRENTLY" in stmt.keys:
        yield Finding(BAN_CONCURRENT_IN_TRANSACTION,
                      "REINDEX ... CONCURRENTLY cannot run inside refinery's transaction: the "
                      "migration fails with 25001", keys_span(stmt.view, "CONCURRENTLY"))
    elif alter is not None:
        for action in alter.actions:
            if action.kind == "DETACH" and action.has("CONCURRENTLY", start=action.start):
                yield Finding(BAN_CONCURRENT_IN_TRANSACTION,
                              "DETACH PARTITION ... CONCURRENTLY cannot run inside refinery's "
                              "transaction: the migration fails with 25001",
                              keys_span(stmt.view, "CONCURRENTLY", start=action.start))


TRANSACTION_NESTING = Rule(
    "transaction-nesting", E,
    "`BEGIN`, `START TRANSACTION`, `COMMIT` or `ROLLBACK` inside a migration.",
    needs="stmt", dialects=("postgres", "mysql", "sqlite", "mssql"),
    why="refinery already runs the file in a transaction. A `COMMIT` in the file ends "
    "refinery's transaction early: a failure after it leaves half the migration applied and no "
    "history row, and PostgreSQL warns \"there is no transaction in progress\" when refinery "
    "commits. `BEGIN` only warns but misleads readers into thinking they control the "
    "transaction.",
    example="BEGIN;\nALTER TABLE users ADD COLUMN IF NOT EXISTS phone text;\nCOMMIT;",
    instead="ALTER TABLE users ADD COLUMN IF NOT EXISTS phone text;  -- refinery wraps the file",
    hint="remove it: refinery already wraps the migration in a transaction",
    fires=("BEGIN;", "COMMIT;", "START TRANSACTION;", "ROLLBACK;", "END;"),
    passes=(
        "SAVEPOINT before_backfill;",
        "ROLLBACK TO SAVEPOINT before_backfill;",
        "DO $$ BEGIN PERFORM 1; END $$;",
    ),
)


@check(TRANSACTION_NESTING, "BEGIN", "START", "COMMIT", "ROLLBACK", "END", "ABORT")
def _nesting(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    keys = stmt.keys
    first = keys[0]
    if first == "START" and not stmt.view.at(1, "TRANSACTION"):
        return
    if first == "ROLLBACK" and ("TO" in keys or "PREPARED" in keys):
        return
    if first == "BEGIN" and len(keys) > 1 and keys[1] not in ("TRANSACTION", "WORK", "TRAN",
                                                               "ISOLATION", "READ", "DEFERRED",
                                                               "IMMEDIATE", "EXCLUSIVE", ";"):
        return  # T-SQL `BEGIN ... END` blocks, `BEGIN TRY` and the like
    yield Finding(TRANSACTION_NESTING,
                  f"{' '.join(keys[:2]) if first == 'START' else first} inside a migration: "
                  "refinery already runs the file in a transaction")


UNBOUNDED_DATA_CHANGE = Rule(
    "unbounded-data-change", W,
    "`UPDATE`/`DELETE` without `WHERE` on an existing table, in a migration that also has DDL.",
    needs="context", dialects=PG,
    why="An unbounded UPDATE or DELETE locks every row of the table and, in the same "
    "transaction as DDL, keeps the DDL's ACCESS EXCLUSIVE lock for the whole backfill: the table "
    "is unavailable until refinery commits. It also bloats the table by one dead row version per "
    "row.",
    example="ALTER TABLE users ADD COLUMN IF NOT EXISTS status text;\n"
    "UPDATE users SET status = CASE WHEN active THEN 'active' ELSE 'inactive' END;",
    instead="ALTER TABLE users ADD COLUMN IF NOT EXISTS status text;\n"
    "-- backfill in batches outside the migration (a job), e.g.\n"
    "-- UPDATE users SET status = ... WHERE id BETWEEN $1 AND $2;",
    hint="backfill in batches (UPDATE ... WHERE id BETWEEN ...) outside the "
    "migration",
    fires=(
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS s text; UPDATE users SET s = 'x';",
        "DROP TABLE IF EXISTS old; DELETE FROM sessions;",
        "CREATE INDEX IF NOT EXISTS i ON t (a); UPDATE ONLY t SET a = (SELECT 1 WHERE true);",
    ),
    passes=(
        "UPDATE users SET s = 'x';",
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS s text; UPDATE users SET s = 'x' WHERE id < 9;",
        "CREATE TABLE t (a int); UPDATE t SET a = 1;",
    ),
)


@check(UNBOUNDED_DATA_CHANGE, "UPDATE", "DELETE", ddl_files_only=True)
def _unbounded(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    view, keys = stmt.view, stmt.keys
    if keys[0] == "UPDATE":
        index = view.skip(1, "ONLY")
    elif view.at(0, "DELETE", "FROM"):
        index = view.skip(2, "ONLY")
    else:
        return
    table, _ = view.name_at(index)
    if not state.has_ddl or table is None or table in state.new_tables:
        return
    if view.has(0, len(keys), "WHERE"):
        return
    yield Finding(UNBOUNDED_DATA_CHANGE,
                  f"{keys[0]} of every row of {table} without WHERE, in a migration with DDL: "
                  "row locks and the DDL's lock are held for the whole backfill")


SESSION_SETTING_LEAK = Rule(
    "session-setting-leak", W,
    "`SET x = ...` (not `SET LOCAL`) without a matching `RESET` in the migration.",
    needs="context", dialects=PG,
    why="refinery runs all pending migrations on one connection. A session-level `SET` outlives "
    "the migration's transaction and changes how every later migration runs (a `work_mem`, a "
    "`search_path`, a `statement_timeout`...), and it behaves differently depending on how many "
    "migrations a database has pending.",
    example="SET work_mem = '256MB';\nCREATE INDEX IF NOT EXISTS big_idx ON events (created_at);",
    instead="SET LOCAL work_mem = '256MB';  -- ends with refinery's transaction",
    hint="use SET LOCAL, which ends with refinery's transaction",
    fires=(
        "SET work_mem = '256MB';",
        "SET search_path TO app, public;",
        "SET SESSION statement_timeout = 0; RESET work_mem;",
    ),
    passes=(
        "SET LOCAL work_mem = '256MB';",
        "SET work_mem = '256MB'; CREATE TABLE t (a int); RESET work_mem;",
        "SET statement_timeout = 0; RESET ALL;",
    ),
)


@at_end(SESSION_SETTING_LEAK)
def _leaks(state: FileState) -> Iterator[tuple[int, Finding]]:
    """Every session SET that no later RESET undid, at its statement."""
    for name, index in state.pending_settings.items():
        yield index, Finding(SESSION_SETTING_LEAK,
                             f"SET {name} without SET LOCAL or a later RESET {name}: the setting "
                             "leaks into the session that runs the next migrations")
