"""Where a `;` does not end a statement: the bodies of triggers, routines and SQL-standard blocks.

A `;` inside `CREATE TRIGGER ... BEGIN ... END` is part of the trigger, and the database reads
the whole trigger as one statement; splitting there sends it a fragment (and reports the `END`
as a transaction statement). Each dialect decides this the way its own engine does:

- SQLite: the state machine of `sqlite3_complete()` (complete.c): after `CREATE [TEMP] TRIGGER`
  only a `;` that follows `; END` ends the statement.
- PostgreSQL: psql's rule (psqlscan.l): in `CREATE [OR REPLACE] FUNCTION|PROCEDURE`, outside
  parentheses, `BEGIN` opens a block (`BEGIN ATOMIC`, PG 14+), `CASE` inside a block opens one,
  `END` closes one; a `;` ends the statement only outside blocks and parentheses.
- MySQL/MariaDB: the server parses a compound statement whole, so in `CREATE ... TRIGGER|
  PROCEDURE|FUNCTION|EVENT` (and MariaDB's `BEGIN NOT ATOMIC`), `BEGIN` and `CASE` open a block
  and `END` closes one, except `END IF|LOOP|WHILE|REPEAT|FOR`, which close statements that were
  never counted as blocks. (A trigger whose body is a bare `IF` without `BEGIN` is the known
  gap: the server takes it whole, this reading splits it.)

A tracker sees a statement's tokens as the scanner passes them: plain text (no comments, no
quoted text), quoted tokens, and each `;`. It is dropped as soon as the statement is known to
be an ordinary one, so ordinary statements cost one look at their first words.
"""

from __future__ import annotations

import re
from typing import Protocol

from migration_gate.types import Dialect

_TOKEN = re.compile(r"[^\W\d][\w$]*|\d[\w.]*|\S")


class Tracker(Protocol):
    """Follows one statement's tokens; `done` once it is known to be an ordinary statement."""

    done: bool

    def feed(self, plain: str) -> None:
        """Plain text of the statement (no comment, no quoted text)."""

    def quoted(self) -> None:
        """A quoted string or identifier."""

    def semicolon_ends(self) -> bool:
        """A `;` outside quotes and comments: whether it ends the statement."""


def start_tracker(dialect: Dialect, first_char: str) -> Tracker | None:
    """A tracker for a statement starting with `first_char`, or None when it cannot be one
    with a body (the first word of a trigger, routine or block starts with C, E or B)."""
    if first_char not in "CcEeBb":
        return None
    if dialect == "sqlite":
        return SqliteTrigger()
    if dialect in ("postgres", "postgresql"):
        return PostgresRoutine() if first_char in "Cc" else None
    if dialect in ("mysql", "mariadb"):
        return MysqlCompound() if first_char in "CcBb" else None
    return None


# --- SQLite: sqlite3_complete() -----------------------------------------------------------------

_SEMI, _OTHER, _EXPLAIN, _CREATE, _TEMP, _TRIGGER, _END = 0, 2, 3, 4, 5, 6, 7
_SQLITE_WORDS = {"EXPLAIN": _EXPLAIN, "CREATE": _CREATE, "TEMP": _TEMP, "TEMPORARY": _TEMP,
                 "TRIGGER": _TRIGGER, "END": _END}
_START, _NORMAL = 1, 2
# complete.c's transition table (the white-space column, always "stay", left out); rows are
# states INVALID, START, NORMAL, EXPLAIN, CREATE, TRIGGER, SEMI, END; columns the token types
# SEMI, WS (unused), OTHER, EXPLAIN, CREATE, TEMP, TRIGGER, END.
_SQLITE_TRANS = (
    (1, 0, 2, 3, 4, 2, 2, 2),
    (1, 1, 2, 3, 4, 2, 2, 2),
    (1, 2, 2, 2, 2, 2, 2, 2),
    (1, 3, 3, 2, 4, 2, 2, 2),
    (1, 4, 2, 2, 2, 4, 5, 2),
    (6, 5, 5, 5, 5, 5, 5, 5),
    (6, 6, 5, 5, 5, 5, 5, 7),
    (1, 7, 5, 5, 5, 5, 5, 5),
)


class SqliteTrigger:
    """SQLite's own rule for where a statement ends (`sqlite3_complete`)."""

    def __init__(self) -> None:
        self.state = _START
        self.done = False

    def _step(self, token: int) -> None:
        self.state = _SQLITE_TRANS[self.state][token]
        if self.state == _NORMAL:
            self.done = True

    def feed(self, plain: str) -> None:
        for match in _TOKEN.finditer(plain):
            self._step(_SQLITE_WORDS.get(match.group().upper(), _OTHER))
            if self.done:
                return

    def quoted(self) -> None:
        self._step(_OTHER)

    def semicolon_ends(self) -> bool:
        self._step(_SEMI)
        return self.state == _START


# --- PostgreSQL: psql's BEGIN ... END rule --------------------------------------------------------

_PSQL_RECORDED = {"CREATE": "c", "FUNCTION": "f", "PROCEDURE": "p", "OR": "o", "REPLACE": "r"}


class PostgresRoutine:
    """psql's reading of `CREATE [OR REPLACE] FUNCTION|PROCEDURE ... BEGIN ATOMIC ... END`."""

    def __init__(self) -> None:
        self.letters: list[str] = []  # psql's `identifiers`: the first four words, initials
        self.routine = False
        self.parens = 0
        self.depth = 0
        self.done = False

    def _head(self, word: str) -> None:
        self.letters.append(_PSQL_RECORDED.get(word, ""))
        first, count = self.letters, len(self.letters)
        if first[0] != "c" or (count >= 2 and first[1] not in ("f", "p", "o")):
            self.done = True
        elif count >= 2 and first[1] in ("f", "p"):
            self.routine = True
        elif count == 3 and first[2] != "r":
            self.done = True
        elif count == 4:
            self.routine = first[3] in ("f", "p")
            self.done = not self.routine

    def feed(self, plain: str) -> None:
        for match in _TOKEN.finditer(plain):
            token = match.group()
            if token == "(":
                self.parens += 1
            elif token == ")":
                self.parens = max(0, self.parens - 1)
            elif token[0].isalpha() or token[0] == "_":
                word = token.upper()
                if not self.routine:
                    self._head(word)
                    if self.done:
                        return
                if self.routine and self.parens == 0:
                    self._body(word)

    def _body(self, word: str) -> None:
        if word == "BEGIN" or (word == "CASE" and self.depth >= 1):
            self.depth += 1
        elif word == "END" and self.depth > 0:
            self.depth -= 1

    def quoted(self) -> None:
        return

    def semicolon_ends(self) -> bool:
        return self.parens == 0 and self.depth == 0


# --- MySQL / MariaDB: compound statements ---------------------------------------------------------

_MYSQL_BODIES = frozenset({"TRIGGER", "PROCEDURE", "FUNCTION", "EVENT"})
_MYSQL_ORDINARY = frozenset({
    "TABLE", "INDEX", "UNIQUE", "FULLTEXT", "SPATIAL", "VIEW", "DATABASE", "SCHEMA", "USER",
    "ROLE", "SERVER", "TABLESPACE", "LOGFILE", "SEQUENCE", "TEMPORARY", "RESOURCE", "PACKAGE",
})
#: `END` followed by one of these closes a statement that was never counted as a block.
_UNCOUNTED_ENDS = frozenset({"IF", "LOOP", "WHILE", "REPEAT", "FOR"})
_HEAD_LIMIT = 24


class MysqlCompound:
    """The blocks of a MySQL compound statement, as far as `;` is concerned."""

    def __init__(self) -> None:
        self.head: list[str] = []
        self.body = False
        self.depth = 0
        self.previous = ""
        self.pending_end = False
        self.done = False

    def _head(self, token: str) -> None:
        self.head.append(token)
        first = self.head[0]
        if first == "BEGIN":
            if len(self.head) == 2 and token != "NOT":
                self.done = True
            elif len(self.head) == 3:
                self.done = token != "ATOMIC"
                self.body, self.depth = not self.done, 1
        elif first != "CREATE" or token == "(" or token in _MYSQL_ORDINARY or len(
            self.head
        ) > _HEAD_LIMIT:
            self.done = True
        elif token in _MYSQL_BODIES:
            self.body = True

    def _resolve_end(self, following: str) -> None:
        if self.pending_end:
            self.pending_end = False
            if following not in _UNCOUNTED_ENDS and self.depth > 0:
                self.depth -= 1

    def _token(self, token: str) -> None:
        self._resolve_end(token)
        if token == "BEGIN" or (token == "CASE" and self.previous != "END"):
            self.depth += 1
        elif token == "END":
            self.pending_end = True
        self.previous = token

    def feed(self, plain: str) -> None:
        for match in _TOKEN.finditer(plain):
            token = match.group().upper()
            if not self.body:
                self._head(token)
                if self.done:
                    return
                continue
            self._token(token)

    def quoted(self) -> None:
        if not self.body:
            self._head("")
        else:
            self._token("")

    def semicolon_ends(self) -> bool:
        if not self.body:
            return True
        self._resolve_end(";")
        self.previous = ";"
        return self.depth == 0
