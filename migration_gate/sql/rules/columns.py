"""Rules about columns added to or changed on a table that already holds data.

A column change that must visit every row (a volatile default, NOT NULL, a new type) does so
while holding an ACCESS EXCLUSIVE lock, or fails outright on a table that has rows.
"""

from __future__ import annotations

from collections.abc import Iterator

from migration_gate.catalog import Rule
from migration_gate.diagnostics import Severity
from migration_gate.sql.rules.base import (
    PG,
    SERIALS,
    FileState,
    Finding,
    View,
    keys_span,
    words_span,
)
from migration_gate.sql.rules.registry import check
from migration_gate.sql.rules.statements import Stmt, existing_table_actions

E, W = Severity.ERROR, Severity.WARNING

_VOLATILE = frozenset({
    "RANDOM", "GEN_RANDOM_UUID", "UUID_GENERATE_V1", "UUID_GENERATE_V1MC", "UUID_GENERATE_V4",
    "UUIDV7", "UUID_GENERATE_V7", "CLOCK_TIMESTAMP", "TIMEOFDAY", "NEXTVAL", "SETVAL",
    "TXID_CURRENT", "RANDOM_NORMAL", "GEN_RANDOM_BYTES", "STATEMENT_TIMESTAMP",
})
_COLUMN_CONSTRAINT_WORDS = frozenset({"NOT", "NULL", "DEFAULT", "PRIMARY", "UNIQUE", "CHECK",
                                      "REFERENCES", "CONSTRAINT", "GENERATED", "COLLATE",
                                      "AUTO_INCREMENT", "COMMENT", "FIRST", "AFTER"})


ADDING_FIELD_WITH_DEFAULT = Rule(
    "adding-field-with-default", W,
    "`ADD COLUMN ... DEFAULT <volatile>` or a stored generated column.",
    needs="context", dialects=PG,
    why="Since PostgreSQL 11 a constant default is stored once in the catalogue, but a "
    "volatile default (`random()`, `gen_random_uuid()`, `clock_timestamp()`, `nextval()`...) or "
    "a `GENERATED ... STORED` / identity column must be computed for every row: the table is "
    "rewritten under an ACCESS EXCLUSIVE lock. (With `postgres.version` below 11 any default "
    "rewrites.)",
    example="ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();",
    instead="ALTER TABLE users ADD COLUMN IF NOT EXISTS token uuid;\n"
    "ALTER TABLE users ALTER COLUMN token SET DEFAULT gen_random_uuid();\n"
    "-- then backfill existing rows in batches, outside the migration",
    hint="add the column without a default, SET DEFAULT separately, and "
    "backfill existing rows in batches outside the migration",
    fires=(
        "ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();",
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS r float8 DEFAULT random();",
        "ALTER TABLE t ADD COLUMN IF NOT EXISTS total int GENERATED ALWAYS AS (a + b) STORED;",
    ),
    passes=(
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS active boolean DEFAULT true;",
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS created_at timestamptz DEFAULT now();",
        "CREATE TABLE t (a int); ALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid();",
    ),
)


def _rewriting_default(view: View, state: FileState, start: int, end: int) -> bool:
    """Whether the DEFAULT expression at `start` forces a table rewrite."""
    stop = start
    while stop < end and not (view.depths[stop] == view.depths[start]
                              and view.keys[stop] in _COLUMN_CONSTRAINT_WORDS - {"NULL"}):
        stop += 1
    if state.postgres_version is not None and state.postgres_version < 11:
        return not view.at(start, "NULL")
    return any(
        view.keys[i] in _VOLATILE and view.at(i + 1, "(") for i in range(start, stop)
    )


@check(ADDING_FIELD_WITH_DEFAULT, "ALTER")
def _default(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    view = stmt.view
    for table, action in existing_table_actions(stmt, state, "ADD COLUMN"):
        default = view.find(action.at, action.end, "DEFAULT")
        generated = view.find(action.at, action.end, "GENERATED")
        if generated >= 0 and (action.has("STORED", start=generated)
                               or action.has("IDENTITY", start=generated)):
            yield Finding(ADDING_FIELD_WITH_DEFAULT,
                          f"a generated column computes a value for every row of {table}: a "
                          "table rewrite under ACCESS EXCLUSIVE")
        elif default >= 0 and _rewriting_default(view, state, default + 1, action.end):
            yield Finding(ADDING_FIELD_WITH_DEFAULT,
                          f"a volatile DEFAULT is computed for every row of {table}: a table "
                          "rewrite under ACCESS EXCLUSIVE")


ADDING_REQUIRED_FIELD = Rule(
    "adding-required-field", E,
    "`ADD COLUMN ... NOT NULL` without a default on an existing table.",
    needs="context", dialects=PG,
    why="Existing rows would get NULL in a NOT NULL column, so PostgreSQL refuses: the "
    "migration fails (23502) on any table that has rows, which is every production table, "
    "even when it passed on an empty development database.",
    example="ALTER TABLE users ADD COLUMN tenant_id bigint NOT NULL;",
    instead="ALTER TABLE users ADD COLUMN IF NOT EXISTS tenant_id bigint;\n"
    "-- backfill, then in a later migration:\n"
    "ALTER TABLE users ADD CONSTRAINT tenant_id_not_null CHECK (tenant_id IS NOT NULL) NOT VALID;",
    hint="add the column nullable (or with a constant DEFAULT), backfill, then "
    "enforce NOT NULL in a later migration",
    fires=(
        "ALTER TABLE users ADD COLUMN tenant_id bigint NOT NULL;",
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS code text NOT NULL;",
        "alter table only users add tenant_id int not null references tenants (id);",
    ),
    passes=(
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS active boolean NOT NULL DEFAULT true;",
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS tenant_id bigint;",
        "CREATE TABLE t (a int); ALTER TABLE t ADD COLUMN b int NOT NULL;",
    ),
)


@check(ADDING_REQUIRED_FIELD, "ALTER")
def _required(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    view = stmt.view
    for table, action in existing_table_actions(stmt, state, "ADD COLUMN"):
        type_word = action.word if action.at < action.end else ""
        serial = type_word in SERIALS or action.has("AUTO_INCREMENT")
        if (action.has("NOT", "NULL") and not action.has("DEFAULT") and not serial
                and view.find(action.at, action.end, "GENERATED") < 0):
            yield Finding(ADDING_REQUIRED_FIELD,
                          f"adding NOT NULL column {action.name} without a default fails on "
                          f"every non-empty {table} table (23502)",
                          keys_span(view, "NOT", "NULL", start=action.at, end=action.end))


ADDING_NOT_NULLABLE_FIELD = Rule(
    "adding-not-nullable-field", W,
    "`ALTER COLUMN ... SET NOT NULL` on an existing table.",
    needs="context", dialects=PG,
    why="`SET NOT NULL` scans the whole table to check for NULLs while holding an ACCESS "
    "EXCLUSIVE lock: nothing can read or write the table during the scan. Since PostgreSQL 12 "
    "the scan is skipped when a validated `CHECK (col IS NOT NULL)` constraint exists.",
    example="ALTER TABLE users ALTER COLUMN phone SET NOT NULL;",
    instead="-- this migration:\nALTER TABLE users ADD CONSTRAINT phone_not_null "
    "CHECK (phone IS NOT NULL) NOT VALID;\n-- a later migration:\n"
    "ALTER TABLE users VALIDATE CONSTRAINT phone_not_null;\n"
    "ALTER TABLE users ALTER COLUMN phone SET NOT NULL;  -- uses the check, no scan (PG 12+)",
    hint="ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID, VALIDATE "
    "it in a later migration, then SET NOT NULL (no scan on PG 12+)",
    instead_passes=False,
    fires=(
        "ALTER TABLE users ALTER COLUMN phone SET NOT NULL;",
        "ALTER TABLE ONLY users ALTER phone SET NOT NULL;",
        "ALTER TABLE users ALTER COLUMN a DROP DEFAULT, ALTER COLUMN b SET NOT NULL;",
    ),
    passes=(
        "ALTER TABLE users ALTER COLUMN phone DROP NOT NULL;",
        "CREATE TABLE t (a int); ALTER TABLE t ALTER COLUMN a SET NOT NULL;",
        "ALTER TABLE users ADD CONSTRAINT p CHECK (phone IS NOT NULL) NOT VALID;",
    ),
)


@check(ADDING_NOT_NULLABLE_FIELD, "ALTER")
def _set_not_null(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    for table, action in existing_table_actions(stmt, state, "ALTER COLUMN"):
        if action.then("SET", "NOT", "NULL"):
            yield Finding(ADDING_NOT_NULLABLE_FIELD,
                          f"SET NOT NULL on {table}.{action.name} scans the whole table under "
                          "ACCESS EXCLUSIVE",
                          keys_span(stmt.view, "NOT", "NULL", start=action.at, end=action.end))


CHANGING_COLUMN_TYPE = Rule(
    "changing-column-type", W,
    "`ALTER COLUMN ... TYPE` on an existing table.",
    needs="context", dialects=PG,
    why="Changing a column's type rewrites the table and all its indexes under an ACCESS "
    "EXCLUSIVE lock, unless the types are binary-compatible (e.g. `varchar(n)` to `text` or a "
    "longer `varchar`).",
    example="ALTER TABLE users ALTER COLUMN id TYPE bigint;",
    instead="ALTER TABLE users ADD COLUMN IF NOT EXISTS id_new bigint;\n-- dual-write from the "
    "application, backfill in batches, then swap the columns in a later migration",
    hint="add a new column, dual-write and backfill, then swap in a later "
    "migration",
    fires=(
        "ALTER TABLE users ALTER COLUMN id TYPE bigint;",
        "ALTER TABLE users ALTER COLUMN name SET DATA TYPE text;",
        "ALTER TABLE users ALTER amount TYPE numeric(12, 2) USING amount::numeric;",
    ),
    passes=(
        "CREATE TABLE t (a int); ALTER TABLE t ALTER COLUMN a TYPE bigint;",
        "ALTER TABLE users ALTER COLUMN name SET DEFAULT 'x';",
        "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'meh';",
    ),
)


@check(CHANGING_COLUMN_TYPE, "ALTER")
def _column_type(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    for table, action in existing_table_actions(stmt, state, "ALTER COLUMN"):
        if action.type_at >= 0:
            using = stmt.view.find(action.type_at, action.end, "USING")
            yield Finding(CHANGING_COLUMN_TYPE,
                          f"changing the type of {table}.{action.name} rewrites the table and its "
                          "indexes under ACCESS EXCLUSIVE",
                          words_span(stmt.view, action.type_at,
                                     using if using > action.type_at else action.end))
