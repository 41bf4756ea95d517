"""Rules about the runner's transaction: refinery runs every migration inside one, on one
connection; Flyway decides per script (`Runner.script_transaction`, in `FileState.script`).

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
    "A `CONCURRENTLY` operation the runner runs inside a transaction (refinery: always; "
    "Flyway: when it cannot run the script without one).",
    needs="stmt", dialects=PG,
    why="refinery wraps every migration in a transaction (docs/refinery.md#transactions). "
    "`CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, `REINDEX ... CONCURRENTLY` and "
    "`DETACH PARTITION ... CONCURRENTLY` refuse to run there: the migration fails with "
    "SQLSTATE 25001 \"cannot run inside a transaction block\" (refinery issue #277) and the "
    "deploy stops. Flyway runs a script without a transaction when its parser detects "
    "`CREATE/DROP INDEX CONCURRENTLY` (docs/flyway.md, section 4): such a script is fine on its "
    "own, but mixed with transactional statements Flyway refuses the migration (unless "
    "`mixed=true`), and the forms its parser does not detect (`REINDEX ... CONCURRENTLY`, "
    "`DETACH PARTITION ... CONCURRENTLY`) still run inside its transaction and fail with 25001.",
    example="CREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
    instead="-- operations step, outside refinery:\n"
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);\n"
    "-- the migration, a no-op once the index exists:\n"
    "CREATE INDEX IF NOT EXISTS users_email_idx ON users (email);\n"
    "-- Flyway: the CONCURRENTLY statement alone in a migration of its own, which Flyway runs\n"
    "-- without a transaction",
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
    if state.script is None:
        yield from _concurrently_in_transaction(stmt)
        return
    for finding in _concurrently_in_transaction(stmt):
        what = finding.message.split(" cannot run", 1)[0]
        judged = runner_refusal(state, what)
        if judged is not None:
            yield Finding(BAN_CONCURRENT_IN_TRANSACTION, judged[0], finding.span, judged[1])


def runner_refusal(state: FileState, what: str) -> tuple[str, str] | None:
    """(message, hint) when the runner will not run the current statement, which cannot run
    inside a transaction, as the file is written; None when it runs it without one.
    `state.script` is the runner's answer for the whole file (Flyway's parser)."""
    script = state.script
    assert script is not None
    runner = state.runner.capitalize()
    index = state.index
    if index in dict(script.failing):
        return (f"{what} runs inside {runner}'s transaction: its parser does not detect it as "
                "non-transactional, and the migration fails with 25001",
                f"{runner} only runs a script without a transaction when its parser detects a "
                "non-transactional statement (CREATE/DROP INDEX CONCURRENTLY, VACUUM...): run "
                "this outside the migration, or give the script `executeInTransaction=false` "
                "in its .sql.conf file")
    if script.error is not None and index in script.non_transactional:
        return (f"{what} in a migration that also has transactional statements: {runner} "
                "refuses it before running anything (Detected both transactional and "
                "non-transactional statements within the same migration, even though mixed "
                "is false)",
                f"move it into a migration of its own: {runner} runs a script whose statements "
                "are all non-transactional without a transaction (or set mixed=true: then the "
                "whole script runs without a transaction, each statement committing alone)")
    return None


def _concurrently_in_transaction(stmt: Stmt) -> Iterator[Finding]:
    """The CONCURRENTLY operation of a statement, as refinery (one transaction) sees it."""
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
