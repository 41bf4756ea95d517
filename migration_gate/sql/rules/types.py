"""Type hygiene (opt-in rules): column types that are easy to regret in PostgreSQL.

Each rule looks at every column type a statement declares: the columns of a CREATE TABLE, an
added column, and the new type of an ALTER COLUMN ... TYPE.
"""

from __future__ import annotations

from collections.abc import Iterator

from migration_gate.catalog import Rule
from migration_gate.diagnostics import Severity
from migration_gate.sql.rules.base import PG, SERIALS, FileState, Finding
from migration_gate.sql.rules.registry import check
from migration_gate.sql.rules.statements import Stmt

OFF = Severity.OFF


def _types(stmt: Stmt) -> list[tuple[str, str, int]]:
    """(first word, the word after it within the definition, index) of each column type."""
    keys = stmt.keys
    return [(keys[start], keys[start + 1] if start + 1 < end else "", start)
            for start, end in stmt.column_types if start < end]


PREFER_TEXT_FIELD = Rule(
    "prefer-text-field", OFF,
    "A `varchar(n)` column (opt-in).",
    needs="stmt", dialects=PG,
    why="In PostgreSQL `varchar(n)` is `text` with a length check; widening it later is a "
    "migration (and before PG 9.2 a rewrite). A `CHECK (length(c) <= n)` constraint can be "
    "changed with `NOT VALID` and no lock.",
    example="CREATE TABLE IF NOT EXISTS users (name varchar(100));",
    instead="CREATE TABLE IF NOT EXISTS users (name text CHECK (length(name) <= 100));",
    hint="use text with a CHECK (length(col) <= n) constraint",
    fires=("CREATE TABLE IF NOT EXISTS u (name varchar(100));",
           "ALTER TABLE u ADD COLUMN IF NOT EXISTS n character varying(20);",
           "ALTER TABLE u ALTER COLUMN n TYPE varchar(50);"),
    passes=("CREATE TABLE IF NOT EXISTS u (name text);",
            "CREATE TABLE IF NOT EXISTS u (name varchar);", "SELECT 'a'::varchar(3);"),
)


@check(PREFER_TEXT_FIELD, "CREATE", "ALTER")
def _varchar(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    for first, following, start in _types(stmt):
        if (first in ("VARCHAR", "NVARCHAR") and following == "(") or (
            first == "CHARACTER" and following == "VARYING" and stmt.view.at(start + 2, "(")
        ):
            yield Finding(PREFER_TEXT_FIELD, "varchar(n) column: prefer text with a length CHECK")


PREFER_BIGINT_OVER_INT = Rule(
    "prefer-bigint-over-int", OFF,
    "An `integer`/`smallint` (or `serial`) column (opt-in).",
    needs="stmt", dialects=PG,
    why="32-bit ids run out (2,147,483,647) and widening a column later rewrites the table "
    "under an ACCESS EXCLUSIVE lock.",
    example="CREATE TABLE IF NOT EXISTS events (id integer);",
    instead="CREATE TABLE IF NOT EXISTS events (id bigint);",
    hint="use bigint (or bigserial / bigint identity)",
    fires=("CREATE TABLE IF NOT EXISTS e (id integer);", "CREATE TABLE IF NOT EXISTS e (n int4);",
           "ALTER TABLE e ADD COLUMN IF NOT EXISTS n smallint;"),
    passes=("CREATE TABLE IF NOT EXISTS e (id bigint);",
            "CREATE TABLE IF NOT EXISTS e (id bigserial);", "SELECT 1::int;"),
)


@check(PREFER_BIGINT_OVER_INT, "CREATE", "ALTER")
def _int(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    for first, _following, _start in _types(stmt):
        if first in ("INT", "INTEGER", "INT4", "SMALLINT", "INT2", "SERIAL", "SERIAL4",
                     "SMALLSERIAL", "SERIAL2"):
            yield Finding(PREFER_BIGINT_OVER_INT,
                          f"{first.lower()} column: 32-bit values run out; prefer bigint")


PREFER_IDENTITY = Rule(
    "prefer-identity", OFF,
    "A `serial`/`bigserial` column (opt-in).",
    needs="stmt", dialects=PG,
    why="`serial` creates a separately owned sequence with loose permissions and odd "
    "dump/restore behaviour; identity columns are the SQL-standard replacement.",
    example="CREATE TABLE IF NOT EXISTS events (id bigserial PRIMARY KEY);",
    instead="CREATE TABLE IF NOT EXISTS events (id bigint GENERATED ALWAYS AS IDENTITY "
    "PRIMARY KEY);",
    hint="use bigint GENERATED ALWAYS AS IDENTITY",
    fires=("CREATE TABLE IF NOT EXISTS e (id serial);",
           "CREATE TABLE IF NOT EXISTS e (id bigserial PRIMARY KEY);",
           "CREATE TABLE IF NOT EXISTS e (id smallserial);"),
    passes=("CREATE TABLE IF NOT EXISTS e (id bigint GENERATED ALWAYS AS IDENTITY);",
            "CREATE TABLE IF NOT EXISTS e (id bigint);", "CREATE SEQUENCE IF NOT EXISTS s;"),
)


@check(PREFER_IDENTITY, "CREATE", "ALTER")
def _serial(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    for first, _following, _start in _types(stmt):
        if first in SERIALS:
            yield Finding(PREFER_IDENTITY,
                          f"{first.lower()} column: prefer bigint GENERATED ALWAYS AS IDENTITY")


PREFER_TIMESTAMPTZ = Rule(
    "prefer-timestamptz", OFF,
    "A `timestamp` (without time zone) column (opt-in).",
    needs="stmt", dialects=PG,
    why="`timestamp` stores wall-clock time with no zone: values change meaning with the "
    "server's or client's time zone and daylight saving. `timestamptz` stores an instant.",
    example="CREATE TABLE IF NOT EXISTS events (at timestamp);",
    instead="CREATE TABLE IF NOT EXISTS events (at timestamptz);",
    hint="use timestamptz",
    fires=("CREATE TABLE IF NOT EXISTS e (at timestamp);",
           "CREATE TABLE IF NOT EXISTS e (at timestamp without time zone);",
           "ALTER TABLE e ADD COLUMN IF NOT EXISTS at timestamp(3);"),
    passes=("CREATE TABLE IF NOT EXISTS e (at timestamptz);",
            "CREATE TABLE IF NOT EXISTS e (at timestamp with time zone);",
            "CREATE TABLE IF NOT EXISTS e (d date);"),
)


@check(PREFER_TIMESTAMPTZ, "CREATE", "ALTER")
def _timestamp(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    view = stmt.view
    for first, _following, start in _types(stmt):
        if first != "TIMESTAMP":
            continue
        index = start + 1
        if view.at(index, "("):
            index = view.closing(index) + 1
        if not view.at(index, "WITH", "TIME", "ZONE"):
            yield Finding(PREFER_TIMESTAMPTZ, "timestamp without time zone: prefer timestamptz")


BAN_CHAR_FIELD = Rule(
    "ban-char-field", OFF,
    "A `char(n)` / `character(n)` column (opt-in).",
    needs="stmt", dialects=PG,
    why="`char(n)` pads values with spaces, compares surprisingly and is never faster than "
    "`text` in PostgreSQL.",
    example="CREATE TABLE IF NOT EXISTS c (code char(2));",
    instead="CREATE TABLE IF NOT EXISTS c (code text CHECK (length(code) = 2));",
    hint="use text (with a CHECK on the length if needed)",
    fires=("CREATE TABLE IF NOT EXISTS c (code char(2));",
           "CREATE TABLE IF NOT EXISTS c (code character(3));",
           "ALTER TABLE c ADD COLUMN IF NOT EXISTS f char;"),
    passes=("CREATE TABLE IF NOT EXISTS c (code text);",
            "CREATE TABLE IF NOT EXISTS c (code character varying(3));",
            "CREATE TABLE IF NOT EXISTS c (code varchar(2));"),
)


@check(BAN_CHAR_FIELD, "CREATE", "ALTER")
def _char(stmt: Stmt, state: FileState) -> Iterator[Finding]:
    for first, following, _start in _types(stmt):
        if first in ("CHAR", "BPCHAR", "NCHAR") or (first == "CHARACTER"
                                                    and following != "VARYING"):
            yield Finding(BAN_CHAR_FIELD, "char(n) column: prefer text")
