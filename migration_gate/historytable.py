"""Reading refinery's history table as refinery does -- or saying exactly why it cannot.

Why strict: refinery's drivers decode each column into a fixed Rust type (`version` an i32, or
an i64 with int8-versions; `name`, `applied_on` and `checksum` Strings) and panic on anything
else: a text `version`, a numeric `checksum`, a NULL `name`, a timestamp `applied_on`. A gate that
reads such a history leniently (`int('4')`, `str(None)`) reports "8 applied" where every deploy
crashes. So each column's type is checked (PostgreSQL's catalog; the values' types elsewhere)
and each value, and the first problem is named by column and row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from migration_gate import refinery
from migration_gate.refinery import AppliedMigration


class HistoryRowError(Exception):
    """A history row refinery could not read back (it panics on those)."""


#: What rust-postgres decodes into a `String` (plus citext, by name).
TEXT_TYPES = frozenset({"varchar", "text", "bpchar", "name", "citext"})
_TEXT_SHOWN = "text (varchar or text)"
COLUMNS = ("version", "name", "applied_on", "checksum")

#: Each column's base type (a domain's underlying type) and its display. Qualified names and
#: explicit operators: what a migration created or set cannot change the answer.
_COLUMN_TYPES = """
SELECT a.attname, b.typname, pg_catalog.format_type(a.atttypid, a.atttypmod)
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid
JOIN pg_catalog.pg_type b ON b.oid OPERATOR(pg_catalog.=) (CASE
    WHEN t.typtype OPERATOR(pg_catalog.=) 'd' THEN t.typbasetype ELSE t.oid END)
WHERE a.attrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(%s)
  AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
"""


def column_types(db: Any, table: str) -> dict[str, tuple[str, str]]:
    """PostgreSQL: column → (base type name, display); elsewhere (dynamic or lenient typing)
    an empty dict, and the values' types are judged instead."""
    if db.dialect != "postgres":
        return {}
    return {str(name): (str(base), str(shown)) for name, base, shown in
            db.query(_COLUMN_TYPES, (table,))}


def read_history(db: Any, table: str, *, int8: bool = False) -> list[AppliedMigration]:
    """The applied migrations, as refinery reads them (`ORDER BY version ASC`), or a
    `HistoryRowError` naming the first column and row refinery could not decode."""
    types = column_types(db, table)
    for column in COLUMNS:
        if types and column not in types:
            raise HistoryRowError(f"{table} has no column {column}")
    rows = db.query(f"SELECT version, name, applied_on, checksum FROM {table} ORDER BY version ASC")
    return [decode_row(number, row, types, dialect=db.dialect, int8=int8)
            for number, row in enumerate(rows, start=1)]


def decode_row(number: int, row: Sequence[Any], types: dict[str, tuple[str, str]], *,
               dialect: str, int8: bool = False) -> AppliedMigration:
    """One row as refinery decodes it; `number` is its place in `ORDER BY version`."""
    version, name, applied_on, checksum = row
    where = f"row {number} (version {version!r}"
    where += f", name {name!r})" if isinstance(name, str) else ")"

    def fail(problem: str) -> HistoryRowError:
        return HistoryRowError(f"{where}: {problem}")

    for column, value in zip(COLUMNS, row, strict=True):
        if value is None:
            raise fail(f"{column} is NULL")
        problem = _type_problem(column, value, types.get(column), dialect=dialect, int8=int8)
        if problem is not None:
            raise fail(problem)
    text = str(checksum)
    if not refinery.is_valid_checksum_text(text):
        raise fail(f"checksum {checksum!r} is not a u64")
    if not refinery.is_valid_applied_on(str(applied_on)):
        raise fail(f"applied_on {applied_on!r} is not RFC 3339")
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    return AppliedMigration(int(version), str(name), int(text), str(applied_on))


def _type_problem(column: str, value: Any, declared: tuple[str, str] | None, *, dialect: str,
                  int8: bool) -> str | None:
    if column == "version":
        wanted, shown = ("int8", "bigint (int8-versions)") if int8 else ("int4", "integer")
        if declared is not None and declared[0] != wanted:
            return f"column version is {declared[1]}, refinery reads it as {shown}"
        if dialect == "mysql" and isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return None  # MySQL's text protocol: refinery's driver parses digits
        if isinstance(value, bool) or not isinstance(value, int):
            return f"version {value!r} is {type(value).__name__}, refinery reads it as {shown}"
        bits = 63 if int8 else 31
        if not -(2**bits) <= value < 2**bits:
            return f"version {value} does not fit refinery's {shown}"
        return None
    if declared is not None and declared[0] not in TEXT_TYPES:
        return f"column {column} is {declared[1]}, refinery reads it as {_TEXT_SHOWN}"
    if dialect == "mysql" and isinstance(value, bytes):
        return None  # a binary collation: the driver hands refinery the bytes as a String
    if not isinstance(value, str):
        return f"{column} {value!r} is {type(value).__name__}, refinery reads it as {_TEXT_SHOWN}"
    return None
