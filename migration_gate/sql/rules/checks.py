"""The SQL rules, read from each statement's words and what earlier statements established.

Every rule works from the token view (`tokens.Word`), so it applies equally to statements
sqlglot parsed, folded into a `Command`, or could not parse. One pass per file: a `FileState`
carries the context (tables created so far, `lock_timeout`, pending session settings,
constraints added `NOT VALID`) from one statement to the next.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass, field

from migration_gate.sql.tokens import NAME, PUNCT, STRING, WORD, Word
from migration_gate.types import Dialect


@dataclass(frozen=True)
class Finding:
    rule: str
    message: str


@dataclass
class FileState:
    """What the statements before the current one established."""

    dialect: Dialect = "postgres"
    postgres_version: int | None = None
    new_tables: set[str] = field(default_factory=set)
    new_indexes: set[str] = field(default_factory=set)
    not_valid: set[str] = field(default_factory=set)
    pending_settings: dict[str, int] = field(default_factory=dict)  # name -> statement index
    lock_timeout: bool = False
    lock_reported: bool = False
    has_ddl: bool = False
    ddl_seen: int = 0
    index: int = 0  # of the current statement


#: An ALTER TABLE action's findings; its return value is the lock mode it takes (None: weak).
Action = Generator[Finding, None, "str | None"]

DDL_STARTS = frozenset({"CREATE", "ALTER", "DROP", "TRUNCATE", "RENAME", "COMMENT", "GRANT",
                        "REVOKE"})
# Statement forms the rules understand from their words alone, even when sqlglot cannot parse.
TOKEN_UNDERSTOOD = frozenset({"REINDEX", "VACUUM", "CLUSTER", "LOCK", "BEGIN", "START", "COMMIT",
                              "ROLLBACK", "END", "ABORT", "SET", "RESET", "DO"})
_VOLATILE = frozenset({
    "RANDOM", "GEN_RANDOM_UUID", "UUID_GENERATE_V1", "UUID_GENERATE_V1MC", "UUID_GENERATE_V4",
    "UUIDV7", "UUID_GENERATE_V7", "CLOCK_TIMESTAMP", "TIMEOFDAY", "NEXTVAL", "SETVAL",
    "TXID_CURRENT", "RANDOM_NORMAL", "GEN_RANDOM_BYTES", "STATEMENT_TIMESTAMP",
})
_SERIALS = frozenset({"SERIAL", "SERIAL4", "BIGSERIAL", "SERIAL8", "SMALLSERIAL", "SERIAL2"})
_COLUMN_CONSTRAINT_WORDS = frozenset({"NOT", "NULL", "DEFAULT", "PRIMARY", "UNIQUE", "CHECK",
                                      "REFERENCES", "CONSTRAINT", "GENERATED", "COLLATE",
                                      "AUTO_INCREMENT", "COMMENT", "FIRST", "AFTER"})
_TABLE_CONSTRAINT_WORDS = frozenset({"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN",
                                     "EXCLUDE", "LIKE", "INDEX", "KEY", "FULLTEXT", "SPATIAL"})
ACCESS_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE = "ACCESS EXCLUSIVE", "SHARE", "SHARE ROW EXCLUSIVE"


class View:
    """A statement's words with helpers to match keyword sequences at paren depth 0."""

    def __init__(self, words: tuple[Word, ...]) -> None:
        self.words = words
        keys: list[str] = []
        depths: list[int] = []
        depth = 0
        for kind, text, _start, _end in words:
            key = text if kind is WORD or kind is PUNCT else "\0" + kind
            if key == ")" and depth:
                depth -= 1
            keys.append(key)
            depths.append(depth)
            if key == "(":
                depth += 1
        self.keys = tuple(keys)
        self.depths = depths

    @classmethod
    def first_only(cls, first: str) -> View:
        """A statement no rule reads: only its first word, for counting DDL statements."""
        view = cls(())
        view.keys = (first,) if first else ()
        view.depths = [0] if first else []
        return view

    def at(self, index: int, *keys: str) -> bool:
        return self.keys[index : index + len(keys)] == keys

    def skip(self, index: int, *keys: str) -> int:
        return index + len(keys) if self.at(index, *keys) else index

    def find(self, start: int, end: int, *keys: str) -> int:
        """Index of `keys` at the depth of `start`, within [start, end), or -1."""
        base = self.depths[start] if start < len(self.depths) else 0
        for index in range(start, end):
            if self.depths[index] == base and self.at(index, *keys):
                return index
        return -1

    def has(self, start: int, end: int, *keys: str) -> bool:
        return self.find(start, end, *keys) >= 0

    def name_at(self, index: int) -> tuple[str | None, int]:
        """A possibly qualified name at `index`: its last part (folded), and the index after."""
        if index >= len(self.words) or self.words[index].kind not in (WORD, NAME):
            return None, index
        name = self.words[index].name
        index += 1
        while self.at(index, ".") and index + 1 < len(self.words):
            name = self.words[index + 1].name
            index += 2
        return name, index

    def split(self, start: int, end: int) -> list[tuple[int, int]]:
        """Ranges separated by commas at the depth of `start`."""
        base = self.depths[start] if start < len(self.depths) else 0
        parts, begin = [], start
        for index in range(start, end):
            if self.keys[index] == "," and self.depths[index] == base:
                parts.append((begin, index))
                begin = index + 1
        parts.append((begin, end))
        return [(a, b) for a, b in parts if a < b]


def check_statement(view: View, state: FileState) -> Iterator[Finding]:
    """Every finding of one statement; updates `state` for the statements after it."""
    keys = view.keys
    if not keys:
        return
    first = keys[0]
    if first in DDL_STARTS:
        state.ddl_seen += 1
        if state.ddl_seen == 2:
            yield Finding("mysql-non-transactional-ddl",
                          "a second DDL statement in this migration: MySQL commits each one, so "
                          "a failure after this point leaves the schema half-migrated and "
                          "unrecorded")
    if not view.words:  # only its first word is known: no rule reads this statement
        return
    handler = _HANDLERS.get(first)
    if handler is not None:
        yield from handler(view, state)
    elif _calls_set_config_lock_timeout(view):
        state.lock_timeout = True


def _lock(state: FileState, table: str | None, mode: str, what: str) -> Iterator[Finding]:
    """require-lock-timeout, once per migration, for a strong lock on an existing table."""
    if table is not None and table in state.new_tables:
        return
    if state.lock_timeout or state.lock_reported:
        return
    state.lock_reported = True
    target = f" on {table}" if table else ""
    yield Finding("require-lock-timeout",
                  f"{what} takes {mode}{target} with no `SET lock_timeout` before it: it waits "
                  "behind running queries and blocks every query queued after it")


# --- CREATE -----------------------------------------------------------------------------------


def _create(view: View, state: FileState) -> Iterator[Finding]:
    index = view.skip(1, "OR", "REPLACE")
    index = view.skip(index, "GLOBAL")
    index = view.skip(index, "LOCAL")
    for word in ("TEMP", "TEMPORARY", "UNLOGGED"):
        index = view.skip(index, word)
    index = view.skip(index, "UNIQUE")
    if view.at(index, "TABLE"):
        yield from _create_table(view, state, index + 1)
    elif view.at(index, "INDEX"):
        yield from _create_index(view, state, index + 1)
    elif view.at(index, "MATERIALIZED", "VIEW"):
        index = view.skip(index + 2, "IF", "NOT", "EXISTS")
        name, _ = view.name_at(index)
        if name:
            state.new_tables.add(name)
    elif (view.at(index, "SCHEMA") or view.at(index, "SEQUENCE")) and not view.at(
        index + 1, "IF", "NOT", "EXISTS"
    ):
        kind = view.keys[index]
        yield Finding("prefer-robust-stmts",
                      f"CREATE {kind} without IF NOT EXISTS fails when refinery re-runs the "
                      "migration after a crash between its two commits")


def _create_table(view: View, state: FileState, index: int) -> Iterator[Finding]:
    defensive = view.at(index, "IF", "NOT", "EXISTS")
    index = view.skip(index, "IF", "NOT", "EXISTS")
    name, index = view.name_at(index)
    if name:
        state.new_tables.add(name)
    if not defensive:
        yield Finding("prefer-robust-stmts",
                      f"CREATE TABLE {name or ''} without IF NOT EXISTS fails when refinery "
                      "re-runs the migration after a crash between its two commits")
    if view.at(index, "("):
        close = _closing(view, index)
        for start, end in view.split(index + 1, close):
            if view.keys[start] in _TABLE_CONSTRAINT_WORDS:
                continue
            yield from _type_findings(view, start + 1, end)


def _closing(view: View, open_index: int) -> int:
    depth = view.depths[open_index]
    for index in range(open_index + 1, len(view.keys)):
        if view.keys[index] == ")" and view.depths[index] == depth:
            return index
    return len(view.keys)


def _create_index(view: View, state: FileState, index: int) -> Iterator[Finding]:
    concurrently = view.at(index, "CONCURRENTLY")
    index = view.skip(index, "CONCURRENTLY")
    defensive = view.at(index, "IF", "NOT", "EXISTS")
    index = view.skip(index, "IF", "NOT", "EXISTS")
    index_name = None
    if not view.at(index, "ON"):
        index_name, index = view.name_at(index)
    on = view.find(index, len(view.keys), "ON")
    table = None
    if on >= 0:
        table, _ = view.name_at(view.skip(on + 1, "ONLY"))
    new = table is not None and table in state.new_tables
    if new and index_name:
        state.new_indexes.add(index_name)
    if concurrently:
        yield Finding("ban-concurrent-index-creation-in-transaction",
                      "CREATE INDEX CONCURRENTLY cannot run inside refinery's transaction: the "
                      "migration fails with 25001 (cannot run inside a transaction block)")
    elif not new:
        yield Finding("require-concurrent-index-creation",
                      f"CREATE INDEX on existing table {table} takes a SHARE lock: writes wait "
                      "for the whole build")
        yield from _lock(state, table, SHARE, "CREATE INDEX")
    if not defensive:
        yield Finding("prefer-robust-stmts",
                      "CREATE INDEX without IF NOT EXISTS fails when refinery re-runs the "
                      "migration after a crash between its two commits")


# --- DROP -------------------------------------------------------------------------------------


def _drop(view: View, state: FileState) -> Iterator[Finding]:
    keys = view.keys
    if len(keys) < 2 or keys[1] in ("OWNED",):
        return
    kind_end = 3 if view.at(1, "MATERIALIZED", "VIEW") or view.at(1, "FOREIGN", "TABLE") else 2
    kind = " ".join(keys[1:kind_end])
    index = kind_end
    concurrently = view.at(index, "CONCURRENTLY")
    index = view.skip(index, "CONCURRENTLY")
    defensive = view.at(index, "IF", "EXISTS")
    index = view.skip(index, "IF", "EXISTS")
    names = [view.name_at(start)[0] for start, _ in view.split(index, len(keys))]
    known = [n for n in names if n]
    if not defensive and kind.isupper():
        yield Finding("prefer-robust-stmts",
                      f"DROP {kind} without IF EXISTS fails when refinery re-runs the migration "
                      "after a crash between its two commits")
    if kind == "INDEX":
        if concurrently:
            yield Finding("ban-concurrent-index-creation-in-transaction",
                          "DROP INDEX CONCURRENTLY cannot run inside refinery's transaction: the "
                          "migration fails with 25001")
        elif not known or not all(n in state.new_indexes for n in known):
            yield Finding("require-concurrent-index-deletion",
                          f"DROP INDEX {', '.join(known)} takes an ACCESS EXCLUSIVE lock on its "
                          "table")
            yield from _lock(state, None, ACCESS_EXCLUSIVE, "DROP INDEX")
    elif kind == "TABLE":
        old = [n for n in known if n not in state.new_tables]
        if old or not known:
            yield Finding("ban-drop-table",
                          f"DROP TABLE {', '.join(old)} loses its data and breaks every client "
                          "still using it")
            yield from _lock(state, old[0] if old else None, ACCESS_EXCLUSIVE, "DROP TABLE")
    elif kind == "DATABASE":
        yield Finding("ban-drop-database", "DROP DATABASE in a migration loses a whole database")


# --- ALTER TABLE ------------------------------------------------------------------------------


def _alter(view: View, state: FileState) -> Iterator[Finding]:
    if not view.at(1, "TABLE"):
        return
    index = view.skip(2, "IF", "EXISTS")
    index = view.skip(index, "ONLY")
    table, index = view.name_at(index)
    index = view.skip(index, "*")
    new = table is not None and table in state.new_tables
    strong: str | None = None
    for start, end in view.split(index, len(view.keys)):
        mode = yield from _alter_action(view, state, table, new, start, end)
        if mode and (strong is None or mode == ACCESS_EXCLUSIVE):
            strong = mode
    if strong and not new:
        yield from _lock(state, table, strong, "ALTER TABLE")


def _alter_action(view: View, state: FileState, table: str | None, new: bool, start: int,
                  end: int) -> Action:
    """Findings of one ALTER TABLE action; returns the lock mode it takes (None: weak)."""
    keys = view.keys
    verb = keys[start]
    if verb == "ADD":
        return (yield from _alter_add(view, state, table, new, start + 1, end))
    if verb == "ALTER" or verb == "MODIFY" or verb == "CHANGE":
        return (yield from _alter_column(view, state, table, new, start, end))
    if verb == "DROP":
        index = start + 1
        if keys[index : index + 1] and keys[index] in ("CONSTRAINT", "PRIMARY", "INDEX", "KEY",
                                                        "FOREIGN", "CHECK"):
            if keys[index] == "PRIMARY" and not new:
                yield from _mysql_copy(view, "DROP PRIMARY KEY")
            if keys[index] == "CONSTRAINT" and not view.at(index + 1, "IF", "EXISTS"):
                yield Finding("prefer-robust-stmts",
                              "DROP CONSTRAINT without IF EXISTS fails when refinery re-runs the "
                              "migration after a crash between its two commits")
            return ACCESS_EXCLUSIVE
        index = view.skip(index, "COLUMN")
        defensive = view.at(index, "IF", "EXISTS")
        index = view.skip(index, "IF", "EXISTS")
        column, _ = view.name_at(index)
        if not defensive:
            yield Finding("prefer-robust-stmts",
                          f"DROP COLUMN {column or ''} without IF EXISTS fails when refinery "
                          "re-runs the migration after a crash between its two commits")
        if not new:
            yield Finding("ban-drop-column",
                          f"dropping column {column} of {table} loses its data and breaks "
                          "clients still using it")
        yield Finding("sqlite-unsupported-alter",
                      "DROP COLUMN needs SQLite 3.35 or later (2021); older SQLite cannot do it")
        return ACCESS_EXCLUSIVE
    if verb == "RENAME":
        if view.at(start + 1, "TO"):
            if not new:
                yield Finding("renaming-table",
                              f"renaming table {table} breaks the running application's queries")
        elif not view.at(start + 1, "CONSTRAINT") and not new:
            column, _ = view.name_at(view.skip(start + 1, "COLUMN"))
            yield Finding("renaming-column",
                          f"renaming column {column} of {table} breaks the running "
                          "application's queries")
        return ACCESS_EXCLUSIVE
    if verb == "VALIDATE":
        name, _ = view.name_at(view.skip(start + 1, "CONSTRAINT"))
        if name in state.not_valid:
            yield Finding("constraint-missing-not-valid",
                          f"VALIDATE CONSTRAINT {name} in the migration that added it: "
                          "refinery's transaction still holds the lock taken by the ADD, so "
                          "NOT VALID gained nothing; validate in a later migration")
        return None
    if verb == "DETACH":
        if view.has(start, end, "CONCURRENTLY"):
            yield Finding("ban-concurrent-index-creation-in-transaction",
                          "DETACH PARTITION ... CONCURRENTLY cannot run inside refinery's "
                          "transaction: the migration fails with 25001")
            return None
        return ACCESS_EXCLUSIVE
    if verb in ("ATTACH", "SET") and (verb == "ATTACH" or view.at(start + 1, "STATISTICS")):
        return None
    if verb in ("ALGORITHM", "LOCK"):
        return None
    return ACCESS_EXCLUSIVE


def _alter_add(view: View, state: FileState, table: str | None, new: bool, index: int,
               end: int) -> Action:
    keys = view.keys
    is_column = view.at(index, "COLUMN")
    index = view.skip(index, "COLUMN")
    defensive = view.at(index, "IF", "NOT", "EXISTS")
    index = view.skip(index, "IF", "NOT", "EXISTS")
    constraint_name = None
    if not is_column and view.at(index, "CONSTRAINT"):
        constraint_name, index = view.name_at(index + 1)
    if index < end and not is_column and keys[index] in ("CHECK", "FOREIGN", "UNIQUE",
                                                          "PRIMARY", "EXCLUDE", "INDEX", "KEY"):
        return (yield from _add_constraint(view, state, table, new, constraint_name, index, end))
    column, type_start = view.name_at(index)
    if not defensive:
        yield Finding("prefer-robust-stmts",
                      f"ADD COLUMN {column or ''} without IF NOT EXISTS fails when refinery "
                      "re-runs the migration after a crash between its two commits")
    yield from _type_findings(view, type_start, end)
    if new:
        return ACCESS_EXCLUSIVE
    type_word = keys[type_start] if type_start < end else ""
    default = view.find(type_start, end, "DEFAULT")
    generated = view.find(type_start, end, "GENERATED")
    serial = type_word in _SERIALS or view.has(type_start, end, "AUTO_INCREMENT")
    if type_word in _SERIALS:
        yield Finding("adding-serial-primary-key-field",
                      f"adding {type_word.lower()} column {column} to {table} fills every row: "
                      "a table rewrite under ACCESS EXCLUSIVE")
    if view.has(type_start, end, "PRIMARY", "KEY"):
        yield Finding("adding-serial-primary-key-field",
                      f"adding a primary key column to {table} builds its index under ACCESS "
                      "EXCLUSIVE")
    if view.has(type_start, end, "UNIQUE"):
        yield Finding("disallowed-unique-constraint",
                      f"adding a UNIQUE column to {table} builds its index under ACCESS "
                      "EXCLUSIVE")
    if view.has(type_start, end, "REFERENCES"):
        yield Finding("adding-foreign-key-constraint",
                      f"a foreign key on the new column of {table} takes SHARE ROW EXCLUSIVE on "
                      "both tables")
    if generated >= 0 and (view.has(generated, end, "STORED") or view.has(generated, end,
                                                                          "IDENTITY")):
        yield Finding("adding-field-with-default",
                      f"a generated column computes a value for every row of {table}: a table "
                      "rewrite under ACCESS EXCLUSIVE")
    elif default >= 0 and _rewriting_default(view, state, default + 1, end):
        yield Finding("adding-field-with-default",
                      f"a volatile DEFAULT is computed for every row of {table}: a table "
                      "rewrite under ACCESS EXCLUSIVE")
    if (view.has(type_start, end, "NOT", "NULL") and default < 0 and generated < 0
            and not serial):
        yield Finding("adding-required-field",
                      f"adding NOT NULL column {column} without a default fails on every "
                      f"non-empty {table} table (23502)")
    return ACCESS_EXCLUSIVE


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


def _add_constraint(view: View, state: FileState, table: str | None, new: bool,
                    name: str | None, index: int, end: int) -> Action:
    kind = view.keys[index]
    not_valid = view.has(index, end, "NOT", "VALID")
    using_index = view.has(index, end, "USING", "INDEX")
    yield Finding("sqlite-unsupported-alter",
                  "SQLite cannot add a constraint to an existing table")
    if not_valid and name:
        state.not_valid.add(name)
    if new:
        return ACCESS_EXCLUSIVE
    if kind == "CHECK" and not not_valid:
        yield Finding("constraint-missing-not-valid",
                      f"adding CHECK constraint {name or ''} without NOT VALID scans all of "
                      f"{table} under ACCESS EXCLUSIVE")
    if kind == "FOREIGN":
        if not not_valid:
            yield Finding("constraint-missing-not-valid",
                          f"adding FOREIGN KEY {name or ''} without NOT VALID scans all of "
                          f"{table} under SHARE ROW EXCLUSIVE")
            yield Finding("adding-foreign-key-constraint",
                          f"a foreign key on {table} takes SHARE ROW EXCLUSIVE on both tables "
                          "and validates every row")
        return SHARE_ROW_EXCLUSIVE
    if kind == "UNIQUE" and not using_index:
        yield Finding("disallowed-unique-constraint",
                      f"adding UNIQUE {name or ''} builds its index under ACCESS EXCLUSIVE on "
                      f"{table}")
    if kind == "PRIMARY":
        if not using_index:
            yield Finding("adding-serial-primary-key-field",
                          f"adding a primary key builds its index under ACCESS EXCLUSIVE on "
                          f"{table}")
        yield from _mysql_copy(view, "ADD PRIMARY KEY")
    return ACCESS_EXCLUSIVE


def _alter_column(view: View, state: FileState, table: str | None, new: bool, start: int,
                  end: int) -> Action:
    verb = view.keys[start]
    if verb in ("MODIFY", "CHANGE"):
        if not new:
            yield from _mysql_copy(view, f"{verb} COLUMN")
        return ACCESS_EXCLUSIVE
    yield Finding("sqlite-unsupported-alter", "SQLite has no ALTER TABLE ... ALTER COLUMN")
    index = view.skip(start + 1, "COLUMN")
    column, index = view.name_at(index)
    if view.at(index, "SET", "NOT", "NULL"):
        if not new:
            yield Finding("adding-not-nullable-field",
                          f"SET NOT NULL on {table}.{column} scans the whole table under ACCESS "
                          "EXCLUSIVE")
        return ACCESS_EXCLUSIVE
    if view.at(index, "DROP", "NOT", "NULL"):
        if not new:
            yield Finding("ban-drop-not-null",
                          f"DROP NOT NULL on {table}.{column}: running code may rely on it")
        return ACCESS_EXCLUSIVE
    type_at = -1
    if view.at(index, "TYPE"):
        type_at = index + 1
    elif view.at(index, "SET", "DATA", "TYPE"):
        type_at = index + 3
    if type_at >= 0:
        yield from _type_findings(view, type_at, end)
        if not new:
            yield Finding("changing-column-type",
                          f"changing the type of {table}.{column} rewrites the table and its "
                          "indexes under ACCESS EXCLUSIVE")
        return ACCESS_EXCLUSIVE
    if view.at(index, "SET", "STATISTICS"):
        return None
    return ACCESS_EXCLUSIVE


def _mysql_copy(view: View, what: str) -> Iterator[Finding]:
    """mysql-lock-none-unsupported unless the whole statement asks for an online change."""
    keys = view.keys
    online_algorithm = any(view.at(i, "ALGORITHM", "=") and i + 2 < len(keys)
                           and keys[i + 2] in ("INPLACE", "INSTANT") for i in range(len(keys)))
    lock_none = any(view.at(i, "LOCK", "=", "NONE") for i in range(len(keys)))
    if not (online_algorithm and lock_none):
        yield Finding("mysql-lock-none-unsupported",
                      f"{what} makes MySQL copy the table, blocking writes; without "
                      "ALGORITHM=INPLACE, LOCK=NONE it does so silently")


def _type_findings(view: View, start: int, end: int) -> Iterator[Finding]:
    """Type-hygiene rules (opt-in) for the column type starting at `start`."""
    if start >= end:
        return
    keys = view.keys
    first = keys[start]
    following = keys[start + 1] if start + 1 < end else ""
    if (first in ("VARCHAR", "NVARCHAR") and following == "(") or (
        first == "CHARACTER" and following == "VARYING" and view.at(start + 2, "(")
    ):
        yield Finding("prefer-text-field", "varchar(n) column: prefer text with a length CHECK")
    elif first in ("CHAR", "BPCHAR", "NCHAR") or (first == "CHARACTER" and following != "VARYING"):
        yield Finding("ban-char-field", "char(n) column: prefer text")
    if first in ("INT", "INTEGER", "INT4", "SMALLINT", "INT2", "SERIAL", "SERIAL4", "SMALLSERIAL",
                 "SERIAL2"):
        yield Finding("prefer-bigint-over-int",
                      f"{first.lower()} column: 32-bit values run out; prefer bigint")
    if first in _SERIALS:
        yield Finding("prefer-identity",
                      f"{first.lower()} column: prefer bigint GENERATED ALWAYS AS IDENTITY")
    if first == "TIMESTAMP":
        index = start + 1
        if view.at(index, "("):
            index = _closing(view, index) + 1
        if not view.at(index, "WITH", "TIME", "ZONE"):
            yield Finding("prefer-timestamptz", "timestamp without time zone: prefer timestamptz")


# --- the other statements ---------------------------------------------------------------------


def _reindex(view: View, state: FileState) -> Iterator[Finding]:
    if "CONCURRENTLY" in view.keys:
        yield Finding("ban-concurrent-index-creation-in-transaction",
                      "REINDEX ... CONCURRENTLY cannot run inside refinery's transaction: the "
                      "migration fails with 25001")
        return
    yield Finding("require-concurrent-reindex",
                  "REINDEX locks the index ACCESS EXCLUSIVE (and its table SHARE) for the whole "
                  "rebuild")
    yield from _lock(state, None, ACCESS_EXCLUSIVE, "REINDEX")


def _vacuum(view: View, state: FileState) -> Iterator[Finding]:
    del state
    if "FULL" in view.keys:
        yield Finding("ban-vacuum-full-or-cluster",
                      "VACUUM FULL rewrites the table under ACCESS EXCLUSIVE, and VACUUM cannot "
                      "run inside refinery's transaction at all (25001)")
    else:
        yield Finding("ban-vacuum-full-or-cluster",
                      "VACUUM cannot run inside refinery's transaction: the migration fails with "
                      "25001")


def _cluster(view: View, state: FileState) -> Iterator[Finding]:
    index = view.skip(1, "VERBOSE")
    if view.at(index, "("):
        index = _closing(view, index) + 1
    table, _ = view.name_at(index)
    if table is not None and table in state.new_tables:
        return
    yield Finding("ban-vacuum-full-or-cluster",
                  f"CLUSTER rewrites {table or 'the tables'} under ACCESS EXCLUSIVE")
    yield from _lock(state, table, ACCESS_EXCLUSIVE, "CLUSTER")


def _lock_table(view: View, state: FileState) -> Iterator[Finding]:
    index = view.skip(1, "TABLE")
    index = view.skip(index, "ONLY")
    stop = view.find(index, len(view.keys), "IN")
    names = [view.name_at(a)[0] for a, _ in view.split(index, stop if stop >= 0 else
                                                        len(view.keys))]
    old = [n for n in names if n and n not in state.new_tables]
    if not old:
        return
    mode = ACCESS_EXCLUSIVE
    if stop >= 0:
        mode_end = view.find(stop, len(view.keys), "MODE")
        mode = " ".join(view.keys[stop + 1 : mode_end if mode_end > 0 else len(view.keys)])
    yield Finding("ban-vacuum-full-or-cluster",
                  f"LOCK TABLE {', '.join(old)} holds {mode} until refinery commits the "
                  "migration")
    if mode in (ACCESS_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE, "EXCLUSIVE"):
        yield from _lock(state, old[0], mode, "LOCK TABLE")


def _truncate(view: View, state: FileState) -> Iterator[Finding]:
    index = view.skip(1, "TABLE")
    index = view.skip(index, "ONLY")
    if view.has(index, len(view.keys), "CASCADE"):
        yield Finding("ban-truncate-cascade",
                      "TRUNCATE ... CASCADE also empties every table referencing these ones")
    names = [view.name_at(a)[0] for a, _ in view.split(index, len(view.keys))]
    old = [n for n in names if n and n not in state.new_tables]
    if old:
        yield from _lock(state, old[0], ACCESS_EXCLUSIVE, "TRUNCATE")


def _transaction(view: View, state: FileState) -> Iterator[Finding]:
    del state
    keys = view.keys
    first = keys[0]
    if first == "START" and not view.at(1, "TRANSACTION"):
        return
    if first == "ROLLBACK" and ("TO" in keys or "PREPARED" in keys):
        return
    if first == "BEGIN" and len(keys) > 1 and keys[1] not in ("TRANSACTION", "WORK", "TRAN",
                                                               "ISOLATION", "READ", "DEFERRED",
                                                               "IMMEDIATE", "EXCLUSIVE", ";"):
        return  # T-SQL `BEGIN ... END` blocks, `BEGIN TRY` and the like
    yield Finding("transaction-nesting",
                  f"{' '.join(keys[:2]) if first == 'START' else first} inside a migration: "
                  "refinery already runs the file in a transaction")


def _setting_name(view: View, index: int) -> tuple[str | None, int]:
    keys = view.keys
    if view.at(index, "TIME", "ZONE"):
        return "timezone", index + 2
    if view.at(index, "SESSION", "AUTHORIZATION"):
        return "session_authorization", index + 2
    if index >= len(keys) or view.words[index].kind not in (WORD, NAME):
        return None, index
    parts = [view.words[index].name]
    index += 1
    while view.at(index, ".") and index + 1 < len(keys):
        parts.append(view.words[index + 1].name)
        index += 2
    return ".".join(parts), index


def _set(view: View, state: FileState) -> Iterator[Finding]:
    keys = view.keys
    if len(keys) < 2 or keys[1] in ("CONSTRAINTS", "TRANSACTION") or view.at(
        1, "SESSION", "CHARACTERISTICS"
    ):
        return
    local = keys[1] == "LOCAL"
    index = view.skip(view.skip(1, "LOCAL"), "SESSION") if not view.at(
        1, "SESSION", "AUTHORIZATION") else 1
    name, index = _setting_name(view, index)
    if name is None:
        return
    value_index = view.skip(view.skip(index, "TO"), "=")
    value = view.words[value_index] if value_index < len(view.words) else None
    if name == "lock_timeout" and value is not None and value.text not in ("0", "DEFAULT"):
        state.lock_timeout = True
    if not local:
        state.pending_settings.setdefault(name, state.index)
    return
    yield  # pragma: no cover - makes this a generator


def _reset(view: View, state: FileState) -> Iterator[Finding]:
    if view.at(1, "ALL"):
        state.pending_settings.clear()
    else:
        name, _ = _setting_name(view, 1)
        if name is not None:
            state.pending_settings.pop(name, None)
    return
    yield  # pragma: no cover


def _calls_set_config_lock_timeout(view: View) -> bool:
    for index, key in enumerate(view.keys):
        if key == "SET_CONFIG" and view.at(index + 1, "("):
            argument = view.words[index + 2] if index + 2 < len(view.words) else None
            if argument is not None and argument.kind == STRING and (
                argument.text.lower() == "lock_timeout"
            ):
                return True
    return False


def _data_change(view: View, state: FileState) -> Iterator[Finding]:
    keys = view.keys
    if keys[0] == "UPDATE":
        index = view.skip(1, "ONLY")
    elif view.at(0, "DELETE", "FROM"):
        index = view.skip(2, "ONLY")
    else:
        return
    if _calls_set_config_lock_timeout(view):
        state.lock_timeout = True
    table, _ = view.name_at(index)
    if not state.has_ddl or table is None or table in state.new_tables:
        return
    if view.has(0, len(keys), "WHERE"):
        return
    yield Finding("unbounded-data-change",
                  f"{keys[0]} of every row of {table} without WHERE, in a migration with DDL: "
                  "row locks and the DDL's lock are held for the whole backfill")


def _select(view: View, state: FileState) -> Iterator[Finding]:
    if _calls_set_config_lock_timeout(view):
        state.lock_timeout = True
    return
    yield  # pragma: no cover


def session_leaks(state: FileState) -> dict[int, str]:
    """Statement index → setting name, for every session SET no RESET undid."""
    return {index: name for name, index in state.pending_settings.items()}


_HANDLERS = {
    "CREATE": _create, "DROP": _drop, "ALTER": _alter, "REINDEX": _reindex, "VACUUM": _vacuum,
    "CLUSTER": _cluster, "LOCK": _lock_table, "TRUNCATE": _truncate, "BEGIN": _transaction,
    "START": _transaction, "COMMIT": _transaction, "ROLLBACK": _transaction, "END": _transaction,
    "ABORT": _transaction, "SET": _set, "RESET": _reset, "UPDATE": _data_change,
    "DELETE": _data_change, "SELECT": _select,
}
#: The first words of the statements some rule reads.
HANDLED = frozenset(_HANDLERS)
