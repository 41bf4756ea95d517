"""Rules about what MySQL and SQLite do differently from PostgreSQL under refinery.

MySQL commits every DDL statement on its own and copies tables for many ALTERs; SQLite's
ALTER TABLE can do very little. These rules only run on migrations of their dialect.
"""

from __future__ import annotations

from collections.abc import Iterator

from migration_gate.catalog import Rule
from migration_gate.diagnostics import Severity
from migration_gate.sql.rules.base import DDL_STARTS, FileState, Finding, View
from migration_gate.sql.rules.registry import check
from migration_gate.sql.rules.statements import Action, Stmt, existing_table_actions

E, W = Severity.ERROR, Severity.WARNING


MYSQL_NON_TRANSACTIONAL_DDL = Rule(
    "mysql-non-transactional-ddl", W,
    "A MySQL migration with several DDL statements.",
    needs="context", dialects=("mysql",),
    why="MySQL commits each DDL statement implicitly: refinery's transaction cannot undo the "
    "first statements when a later one fails, so the schema is left half-migrated and the "
    "history table does not record the migration; running it again then fails on what was "
    "already done.",
    example="CREATE TABLE a (id int);\nALTER TABLE b ADD COLUMN c int;",
    instead="-- one DDL statement per migration file:\n-- V010__create_a.sql, V011__alter_b.sql",
    hint="put each DDL statement in its own migration file",
    fires=("CREATE TABLE a (id int); ALTER TABLE b ADD COLUMN c int;",
           "DROP TABLE IF EXISTS x; CREATE TABLE x (id int);",
           "ALTER TABLE a ADD COLUMN b int; ALTER TABLE a ADD COLUMN c int;"),
    passes=("CREATE TABLE a (id int);", "ALTER TABLE a ADD COLUMN b int; INSERT INTO a VALUES (1);",
            "INSERT INTO a VALUES (1); UPDATE a SET b = 2 WHERE id = 1;"),
)


@check(MYSQL_NON_TRANSACTIONAL_DDL)
def _second_ddl(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    if stmt.keys and stmt.keys[0] in DDL_STARTS and state.ddl_count == 1:
        yield Finding(MYSQL_NON_TRANSACTIONAL_DDL,
                      "a second DDL statement in this migration: MySQL commits each one, so a "
                      "failure after this point leaves the schema half-migrated and unrecorded")


MYSQL_LOCK_NONE_UNSUPPORTED = Rule(
    "mysql-lock-none-unsupported", W,
    "A MySQL `ALTER TABLE` that may copy the table (a column's type changed, the primary key "
    "dropped) without `ALGORITHM=INPLACE/INSTANT, LOCK=NONE`.",
    needs="context", dialects=("mysql",),
    why="InnoDB picks an algorithm per operation (MySQL 8.0 \"Online DDL Operations\", "
    "MariaDB \"InnoDB Online DDL Operations with the INPLACE/INSTANT Alter Algorithm\"). "
    "Changing a column's data type (`MODIFY`/`CHANGE` to another type) and dropping the primary "
    "key without adding another in the same statement copy the whole table (ALGORITHM=COPY), "
    "blocking writes for the duration. Renaming a column (`CHANGE` with the same type), "
    "changing NULL/NOT NULL or a default, widening a VARCHAR, adding values at the end of an "
    "ENUM, adding a column, an index or a primary key, and replacing the primary key in one "
    "statement run in place (INSTANT or INPLACE) with concurrent writes; MariaDB 10.11 runs "
    "each of them with `ALGORITHM=INPLACE, LOCK=NONE` (tests/test_mysql_online_ddl.py). The "
    "previous type of a `MODIFY`/`CHANGE` is not in the migration: `check` reads it from the "
    "migrations that run before (`sql/columns.py`: `int`/`int(11)`/`integer` are one type, a "
    "VARCHAR widened within its length prefix and an ENUM grown at its end stay in place) and "
    "reports only a real type change, naming both types; where no earlier migration says it "
    "(`lint` of one file), the change is reported, since asking for `ALGORITHM=INPLACE, "
    "LOCK=NONE` makes the server refuse a copy up front (error 1846) instead of silently "
    "locking.",
    example="ALTER TABLE users MODIFY COLUMN name varchar(500);",
    instead="ALTER TABLE users MODIFY COLUMN name varchar(500), ALGORITHM=INPLACE, LOCK=NONE;\n"
    "-- or an online schema change tool (gh-ost, pt-online-schema-change) outside refinery",
    hint="add ALGORITHM=INPLACE, LOCK=NONE (MySQL then refuses a "
    "copy), or use an online schema change tool outside refinery",
    fires=("ALTER TABLE users MODIFY COLUMN name varchar(500);",
           "ALTER TABLE users CHANGE name full_name text;",
           "ALTER TABLE users DROP PRIMARY KEY;"),
    passes=("ALTER TABLE users MODIFY COLUMN name varchar(500), ALGORITHM=INPLACE, LOCK=NONE;",
            "ALTER TABLE users ADD COLUMN age int;",
            "CREATE TABLE t (a int); ALTER TABLE t MODIFY a bigint;",
            "ALTER TABLE users DROP PRIMARY KEY, ADD PRIMARY KEY (id, tenant);",
            "ALTER TABLE users ADD PRIMARY KEY (id);"),
)


def _online(view: View) -> bool:
    """Whether the statement asks for ALGORITHM=INPLACE/INSTANT and LOCK=NONE."""
    keys = view.keys
    online_algorithm = any(view.at(i, "ALGORITHM", "=") and i + 2 < len(keys)
                           and keys[i + 2] in ("INPLACE", "INSTANT") for i in range(len(keys)))
    return online_algorithm and any(view.at(i, "LOCK", "=", "NONE") for i in range(len(keys)))


@check(MYSQL_LOCK_NONE_UNSUPPORTED, "ALTER")
def _table_copy(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    actions = existing_table_actions(stmt, state, "ADD CONSTRAINT", "DROP CONSTRAINT",
                                     "MODIFY", "CHANGE")
    adds_key = any(a.kind == "ADD CONSTRAINT" and a.word == "PRIMARY" for _t, a in actions)
    if _online(stmt.view):
        return
    for table, action in actions:
        if action.kind in ("MODIFY", "CHANGE"):
            yield from _column_change(stmt, state, table, action)
        elif action.kind == "DROP CONSTRAINT" and action.word == "PRIMARY" and not adds_key:
            yield Finding(MYSQL_LOCK_NONE_UNSUPPORTED,
                          "DROP PRIMARY KEY without adding another makes MySQL copy the table, "
                          "blocking writes; without ALGORITHM=INPLACE, LOCK=NONE it does so "
                          "silently")


def _column_change(stmt: Stmt, state: FileState, table: str | None, action: Action
                   ) -> Iterator[Finding]:
    """A MODIFY/CHANGE judged against the column's type before it when the migrations before
    this one say it (`check`), cautiously worded when they do not (`lint` of a lone file)."""
    from migration_gate.sql.columns import changed_column, in_place, widens_varchar

    old, _new, after = changed_column(stmt.view, action.start, action.end)
    before = state.columns.get((table or "").lower(), {}).get(old or "")
    if before is None or after is None:
        yield Finding(MYSQL_LOCK_NONE_UNSUPPORTED,
                      f"{action.kind} COLUMN copies the table, blocking writes, if it changes "
                      "the column's data type (a rename, NULL/NOT NULL, a default or a wider "
                      "VARCHAR run in place); without ALGORITHM=INPLACE, LOCK=NONE a copy "
                      "happens silently")
    elif widens_varchar(before, after):
        yield Finding(MYSQL_LOCK_NONE_UNSUPPORTED,
                      f"{action.kind} COLUMN widens {old} from {before.text()} to "
                      f"{after.text()}: if its length prefix grows (past 255 bytes: 63 "
                      "characters in utf8mb4, 255 in latin1) MySQL copies the table, blocking "
                      "writes; without ALGORITHM=INPLACE, LOCK=NONE it does so silently")
    elif not in_place(before, after):
        yield Finding(MYSQL_LOCK_NONE_UNSUPPORTED,
                      f"{action.kind} COLUMN changes {old} from {before.text()} to "
                      f"{after.text()}: MySQL copies the table, blocking writes; without "
                      "ALGORITHM=INPLACE, LOCK=NONE it does so silently")


SQLITE_UNSUPPORTED_ALTER = Rule(
    "sqlite-unsupported-alter", E,
    "An `ALTER TABLE` form the target SQLite cannot do: `ALTER COLUMN`, `ADD CONSTRAINT`, "
    "`DROP COLUMN` before SQLite 3.35, `RENAME COLUMN` before 3.25.",
    needs="stmt", dialects=("sqlite",),
    why="SQLite's ALTER TABLE renames tables, adds columns (always), renames columns (since "
    "3.25.0, 2018) and drops columns (since 3.35.0, 2021): anything else is a syntax error and "
    "the migration fails on every database. The target version is the configuration's "
    "`sqlite.version` (a string such as \"3.31\"); without it, a current SQLite (3.46).",
    example="ALTER TABLE users ALTER COLUMN name SET NOT NULL;",
    instead="-- the 12-step rebuild: CREATE TABLE users_new (...); INSERT INTO users_new "
    "SELECT ... FROM users;\n-- DROP TABLE users; ALTER TABLE users_new RENAME TO users;",
    hint="rebuild the table: create the new table, copy, drop, rename",
    fires=("ALTER TABLE users ALTER COLUMN name SET NOT NULL;",
           "ALTER TABLE users ADD CONSTRAINT c CHECK (a > 0);",
           "alter table users alter column age type bigint;"),
    passes=("ALTER TABLE users ADD COLUMN age integer;",
            "ALTER TABLE users RENAME COLUMN a TO b;", "ALTER TABLE users DROP COLUMN legacy;"),
)

#: The SQLite release that first runs each ALTER TABLE action (sqlite.org/lang_altertable.html).
_SQLITE_SINCE = {"DROP COLUMN": (3, 35), "RENAME COLUMN": (3, 25)}


@check(SQLITE_UNSUPPORTED_ALTER, "ALTER")
def _sqlite_alter(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    """Also on tables created in this migration: SQLite refuses the statement itself."""
    alter = stmt.alter_table
    for action in alter.actions if alter is not None else ():
        since = _SQLITE_SINCE.get(action.kind)
        if action.kind == "ADD CONSTRAINT":
            yield Finding(SQLITE_UNSUPPORTED_ALTER,
                          "SQLite cannot add a constraint to an existing table")
        elif action.kind == "ALTER COLUMN":
            yield Finding(SQLITE_UNSUPPORTED_ALTER, "SQLite has no ALTER TABLE ... ALTER COLUMN")
        elif since is not None and state.sqlite_version < since:
            target = ".".join(map(str, state.sqlite_version))
            yield Finding(SQLITE_UNSUPPORTED_ALTER,
                          f"{action.kind} needs SQLite {since[0]}.{since[1]} or later; the "
                          f"configured target, SQLite {target}, cannot do it")
