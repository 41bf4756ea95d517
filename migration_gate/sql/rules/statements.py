"""The statement as the checks see it (`Stmt`), with the readings several rule families share.

`CREATE ...`, `DROP ...` and `ALTER TABLE ...` are read once per statement (each reading is
cached on the `Stmt`), so that the twenty rules looking at an `ALTER TABLE` agree on what its
actions are and none re-parses them. A reading keeps positions into the statement's `View`:
a rule that needs more than the reading offers looks further from there.
"""

from __future__ import annotations

from typing import NamedTuple

from migration_gate.sql.rules.base import ACCESS_EXCLUSIVE, SHARE_ROW_EXCLUSIVE, FileState, View

_TABLE_CONSTRAINT_WORDS = frozenset({"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN",
                                     "EXCLUDE", "LIKE", "INDEX", "KEY", "FULLTEXT", "SPATIAL"})
_ADDED_CONSTRAINTS = frozenset({"CHECK", "FOREIGN", "UNIQUE", "PRIMARY", "EXCLUDE", "INDEX",
                                "KEY"})
_DROPPED_CONSTRAINTS = frozenset({"CONSTRAINT", "PRIMARY", "INDEX", "KEY", "FOREIGN", "CHECK"})


class Create(NamedTuple):
    """`CREATE [OR REPLACE] [TEMP|UNLOGGED...] [UNIQUE] kind ...`.

    The readings are named tuples rather than dataclasses, like `tokens.Word`: one is built
    for every CREATE, DROP and ALTER TABLE action of a run, and tuples build several times
    faster than frozen dataclasses.
    """

    kind: str  # TABLE, INDEX, MATERIALIZED VIEW, SCHEMA, SEQUENCE; "" for anything else
    defensive: bool = False  # IF NOT EXISTS
    name: str | None = None  # the table, view or index created (None: unnamed or not read)
    table: str | None = None  # CREATE INDEX: the table indexed
    concurrently: bool = False  # CREATE INDEX CONCURRENTLY
    columns: tuple[tuple[int, int], ...] = ()  # CREATE TABLE: each column definition's range
    temporary: bool = False  # CREATE TEMP/TEMPORARY TABLE: gone when the session ends


class Drop(NamedTuple):
    """`DROP kind [CONCURRENTLY] [IF EXISTS] name, ...`."""

    kind: str  # INDEX, TABLE, MATERIALIZED VIEW, ... as written (upper-case for keywords)
    concurrently: bool
    defensive: bool  # IF EXISTS
    names: tuple[str, ...]  # the names dropped (unreadable ones left out)


class Action(NamedTuple):
    """One comma-separated action of an `ALTER TABLE`.

    `kind` is one of ADD COLUMN, ADD CONSTRAINT, ALTER COLUMN, MODIFY, CHANGE, DROP COLUMN,
    DROP CONSTRAINT, RENAME TO, RENAME COLUMN, RENAME CONSTRAINT, VALIDATE, DETACH, or the
    action's first word for the others.
    """

    view: View
    kind: str
    start: int  # the action's first word
    end: int
    name: str | None = None  # the column or constraint the action names
    at: int = 0  # after the name: a column's type, a constraint's kind, an ALTER COLUMN's change
    defensive: bool = False  # IF [NOT] EXISTS
    type_at: int = -1  # ADD COLUMN, ALTER COLUMN ... TYPE: where the column type starts
    lock: str | None = ACCESS_EXCLUSIVE  # the lock it takes on an existing table (None: weak)

    @property
    def word(self) -> str:
        """The keyword at `at`: the constraint kind (CHECK, FOREIGN...) of ADD/DROP CONSTRAINT."""
        keys = self.view.keys
        return keys[self.at] if self.at < len(keys) else ""

    def then(self, *keys: str) -> bool:
        """Whether `keys` follow at `at` (`SET NOT NULL` after an ALTER COLUMN's name...)."""
        return self.view.at(self.at, *keys)

    def has(self, *keys: str, start: int | None = None) -> bool:
        """Whether `keys` appear in the action, from `start` (default: `at`) to its end."""
        return self.view.has(self.at if start is None else start, self.end, *keys)


class AlterTable(NamedTuple):
    """`ALTER TABLE [IF EXISTS] [ONLY] name [*] action, ...`."""

    table: str | None
    actions: tuple[Action, ...]


class Stmt:
    """One statement for the checks: its words, sqlglot's verdict, and the shared readings.

    The readings are made at once (a statement has at most one of them): cheaper than lazy
    properties for the tens of thousands of statements of a large run.
    """

    __slots__ = ("alter_table", "column_types", "create", "drop", "error", "keys", "view")

    def __init__(self, view: View, error: str | None = None) -> None:
        self.view = view
        self.keys = view.keys
        self.error = error  # sqlglot's parse error, or None
        first = view.keys[0] if view.keys and view.words else ""
        self.create = read_create(view) if first == "CREATE" else None
        self.drop = read_drop(view) if first == "DROP" else None
        self.alter_table = read_alter_table(view) if first == "ALTER" else None
        #: Where each column type the statement declares starts, and its definition's end.
        self.column_types: tuple[tuple[int, int], ...] = ()
        if self.create is not None:
            self.column_types = tuple((start + 1, end) for start, end in self.create.columns)
        elif self.alter_table is not None:
            self.column_types = tuple((a.type_at, a.end) for a in self.alter_table.actions
                                      if a.type_at >= 0)


def existing_table_actions(stmt: Stmt, state: FileState,
                           *kinds: str) -> list[tuple[str | None, Action]]:
    """(table, action) for each action of one of `kinds`, in order, of an ALTER TABLE on a
    table that existed before this migration (a table created in it has no readers yet)."""
    alter = stmt.alter_table
    if alter is None or state.is_new(alter.table):
        return []
    return [(alter.table, action) for action in alter.actions if action.kind in kinds]


def read_create(view: View) -> Create:
    index = view.skip(1, "OR", "REPLACE")
    index = view.skip(index, "GLOBAL")
    index = view.skip(index, "LOCAL")
    temporary = view.at(index, "TEMP") or view.at(index, "TEMPORARY")
    for word in ("TEMP", "TEMPORARY", "UNLOGGED"):
        index = view.skip(index, word)
    index = view.skip(index, "UNIQUE")
    if view.at(index, "TABLE"):
        return _create_table(view, index + 1)._replace(temporary=temporary)
    if view.at(index, "INDEX"):
        return _create_index(view, index + 1)
    if view.at(index, "MATERIALIZED", "VIEW"):
        index = view.skip(index + 2, "IF", "NOT", "EXISTS")
        return Create("MATERIALIZED VIEW", name=view.name_at(index)[0])
    if view.at(index, "SEQUENCE"):  # named: a later ALTER SEQUENCE of it locks nothing in use
        defensive = view.at(index + 1, "IF", "NOT", "EXISTS")
        name = view.name_at(view.skip(index + 1, "IF", "NOT", "EXISTS"))[0]
        return Create("SEQUENCE", defensive, name)
    if view.at(index, "SCHEMA"):
        return Create(view.keys[index], defensive=view.at(index + 1, "IF", "NOT", "EXISTS"))
    return Create("")


def _create_table(view: View, index: int) -> Create:
    defensive = view.at(index, "IF", "NOT", "EXISTS")
    index = view.skip(index, "IF", "NOT", "EXISTS")
    name, index = view.name_at(index)
    columns: tuple[tuple[int, int], ...] = ()
    if view.at(index, "("):
        parts = view.split(index + 1, view.closing(index))
        columns = tuple(p for p in parts if view.keys[p[0]] not in _TABLE_CONSTRAINT_WORDS)
    return Create("TABLE", defensive, name, columns=columns)


def _create_index(view: View, index: int) -> Create:
    concurrently = view.at(index, "CONCURRENTLY")
    index = view.skip(index, "CONCURRENTLY")
    defensive = view.at(index, "IF", "NOT", "EXISTS")
    index = view.skip(index, "IF", "NOT", "EXISTS")
    name = None
    if not view.at(index, "ON"):
        name, index = view.name_at(index)
    on = view.find(index, len(view.keys), "ON")
    table = view.name_at(view.skip(on + 1, "ONLY"))[0] if on >= 0 else None
    return Create("INDEX", defensive, name, table, concurrently)


def read_drop(view: View) -> Drop | None:
    keys = view.keys
    if len(keys) < 2 or keys[1] in ("OWNED",):
        return None
    kind_end = 3 if view.at(1, "MATERIALIZED", "VIEW") or view.at(1, "FOREIGN", "TABLE") else 2
    index = kind_end
    concurrently = view.at(index, "CONCURRENTLY")
    index = view.skip(index, "CONCURRENTLY")
    defensive = view.at(index, "IF", "EXISTS")
    index = view.skip(index, "IF", "EXISTS")
    names = [view.name_at(start)[0] for start, _ in view.split(index, len(keys))]
    return Drop(" ".join(keys[1:kind_end]), concurrently, defensive,
                tuple(n for n in names if n))


def read_alter_table(view: View) -> AlterTable | None:
    if not view.at(1, "TABLE"):
        return None
    index = view.skip(2, "IF", "EXISTS")
    index = view.skip(index, "ONLY")
    table, index = view.name_at(index)
    index = view.skip(index, "*")
    actions = tuple(_action(view, start, end) for start, end in view.split(index, len(view.keys)))
    return AlterTable(table, actions)


def _action(view: View, start: int, end: int) -> Action:
    keys = view.keys
    verb = keys[start]
    if verb == "ADD":
        return _add(view, start, end)
    if verb == "ALTER":
        return _alter_column(view, start, end)
    if verb in ("MODIFY", "CHANGE"):
        return Action(view, verb, start, end)
    if verb == "DROP":
        index = start + 1
        if keys[index : index + 1] and keys[index] in _DROPPED_CONSTRAINTS:
            return Action(view, "DROP CONSTRAINT", start, end, at=index,
                          defensive=view.at(index + 1, "IF", "EXISTS"))
        index = view.skip(index, "COLUMN")
        defensive = view.at(index, "IF", "EXISTS")
        column, after = view.name_at(view.skip(index, "IF", "EXISTS"))
        return Action(view, "DROP COLUMN", start, end, column, after, defensive)
    if verb == "RENAME":
        if view.at(start + 1, "TO"):
            return Action(view, "RENAME TO", start, end, at=start + 1)
        if view.at(start + 1, "CONSTRAINT"):
            return Action(view, "RENAME CONSTRAINT", start, end, at=start + 1)
        column, after = view.name_at(view.skip(start + 1, "COLUMN"))
        return Action(view, "RENAME COLUMN", start, end, column, after)
    if verb == "VALIDATE":
        name, after = view.name_at(view.skip(start + 1, "CONSTRAINT"))
        return Action(view, "VALIDATE", start, end, name, after, lock=None)
    if verb == "DETACH":
        weak = view.has(start, end, "CONCURRENTLY")
        return Action(view, "DETACH", start, end, lock=None if weak else ACCESS_EXCLUSIVE)
    weak = verb in ("ATTACH", "ALGORITHM", "LOCK") or (
        verb == "SET" and view.at(start + 1, "STATISTICS")
    )
    return Action(view, verb, start, end, lock=None if weak else ACCESS_EXCLUSIVE)


def _add(view: View, start: int, end: int) -> Action:
    index = start + 1
    is_column = view.at(index, "COLUMN")
    index = view.skip(index, "COLUMN")
    defensive = view.at(index, "IF", "NOT", "EXISTS")
    index = view.skip(index, "IF", "NOT", "EXISTS")
    constraint = None
    if not is_column and view.at(index, "CONSTRAINT"):
        constraint, index = view.name_at(index + 1)
    if index < end and not is_column and view.keys[index] in _ADDED_CONSTRAINTS:
        lock = SHARE_ROW_EXCLUSIVE if view.keys[index] == "FOREIGN" else ACCESS_EXCLUSIVE
        return Action(view, "ADD CONSTRAINT", start, end, constraint, index, defensive,
                      lock=lock)
    column, type_at = view.name_at(index)
    return Action(view, "ADD COLUMN", start, end, column, type_at, defensive, type_at)


def _alter_column(view: View, start: int, end: int) -> Action:
    column, index = view.name_at(view.skip(start + 1, "COLUMN"))
    type_at = -1
    if view.at(index, "TYPE"):
        type_at = index + 1
    elif view.at(index, "SET", "DATA", "TYPE"):
        type_at = index + 3
    weak = view.at(index, "SET", "STATISTICS")
    return Action(view, "ALTER COLUMN", start, end, column, index, type_at=type_at,
                  lock=None if weak else ACCESS_EXCLUSIVE)
