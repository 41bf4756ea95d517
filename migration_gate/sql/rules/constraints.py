"""Rules about constraints and keys added to a table that already holds data.

Adding a CHECK, FOREIGN KEY, UNIQUE or PRIMARY KEY constraint validates every row, or builds
an index, while holding a lock that blocks writes (or everything) on the table.
"""

from __future__ import annotations

from collections.abc import Iterator

from migration_gate.catalog import Rule
from migration_gate.diagnostics import Severity
from migration_gate.sql.rules.base import PG, SERIALS, FileState, Finding, words_span
from migration_gate.sql.rules.registry import check
from migration_gate.sql.rules.statements import Stmt, existing_table_actions

W = Severity.WARNING


CONSTRAINT_MISSING_NOT_VALID = Rule(
    "constraint-missing-not-valid", W,
    "`ADD CONSTRAINT ... CHECK / FOREIGN KEY` without `NOT VALID` on an existing table, or "
    "`VALIDATE CONSTRAINT` in the migration that added it.",
    needs="context", dialects=PG,
    why="Adding a CHECK or FOREIGN KEY constraint scans the whole table to validate it, under "
    "ACCESS EXCLUSIVE (CHECK) or SHARE ROW EXCLUSIVE (FOREIGN KEY) locks: writes (and for CHECK, "
    "reads) wait for the scan. With `NOT VALID` only new rows are checked and the lock is "
    "brief; `VALIDATE CONSTRAINT` then scans under a weaker SHARE UPDATE EXCLUSIVE lock, but "
    "only if it runs in a later migration: in the same one refinery's transaction still holds "
    "the strong lock taken by the ADD.",
    example="ALTER TABLE users ADD CONSTRAINT chk_age CHECK (age >= 0);",
    instead="-- this migration:\nALTER TABLE users ADD CONSTRAINT chk_age CHECK (age >= 0) NOT "
    "VALID;\n-- a later migration:\nALTER TABLE users VALIDATE CONSTRAINT chk_age;",
    hint="add the constraint NOT VALID now and VALIDATE CONSTRAINT in "
    "a later migration",
    instead_passes=False,
    fires=(
        "ALTER TABLE users ADD CONSTRAINT chk_age CHECK (age >= 0);",
        "ALTER TABLE orders ADD CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES users (id);",
        "ALTER TABLE users ADD CONSTRAINT c CHECK (a > 0) NOT VALID;\n"
        "ALTER TABLE users VALIDATE CONSTRAINT c;",
    ),
    passes=(
        "ALTER TABLE users ADD CONSTRAINT chk_age CHECK (age >= 0) NOT VALID;",
        "ALTER TABLE users VALIDATE CONSTRAINT chk_age;",
        "CREATE TABLE t (a int); ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0);",
    ),
)


@check(CONSTRAINT_MISSING_NOT_VALID, "ALTER")
def _not_valid(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    alter = stmt.alter_table
    if alter is None:
        return
    table, new = alter.table, state.is_new(alter.table)
    added_not_valid = set(state.not_valid)  # and by the actions before, in this statement
    for action in alter.actions:
        if action.kind == "ADD CONSTRAINT":
            not_valid = action.has("NOT", "VALID")
            if not_valid and action.name:
                added_not_valid.add(action.name)
            if new or not_valid:
                continue
            if action.word == "CHECK":
                yield Finding(CONSTRAINT_MISSING_NOT_VALID,
                              f"adding CHECK constraint {action.name or ''} without NOT VALID "
                              f"scans all of {table} under ACCESS EXCLUSIVE",
                              words_span(stmt.view, action.start, action.end))
            elif action.word == "FOREIGN":
                yield Finding(CONSTRAINT_MISSING_NOT_VALID,
                              f"adding FOREIGN KEY {action.name or ''} without NOT VALID scans "
                              f"all of {table} under SHARE ROW EXCLUSIVE",
                              words_span(stmt.view, action.start, action.end))
        elif action.kind == "VALIDATE" and action.name in added_not_valid:
            yield Finding(CONSTRAINT_MISSING_NOT_VALID,
                          f"VALIDATE CONSTRAINT {action.name} in the migration that added it: "
                          "refinery's transaction still holds the lock taken by the ADD, so "
                          "NOT VALID gained nothing; validate in a later migration")


ADDING_FOREIGN_KEY_CONSTRAINT = Rule(
    "adding-foreign-key-constraint", W,
    "A foreign key added to an existing table without `NOT VALID`.",
    needs="context", dialects=PG,
    why="Adding a foreign key takes SHARE ROW EXCLUSIVE locks on both the table and the "
    "referenced table, and scans the table to validate every row while holding them: writes "
    "to both tables wait.",
    example="ALTER TABLE orders ADD CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES users;",
    instead="-- this migration:\nALTER TABLE orders ADD CONSTRAINT fk_user FOREIGN KEY "
    "(user_id) REFERENCES users NOT VALID;\n-- a later migration:\n"
    "ALTER TABLE orders VALIDATE CONSTRAINT fk_user;",
    hint="add the foreign key NOT VALID now and VALIDATE CONSTRAINT in "
    "a later migration",
    fires=(
        "ALTER TABLE orders ADD CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES users;",
        "ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users (id);",
        "ALTER TABLE orders ADD COLUMN IF NOT EXISTS user_id bigint REFERENCES users (id);",
    ),
    passes=(
        "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users NOT VALID;",
        "CREATE TABLE o (u bigint); ALTER TABLE o ADD FOREIGN KEY (u) REFERENCES users;",
        "ALTER TABLE orders VALIDATE CONSTRAINT fk_user;",
    ),
)


@check(ADDING_FOREIGN_KEY_CONSTRAINT, "ALTER")
def _foreign_key(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    for table, action in existing_table_actions(stmt, state, "ADD CONSTRAINT", "ADD COLUMN"):
        if action.kind == "ADD COLUMN":
            if action.has("REFERENCES"):
                yield Finding(ADDING_FOREIGN_KEY_CONSTRAINT,
                              f"a foreign key on the new column of {table} takes SHARE ROW "
                              "EXCLUSIVE on both tables")
        elif action.word == "FOREIGN" and not action.has("NOT", "VALID"):
            yield Finding(ADDING_FOREIGN_KEY_CONSTRAINT,
                          f"a foreign key on {table} takes SHARE ROW EXCLUSIVE on both tables "
                          "and validates every row")


DISALLOWED_UNIQUE_CONSTRAINT = Rule(
    "disallowed-unique-constraint", W,
    "`ADD CONSTRAINT ... UNIQUE` / `ADD UNIQUE` without `USING INDEX` on an existing table.",
    needs="context", dialects=PG,
    why="Adding a unique constraint builds its index while holding an ACCESS EXCLUSIVE lock on "
    "the table: nothing can read or write it until the build finishes.",
    example="ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
    instead="-- operations step, outside refinery:\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT "
    "EXISTS users_email_key ON users (email);\n-- the migration:\nALTER TABLE users ADD "
    "CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;",
    hint="CREATE UNIQUE INDEX CONCURRENTLY outside refinery, then ADD "
    "CONSTRAINT ... UNIQUE USING INDEX in the migration",
    fires=(
        "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
        "ALTER TABLE users ADD UNIQUE (email);",
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS code text UNIQUE;",
    ),
    passes=(
        "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;",
        "CREATE TABLE t (a int); ALTER TABLE t ADD UNIQUE (a);",
        "ALTER TABLE users DROP CONSTRAINT IF EXISTS users_email_key;",
    ),
)


@check(DISALLOWED_UNIQUE_CONSTRAINT, "ALTER")
def _unique(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    for table, action in existing_table_actions(stmt, state, "ADD CONSTRAINT", "ADD COLUMN"):
        if action.kind == "ADD COLUMN":
            if action.has("UNIQUE"):
                yield Finding(DISALLOWED_UNIQUE_CONSTRAINT,
                              f"adding a UNIQUE column to {table} builds its index under ACCESS "
                              "EXCLUSIVE")
        elif action.word == "UNIQUE" and not action.has("USING", "INDEX"):
            yield Finding(DISALLOWED_UNIQUE_CONSTRAINT,
                          f"adding UNIQUE {action.name or ''} builds its index under ACCESS "
                          f"EXCLUSIVE on {table}")


ADDING_SERIAL_PRIMARY_KEY_FIELD = Rule(
    "adding-serial-primary-key-field", W,
    "`ADD PRIMARY KEY` without `USING INDEX`, or an added `SERIAL`/`BIGSERIAL` column.",
    needs="context", dialects=PG,
    why="Adding a primary key builds a unique index (and checks NOT NULL) under an ACCESS "
    "EXCLUSIVE lock; adding a serial column fills every existing row, rewriting the table under "
    "the same lock.",
    example="ALTER TABLE events ADD PRIMARY KEY (id);",
    instead="-- operations step, outside refinery:\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT "
    "EXISTS events_pkey ON events (id);\n-- the migration:\n"
    "ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY USING INDEX events_pkey;",
    hint="CREATE UNIQUE INDEX CONCURRENTLY outside refinery, then "
    "ADD CONSTRAINT ... PRIMARY KEY USING INDEX; for ids prefer a new identity table or a backfill",
    fires=(
        "ALTER TABLE events ADD PRIMARY KEY (id);",
        "ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (id);",
        "ALTER TABLE events ADD COLUMN IF NOT EXISTS id bigserial;",
    ),
    passes=(
        "ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY USING INDEX events_pkey;",
        "CREATE TABLE e (id int); ALTER TABLE e ADD PRIMARY KEY (id);",
        "ALTER TABLE events ADD COLUMN IF NOT EXISTS n bigint;",
    ),
)


@check(ADDING_SERIAL_PRIMARY_KEY_FIELD, "ALTER")
def _primary_key(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    for table, action in existing_table_actions(stmt, state, "ADD CONSTRAINT", "ADD COLUMN"):
        if action.kind == "ADD CONSTRAINT":
            if action.word == "PRIMARY" and not action.has("USING", "INDEX"):
                yield Finding(ADDING_SERIAL_PRIMARY_KEY_FIELD,
                              f"adding a primary key builds its index under ACCESS EXCLUSIVE on "
                              f"{table}")
            continue
        type_word = action.word if action.at < action.end else ""
        if type_word in SERIALS:
            yield Finding(ADDING_SERIAL_PRIMARY_KEY_FIELD,
                          f"adding {type_word.lower()} column {action.name} to {table} fills "
                          "every row: a table rewrite under ACCESS EXCLUSIVE")
        if action.has("PRIMARY", "KEY"):
            yield Finding(ADDING_SERIAL_PRIMARY_KEY_FIELD,
                          f"adding a primary key column to {table} builds its index under "
                          "ACCESS EXCLUSIVE")
