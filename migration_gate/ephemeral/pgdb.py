"""The runner's view of a PostgreSQL connection (embedded cluster and server mode alike)."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Sequence
from typing import Any

from migration_gate.ephemeral.deadline import GRACE, ReplayDeadline, stopped_by_deadline
from migration_gate.runner import DbError
from migration_gate.types import Dialect

#: Re-applied before each statement of a migration: the replay's remaining time, or the
#: migration's own statement_timeout when that is shorter (a migration may tighten it, never
#: lift it). Every name is schema-qualified and every operator explicit, so that neither
#: `search_path` nor objects the migration created can change what this does.
#: Also returns the setting it replaced (in milliseconds), to tell whose limit is in force.
#: `current_setting` (with its unit, read through an interval), not `pg_settings`: that view
#: computes every setting and costs ten times a round trip.
_BOUND_STATEMENT = """
SELECT v.ms, pg_catalog.set_config('statement_timeout', CASE
    WHEN v.ms OPERATOR(pg_catalog.=) 0 OR v.ms OPERATOR(pg_catalog.>) %s::pg_catalog.int8
    THEN %s::pg_catalog.text ELSE v.raw END, true)
FROM (SELECT c.raw, (pg_catalog.date_part('epoch', c.raw::pg_catalog.interval)
        OPERATOR(pg_catalog.*) 1000)::pg_catalog.int8 AS ms
      FROM (SELECT pg_catalog.current_setting('statement_timeout') AS raw) c) v
"""
#: The runner's own transaction control: nothing to bound (the deadline's thread still is).
_CONTROL = frozenset({"BEGIN", "COMMIT", "ROLLBACK"})


class PostgresDatabase:
    """A psycopg connection in autocommit mode: statements go through the simple query protocol
    (as refinery's `batch_execute`), transactions are sent as SQL.

    With a `deadline`, every statement sent inside a transaction first gets the remaining time
    as its `statement_timeout`, and the deadline's thread may `interrupt` the connection.
    """

    dialect: Dialect = "postgres"

    def __init__(self, connection: Any, deadline: ReplayDeadline | None = None) -> None:
        self.connection = connection
        self.deadline = deadline
        if deadline is not None:
            deadline.watch(self)

    def execute(self, sql: str) -> None:
        import psycopg

        bounded = False
        try:
            if self.deadline is not None and self._in_transaction() and sql not in _CONTROL:
                ms = self.deadline.remaining_ms()
                row = self.connection.execute(_BOUND_STATEMENT, (ms, str(ms))).fetchone()
                before = int(row[0]) if row is not None and row[0] is not None else 0
                bounded = before == 0 or before > ms  # the deadline's limit, not the migration's
            self.connection.execute(sql)
        except psycopg.Error as error:
            if bounded and self.deadline is not None and error.sqlstate == "57014":
                self.deadline.expire()
            raise to_db_error(error) from None
        if self.deadline is not None and self.deadline.expired and sql not in _CONTROL:
            raise stopped_by_deadline()

    def _in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return bool(self.connection.info.transaction_status == TransactionStatus.INTRANS)

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        import psycopg

        try:
            cursor = self.connection.execute(sql, params or None)
            return list(cursor.fetchall()) if cursor.description is not None else []
        except psycopg.Error as error:
            raise to_db_error(error) from None

    def interrupt(self, *, hard: bool) -> None:
        """Called from the deadline's thread: cancel the running statement, or (hard) shut the
        socket down so that the gate stops waiting whatever the server does."""
        if not hard:
            cancel_safe = getattr(self.connection, "cancel_safe", None)
            if cancel_safe is not None:
                cancel_safe(timeout=GRACE)
            else:
                self.connection.cancel()
            return
        fd = self.connection.pgconn.socket
        with socket.socket(fileno=os.dup(fd)) as duplicate, contextlib.suppress(OSError):
            duplicate.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.connection.close()


def to_db_error(error: Any) -> DbError:
    """psycopg's error as the runner's: primary message, SQLSTATE, hint, detail, position."""
    diag = getattr(error, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    position = getattr(diag, "statement_position", None) if diag is not None else None
    text = str(error).strip()
    message = primary or (text.splitlines()[0] if text else type(error).__name__)
    return DbError(
        message,
        sqlstate=getattr(error, "sqlstate", None),
        hint=getattr(diag, "message_hint", None) if diag is not None else None,
        detail=getattr(diag, "message_detail", None) if diag is not None else None,
        position=int(position) if position and str(position).isdigit() else None,
    )
