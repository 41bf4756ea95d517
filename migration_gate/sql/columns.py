"""Each column's type before a migration, read from the migrations that run before it (MySQL).

A MySQL `MODIFY`/`CHANGE` restates the whole column definition, so whether InnoDB copies the
table depends on what the column was: the same type (a rename, NULL/NOT NULL, a new default or
comment) runs in place, another type copies (MySQL 8.0 reference manual, "Online DDL
Operations", column operations; MariaDB "InnoDB Online DDL Operations with the INPLACE Alter
Algorithm"). One migration alone cannot say which; the folder can. `check` reads the
`CREATE TABLE`s and `ALTER TABLE`s of the migrations that run earlier and hands the columns of
the tables a migration alters to its lint (`LintJob.columns`); `mysql-lock-none-unsupported`
then stays silent where the type is unchanged, and names both types where it changes.

What was verified on MariaDB 10.11 with `ALGORITHM=INPLACE, LOCK=NONE`
(tests/test_mysql_columns.py): `int`, `int(11)` and `integer` are one type, as are `bool`,
`boolean` and `tinyint(1)`, and `numeric`/`decimal`; `unsigned`, another character set or
another type (`text` → `mediumtext`) copy. Widening a VARCHAR stays in place while its length
prefix keeps its size (MySQL: 1 byte up to 255 bytes): without the character set at hand that
is certain up to 63 characters (4 bytes each) or from 256 characters on. Appending values at the
end of an ENUM stays in place. Anything else (and any column not read) is left to the rule's
cautious wording.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, NamedTuple

from migration_gate.sql.rules.base import View
from migration_gate.types import Dialect

if TYPE_CHECKING:
    from migration_gate.sql.rules.statements import Stmt


class ColumnType(NamedTuple):
    """A column's storage: its type name (synonyms folded), the arguments in its parentheses,
    and the attributes that change storage (UNSIGNED, CHARACTER SET, COLLATE, ...)."""

    name: str
    args: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()

    def text(self) -> str:
        args = f"({','.join(self.args)})" if self.args else ""
        return " ".join((self.name + args, *self.extra))


#: table -> column -> type; names lower-cased: MySQL's column names are case-insensitive, and
#: so are its table names on the usual case-insensitive or lower-casing setups
Columns = dict[str, dict[str, ColumnType]]

_SYNONYMS = {"INTEGER": "INT", "BOOL": "TINYINT", "BOOLEAN": "TINYINT", "NUMERIC": "DECIMAL",
             "DEC": "DECIMAL", "FIXED": "DECIMAL"}
#: Integer types: the display width, `int(11)`, changes no storage.
_INTEGERS = frozenset({"TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT"})
#: Attributes that are part of the storage (the others: NULL, DEFAULT, COMMENT, AFTER, ...).
_STORAGE_WORDS = frozenset({"UNSIGNED", "ZEROFILL", "BINARY", "AUTO_INCREMENT"})
#: Attributes followed by one operand that is part of the storage.
_STORAGE_OPERANDS = {("CHARACTER", "SET"): 2, ("CHARSET",): 1, ("COLLATE",): 1}
#: VARCHAR lengths whose length prefix is one byte, and two bytes, in any character set.
_SHORT_VARCHAR, _LONG_VARCHAR = 63, 256


def column_type(view: View, at: int, end: int) -> ColumnType | None:
    """The type of the column definition whose type starts at word `at` (None: unreadable)."""
    words, keys = view.words, view.keys
    if at >= end or at >= len(keys) or not keys[at][:1].isalpha():
        return None
    name = _SYNONYMS.get(keys[at], keys[at])
    index = at + 1
    args: tuple[str, ...] = ()
    if index < end and keys[index] == "(":
        close = view.closing(index)
        args = tuple(_arg(view, i) for i in range(index + 1, min(close, end)) if keys[i] != ",")
        index = close + 1
    if name in _INTEGERS or keys[at] in ("BOOL", "BOOLEAN"):
        args = ()
    extra: list[str] = []
    while index < end:
        key = keys[index]
        if view.depths[index] != view.depths[at]:
            index += 1
            continue
        operand = next((n for ks, n in _STORAGE_OPERANDS.items() if view.at(index, *ks)), 0)
        if operand:
            width = 2 if key == "CHARACTER" else 1
            value = words[index + width].text.upper() if index + width < end else ""
            extra.append(f"{'CHARACTER SET' if width == 2 or key == 'CHARSET' else key} {value}")
            index += width + 1
            continue
        if view.at(index, "ON", "UPDATE"):
            extra.append("ON UPDATE")
        elif key in _STORAGE_WORDS:
            extra.append(key)
        index += 1
    return ColumnType(name, args, tuple(sorted(extra)))


def _arg(view: View, index: int) -> str:
    word = view.words[index]
    return repr(word.text) if view.keys[index] == "\0string" else word.text.upper()


def in_place(before: ColumnType, after: ColumnType) -> bool:
    """Whether InnoDB changes a column of type `before` to `after` without copying the table."""
    if before == after:
        return True
    if before.name != after.name or before.extra != after.extra:
        return False
    if before.name == "VARCHAR" and len(before.args) == len(after.args) == 1:
        old, new = (int(a) if a.isdigit() else -1 for a in (before.args[0], after.args[0]))
        same_prefix = new <= _SHORT_VARCHAR or old >= _LONG_VARCHAR
        return 0 <= old <= new and same_prefix
    if before.name == "ENUM":  # values appended at the end, the storage size unchanged
        grown = after.args[: len(before.args)] == before.args
        return grown and len(after.args) <= 255
    return False


def widens_varchar(before: ColumnType, after: ColumnType) -> bool:
    """A longer VARCHAR whose length prefix may grow: in place or a copy, by character set."""
    if not (before.name == after.name == "VARCHAR" and before.extra == after.extra):
        return False
    lengths = [int(t.args[0]) for t in (before, after) if len(t.args) == 1 and t.args[0].isdigit()]
    return len(lengths) == 2 and lengths[0] < lengths[1] and not in_place(before, after)


def apply_migration(text: str, dialect: Dialect, columns: Columns) -> None:
    """What one migration's CREATE, ALTER, DROP and RENAME statements do to the columns."""
    from migration_gate.sql.rules.statements import Stmt
    from migration_gate.sql.split import scan
    from migration_gate.sql.tokens import regex_words

    spans, _ = scan(text, dialect)
    for start, end in spans:
        first = text[start : start + 6].upper()
        if first in ("CREATE", "ALTER ", "DROP T", "RENAME"):
            apply_statement(Stmt(View(regex_words(text[start:end], start))), columns)


def apply_statement(stmt: Stmt, columns: Columns) -> None:
    """What one statement does to the columns."""
    view = stmt.view
    if stmt.create is not None and stmt.create.kind == "TABLE" and stmt.create.name:
        known = columns[stmt.create.name.lower()] = {}
        for start, end in stmt.create.columns:
            column = view.name_at(start)[0]
            found = column_type(view, start + 1, end)
            if column is not None and found is not None:
                known[column.lower()] = found
    elif stmt.drop is not None and stmt.drop.kind == "TABLE":
        for name in stmt.drop.names:
            columns.pop(name.lower(), None)
    elif stmt.alter_table is not None and _folded(stmt.alter_table.table) in columns:
        _apply_alter(stmt, columns)
    elif view.at(0, "RENAME", "TABLE"):  # MySQL: RENAME TABLE a TO b, c TO d
        for start, end in view.split(2, len(view.keys)):
            old, after = view.name_at(start)
            new = view.name_at(after + 1)[0] if view.at(after, "TO") else None
            if _folded(old) in columns and new is not None and after < end:
                columns[new.lower()] = columns.pop(_folded(old))


def _folded(name: str | None) -> str:
    return name.lower() if name is not None else ""


def _apply_alter(stmt: Stmt, columns: Columns) -> None:
    assert stmt.alter_table is not None
    table = _folded(stmt.alter_table.table)
    known = columns[table]
    for action in stmt.alter_table.actions:
        if action.kind == "ADD COLUMN" and action.name is not None:
            found = column_type(action.view, action.type_at, action.end)
            if found is not None:
                known[action.name.lower()] = found
        elif action.kind in ("MODIFY", "CHANGE"):
            old, new, found = changed_column(action.view, action.start, action.end)
            if old is not None:
                known.pop(old, None)
                if new is not None and found is not None:
                    known[new] = found
        elif action.kind == "DROP COLUMN" and action.name is not None:
            known.pop(action.name.lower(), None)
        elif action.kind == "RENAME COLUMN" and action.name is not None:
            view, after = action.view, action.at
            new = view.name_at(after + 1)[0] if view.at(after, "TO") else None
            if action.name.lower() in known and new is not None:
                known[new.lower()] = known.pop(action.name.lower())
        elif action.kind == "RENAME TO":
            new = action.view.name_at(action.at + 1)[0]
            if new is not None:
                columns[new.lower()] = columns.pop(table)
                return


def changed_column(view: View, start: int, end: int
                   ) -> tuple[str | None, str | None, ColumnType | None]:
    """`MODIFY [COLUMN] c type ...` or `CHANGE [COLUMN] old new type ...`: the column's
    name (lower-cased) before and after, and its new type."""
    index = view.skip(start + 1, "COLUMN")
    old, index = view.name_at(index)
    new = old
    if view.keys[start] == "CHANGE":
        new, index = view.name_at(index)
    if old is None or new is None:
        return None, None, None
    return old.lower(), new.lower(), column_type(view, index, end)


#: The columns as a lint job carries them: (table, column, type), sorted; part of its cache key.
ColumnRows = tuple[tuple[str, str, ColumnType], ...]


def as_rows(columns: Mapping[str, Mapping[str, ColumnType]]) -> ColumnRows:
    return tuple(sorted((table, column, found) for table, known in columns.items()
                        for column, found in known.items()))


def from_rows(rows: Iterable[tuple[str, str, ColumnType]]) -> Columns:
    columns: Columns = {}
    for table, column, found in rows:
        columns.setdefault(table, {})[column] = found
    return columns


def altered_tables(text: str, dialect: Dialect) -> set[str]:
    """The tables whose columns a migration MODIFYs or CHANGEs (an empty set: none)."""
    from migration_gate.sql.rules.statements import Stmt
    from migration_gate.sql.split import scan
    from migration_gate.sql.tokens import regex_words

    tables: set[str] = set()
    for start, end in scan(text, dialect)[0]:
        if text[start : start + 5].upper() != "ALTER":
            continue
        alter = Stmt(View(regex_words(text[start:end], start))).alter_table
        if alter is not None and alter.table is not None and any(
                action.kind in ("MODIFY", "CHANGE") for action in alter.actions):
            tables.add(alter.table.lower())
    return tables
