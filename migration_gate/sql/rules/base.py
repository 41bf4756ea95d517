"""What every SQL rule family shares: the token view, the per-file state, the finding, lock modes.

Every rule works from the token view (`tokens.Word`), so it applies equally to statements
sqlglot parsed, folded into a `Command`, or could not parse. One pass per file: a `FileState`
carries the context (tables created so far, `lock_timeout`, pending session settings,
constraints added `NOT VALID`) from one statement to the next.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from migration_gate.catalog import Rule
from migration_gate.sql.tokens import NAME, PUNCT, WORD, Word
from migration_gate.types import Dialect

if TYPE_CHECKING:
    from migration_gate.runners.model import CrashWindow, ScriptTransaction
    from migration_gate.sql.columns import ColumnType

ACCESS_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE = "ACCESS EXCLUSIVE", "SHARE", "SHARE ROW EXCLUSIVE"
#: The first words of DDL statements (MySQL commits each of them implicitly).
DDL_STARTS = frozenset({"CREATE", "ALTER", "DROP", "TRUNCATE", "RENAME", "COMMENT", "GRANT",
                        "REVOKE"})
PG: tuple[Dialect, ...] = ("postgres",)
#: The SQLite a migration targets unless `sqlite.version` says otherwise (3.46: 2024).
CURRENT_SQLITE = (3, 46)
PORTABLE: tuple[Dialect, ...] = ("postgres", "mysql", "sqlite")
SERIALS = frozenset({"SERIAL", "SERIAL4", "BIGSERIAL", "SERIAL8", "SMALLSERIAL", "SERIAL2"})


#: Absolute [start, end) offsets in the file.
Span = tuple[int, int]


@dataclass(frozen=True)
class Finding:
    """One rule firing on one statement. It holds the `Rule` itself, not its id, so that a
    misspelt rule is a NameError at import and a mypy error, never a lookup failing at run time.

    `span`: the words that matter (the CONCURRENTLY keyword, the new column type...), when the
    rule knows them; without it the finding points at its whole statement.
    """

    rule: Rule
    message: str
    span: Span | None = None
    #: what to do, when it depends on the runner (None: the rule's own hint)
    hint: str | None = None


@dataclass
class FileState:
    """What the statements before the current one established (`context.observe` keeps it).

    The checks of a statement see the state as it was before that statement.
    """

    dialect: Dialect = "postgres"
    postgres_version: int | None = None
    sqlite_version: tuple[int, int] = CURRENT_SQLITE
    new_tables: set[str] = field(default_factory=set)
    new_indexes: set[str] = field(default_factory=set)
    new_views: set[str] = field(default_factory=set)  # views created earlier in the migration
    #: DROP TABLE of tables that existed: (statement index, their names; () when unreadable)
    table_drops: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)
    #: Where each table name gets a table again: CREATE TABLE name, ALTER TABLE ... RENAME TO name
    table_made: dict[str, list[int]] = field(default_factory=dict)
    not_valid: set[str] = field(default_factory=set)
    #: (kind, name) a `DROP kind IF EXISTS name` earlier in the migration removes: creating it
    #: again after that succeeds on a re-run too
    cleared: set[tuple[str, str]] = field(default_factory=set)
    pending_settings: dict[str, int] = field(default_factory=dict)  # name -> statement index
    lock_timeout: bool = False
    has_ddl: bool = False  # whether any statement of the file is DDL
    ddl_count: int = 0  # DDL statements before the current one
    index: int = 0  # of the current statement
    parsed: bool = True  # False: a huge file linted from its tokens, sqlglot never ran
    chars: int = 0  # the file's length
    statements: int = 0  # how many statements the file has
    reported: set[str] = field(default_factory=set)  # rules that report once per file and did
    #: The runner's answers for this file (`lint_text` asks them). `crash_window`: whether a
    #: crash between the migration's commit and its history row's exists, None when it does
    #: not. `script`: how the runner runs the file's statements, None when it runs every one
    #: inside its transaction whatever they are (refinery: the database refuses some, 25001).
    runner: str = "refinery"
    crash_window: CrashWindow | None = None
    script: ScriptTransaction | None = None
    #: MySQL: the columns of the tables this migration alters, as the migrations before it
    #: left them (`sql.columns`; empty when unknown, e.g. `lint` of a lone file); the
    #: statements of this migration update it as they run
    columns: dict[str, dict[str, ColumnType]] = field(default_factory=dict)

    def is_new(self, table: str | None) -> bool:
        """Whether `table` was created earlier in this migration (or on this branch)."""
        return table is not None and table in self.new_tables


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
        depths, all_keys = self.depths, self.keys
        base = depths[start] if start < len(depths) else 0
        if not keys:  # any word at that depth
            return next((i for i in range(start, end) if depths[i] == base), -1)
        first, count = keys[0], len(keys)
        for index in range(start, end):
            # the first key compared before anything else: most words are not it
            if all_keys[index] == first and depths[index] == base and (
                    count == 1 or all_keys[index : index + count] == keys):
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

    def closing(self, open_index: int) -> int:
        """The index of the `)` matching the `(` at `open_index` (the end when unclosed)."""
        depth = self.depths[open_index]
        for index in range(open_index + 1, len(self.keys)):
            if self.keys[index] == ")" and self.depths[index] == depth:
                return index
        return len(self.keys)


def words_span(view: View, first: int, stop: int) -> Span | None:
    """The offsets covering `view.words[first:stop]` (None when they are not all there)."""
    if first < 0 or stop <= first or stop > len(view.words):
        return None
    return view.words[first].start, view.words[stop - 1].end


def keys_span(view: View, *keys: str, start: int = 0, end: int | None = None) -> Span | None:
    """The words `keys` where they first follow each other (any depth) in [start, end)."""
    stop = len(view.keys) if end is None else min(end, len(view.keys))
    for index in range(max(start, 0), stop - len(keys) + 1):
        if view.at(index, *keys):
            return words_span(view, index, index + len(keys))
    return None


def head_span(view: View, last: str) -> Span | None:
    """From the statement's first word to the keyword `last` (`CREATE UNIQUE INDEX`)."""
    for index, key in enumerate(view.keys[:8]):
        if key == last:
            return words_span(view, 0, index + 1)
    return words_span(view, 0, 1)


def name_span(view: View, name: str | None, start: int = 1) -> Span | None:
    """The first word from `start` that names `name` (a qualified name's last part)."""
    if name is None:
        return None
    for index in range(start, len(view.words)):
        if view.words[index].name == name and view.words[index].kind != PUNCT:
            return words_span(view, index, index + 1)
    return None
