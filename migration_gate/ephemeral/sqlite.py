"""SQLite: an in-memory database, as good as a throwaway file and never written to disk."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from typing import Any

from migration_gate.runner import DbError
from migration_gate.types import Dialect

_PLACEHOLDER = re.compile(r"%s")


class SqliteDatabase:
    """A `sqlite3` connection with Python's implicit transactions off: refinery's rusqlite
    driver sends BEGIN and COMMIT itself, and so does the runner."""

    dialect: Dialect = "sqlite"

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def execute(self, sql: str) -> None:
        import sqlite3

        try:
            self.connection.execute(sql)
        except sqlite3.Error as error:
            raise to_db_error(error) from None

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        import sqlite3

        try:
            cursor = self.connection.execute(_PLACEHOLDER.sub("?", sql), tuple(params))
            return list(cursor.fetchall())
        except sqlite3.Error as error:
            raise to_db_error(error) from None

    def interrupt(self, *, hard: bool) -> None:
        """From the replay's deadline thread: SQLite's own, thread-safe interrupt."""
        self.connection.interrupt()


def to_db_error(error: Exception) -> DbError:
    code = getattr(error, "sqlite_errorname", None)
    return DbError(str(error), sqlstate=code)


@contextlib.contextmanager
def memory_database() -> Iterator[SqliteDatabase]:
    import sqlite3

    connection = sqlite3.connect(":memory:", isolation_level=None)
    try:
        yield SqliteDatabase(connection)
    finally:
        connection.close()


@contextlib.contextmanager
def read_only_file(path: str) -> Iterator[SqliteDatabase]:
    """An existing database file opened read-only (`status` never writes)."""
    import sqlite3
    from pathlib import Path

    from migration_gate.diagnostics import GateError

    if not Path(path).is_file():
        raise GateError(f"SQLite database not found: {path}")
    try:
        connection = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True,
                                     isolation_level=None)
    except sqlite3.Error as error:
        raise GateError(f"cannot open {path}: {error}") from None
    try:
        yield SqliteDatabase(connection)
    finally:
        connection.close()
