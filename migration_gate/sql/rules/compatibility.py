"""Rules about changes the running application does not survive, and data that is lost.

The migration runs before (or while) the new code is deployed: every instance still running
the old code keeps using the old names, columns and constraints until it is replaced.
"""

from __future__ import annotations

from collections.abc import Iterator

from migration_gate.catalog import Rule
from migration_gate.diagnostics import Severity
from migration_gate.sql.rules.base import (
    PG,
    PORTABLE,
    FileState,
    Finding,
    words_span,
)
from migration_gate.sql.rules.registry import at_end, check
from migration_gate.sql.rules.statements import Stmt, existing_table_actions

E, W = Severity.ERROR, Severity.WARNING


RENAMING_COLUMN = Rule(
    "renaming-column", W,
    "`ALTER TABLE ... RENAME COLUMN` on an existing table.",
    needs="context", dialects=PORTABLE,
    why="The running application still uses the old name: between the migration and the "
    "deploy of the new code (and for any instance not yet restarted) every query naming the "
    "column fails.",
    example="ALTER TABLE users RENAME COLUMN name TO full_name;",
    instead="-- expand/contract: add the new column, dual-write, backfill, switch reads,\n"
    "-- and drop the old column in a later release",
    hint="expand/contract: add the new column, dual-write, switch reads, drop the "
    "old one in a later release",
    fires=("ALTER TABLE users RENAME COLUMN name TO full_name;",
           "ALTER TABLE users RENAME name TO full_name;",
           "alter table if exists only users rename column a to b;"),
    passes=("ALTER TABLE users RENAME CONSTRAINT a TO b;",
            "CREATE TABLE t (a int); ALTER TABLE t RENAME COLUMN a TO b;",
            "ALTER TABLE users ADD COLUMN IF NOT EXISTS full_name text;"),
)


@check(RENAMING_COLUMN, "ALTER")
def _rename_column(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    for table, action in existing_table_actions(stmt, state, "RENAME COLUMN"):
        yield Finding(RENAMING_COLUMN,
                      f"renaming column {action.name} of {table} breaks the running "
                      "application's queries")


RENAMING_TABLE = Rule(
    "renaming-table", W,
    "`ALTER TABLE ... RENAME TO` on an existing table.",
    needs="context", dialects=PORTABLE,
    why="Every query of the running application that names the table fails from the moment "
    "the migration commits until the new code is deployed everywhere.",
    example="ALTER TABLE users RENAME TO accounts;",
    instead="ALTER TABLE users RENAME TO accounts;\nCREATE VIEW users AS SELECT * FROM accounts;"
    "  -- keeps the old name working\n-- drop the view in a later release",
    hint="rename, then CREATE VIEW with the old name until every client has moved",
    instead_passes=False,
    fires=("ALTER TABLE users RENAME TO accounts;", "ALTER TABLE IF EXISTS users RENAME TO a;",
           "alter table public.users rename to accounts;"),
    passes=("CREATE TABLE t (a int); ALTER TABLE t RENAME TO u;",
            "ALTER TABLE users RENAME COLUMN a TO b;", "ALTER INDEX i RENAME TO j;"),
)


@check(RENAMING_TABLE, "ALTER")
def _rename_table(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    for table, _action in existing_table_actions(stmt, state, "RENAME TO"):
        yield Finding(RENAMING_TABLE,
                      f"renaming table {table} breaks the running application's queries")


BAN_DROP_COLUMN = Rule(
    "ban-drop-column", W,
    "`ALTER TABLE ... DROP COLUMN` on an existing table.",
    needs="context", dialects=PORTABLE,
    why="The data is gone, and the running application may still select or insert the "
    "column: its queries fail until the new code is deployed everywhere.",
    example="ALTER TABLE users DROP COLUMN legacy_flag;",
    instead="-- stop using the column in a release first, then drop it in a later migration:\n"
    "-- migration-gate: ignore ban-drop-column\n"
    "ALTER TABLE users DROP COLUMN IF EXISTS legacy_flag;",
    hint="stop using the column in a release first, then drop it (and ignore this "
    "rule on that statement)",
    fires=("ALTER TABLE users DROP COLUMN legacy_flag;",
           "ALTER TABLE users DROP COLUMN IF EXISTS legacy_flag;",
           "ALTER TABLE users DROP legacy_flag CASCADE;"),
    passes=("ALTER TABLE users DROP CONSTRAINT IF EXISTS c;",
            "ALTER TABLE users ALTER COLUMN a DROP DEFAULT;",
            "CREATE TABLE t (a int, b int); ALTER TABLE t DROP COLUMN b;"),
)


@check(BAN_DROP_COLUMN, "ALTER")
def _drop_column(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    for table, action in existing_table_actions(stmt, state, "DROP COLUMN"):
        yield Finding(BAN_DROP_COLUMN,
                      f"dropping column {action.name} of {table} loses its data and breaks "
                      "clients still using it", words_span(stmt.view, action.start, action.end))


BAN_DROP_TABLE = Rule(
    "ban-drop-table", W,
    "`DROP TABLE` of an existing table that the migration does not make again.",
    needs="context", dialects=PORTABLE,
    why="Data loss, and every running query on the table fails. Dropping also takes an ACCESS "
    "EXCLUSIVE lock on the table and on the tables referencing it. A table the same migration "
    "makes again under its name is replaced, not gone, and is not reported: "
    "`DROP TABLE IF EXISTS x; CREATE TABLE x (...)`, or SQLite's table rebuild (create "
    "`x_new`, copy the rows, drop `x`, rename `x_new` to `x`).",
    example="DROP TABLE sessions;",
    instead="-- stop using the table in a release first; keep a backup; then:\n"
    "-- migration-gate: ignore ban-drop-table\nDROP TABLE IF EXISTS sessions;",
    hint="stop using the table in a release first, back it up, then drop it (and "
    "ignore this rule on that statement)",
    fires=("DROP TABLE sessions;", "DROP TABLE IF EXISTS a, b CASCADE;",
           "drop table public.sessions;"),
    passes=("CREATE TABLE tmp (a int); DROP TABLE tmp;", "DROP VIEW IF EXISTS v;",
            "DROP INDEX IF EXISTS i;", "DROP TABLE IF EXISTS t; CREATE TABLE t (a int);",
            "CREATE TABLE t_new (a int); INSERT INTO t_new SELECT a FROM t; DROP TABLE t;\n"
            "ALTER TABLE t_new RENAME TO t;"),
)


@at_end(BAN_DROP_TABLE)
def _drop_table(state: FileState) -> Iterator[tuple[int, Finding]]:
    """A table dropped and then made again under its name later in the same migration
    (`DROP TABLE x; CREATE TABLE x`, or SQLite's rebuild: create `x_new`, copy, drop `x`,
    rename `x_new` to `x`) is replaced, not gone: clients keep a table of that name."""
    for index, old in state.table_drops:
        gone = [n for n in old if not any(at > index for at in state.table_made.get(n, ()))]
        if gone or not old:
            yield index, Finding(BAN_DROP_TABLE,
                                 f"DROP TABLE {', '.join(gone)} loses its data and breaks every "
                                 "client still using it")


BAN_DROP_DATABASE = Rule(
    "ban-drop-database", W,
    "`DROP DATABASE` in a migration.",
    needs="stmt", dialects=PORTABLE,
    why="A migration is applied to every environment, production included; dropping a "
    "database there loses everything (and on PostgreSQL it cannot even run inside refinery's "
    "transaction).",
    example="DROP DATABASE analytics;",
    instead="-- database life cycle belongs to provisioning, not to migrations",
    hint="leave database life cycle to provisioning, not migrations",
    fires=("DROP DATABASE analytics;", "DROP DATABASE IF EXISTS analytics;",
           "drop database old with (force);"),
    passes=("DROP TABLE IF EXISTS t;", "DROP SCHEMA IF EXISTS s;", "SELECT 'DROP DATABASE x';"),
)


@check(BAN_DROP_DATABASE, "DROP")
def _drop_database(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    if stmt.drop is not None and stmt.drop.kind == "DATABASE":
        yield Finding(BAN_DROP_DATABASE, "DROP DATABASE in a migration loses a whole database")


BAN_DROP_NOT_NULL = Rule(
    "ban-drop-not-null", W,
    "`ALTER COLUMN ... DROP NOT NULL` on an existing table.",
    needs="context", dialects=PORTABLE,
    why="Running code (and other services) may rely on the column never being NULL; once NULLs "
    "are written, rolling the code back breaks.",
    example="ALTER TABLE users ALTER COLUMN email DROP NOT NULL;",
    instead="-- make sure every reader handles NULL first, then drop the constraint",
    hint="make every reader handle NULL before dropping the constraint",
    fires=("ALTER TABLE users ALTER COLUMN email DROP NOT NULL;",
           "ALTER TABLE users ALTER email DROP NOT NULL;",
           "ALTER TABLE ONLY users ALTER COLUMN a SET DEFAULT 1,\n"
           "    ALTER COLUMN email DROP NOT NULL;"),
    passes=("ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
            "CREATE TABLE t (a int NOT NULL); ALTER TABLE t ALTER COLUMN a DROP NOT NULL;",
            "ALTER TABLE users ALTER COLUMN email DROP DEFAULT;"),
)


@check(BAN_DROP_NOT_NULL, "ALTER")
def _drop_not_null(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    for table, action in existing_table_actions(stmt, state, "ALTER COLUMN"):
        if action.then("DROP", "NOT", "NULL"):
            yield Finding(BAN_DROP_NOT_NULL,
                          f"DROP NOT NULL on {table}.{action.name}: running code may rely on it")


BAN_TRUNCATE_CASCADE = Rule(
    "ban-truncate-cascade", E,
    "`TRUNCATE ... CASCADE`.",
    needs="stmt", dialects=PG,
    why="CASCADE also empties every table that references the truncated one through a foreign "
    "key, and the tables referencing those: far more data than the statement names.",
    example="TRUNCATE users CASCADE;",
    instead="TRUNCATE orders, users;  -- name every table to empty",
    hint="name every table to empty instead of CASCADE",
    fires=("TRUNCATE users CASCADE;", "TRUNCATE TABLE ONLY a, b CASCADE;",
           "truncate t restart identity cascade;"),
    passes=("TRUNCATE users;", "TRUNCATE a, b RESTRICT;", "DROP TABLE IF EXISTS a CASCADE;"),
)


@check(BAN_TRUNCATE_CASCADE, "TRUNCATE")
def _truncate_cascade(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    view = stmt.view
    index = view.skip(view.skip(1, "TABLE"), "ONLY")
    if view.has(index, len(view.keys), "CASCADE"):
        yield Finding(BAN_TRUNCATE_CASCADE,
                      "TRUNCATE ... CASCADE also empties every table referencing these ones")
