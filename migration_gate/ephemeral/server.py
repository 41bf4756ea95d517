"""Server mode: a throwaway database on a server the user names with `--database-url`.

The database named in the URL is only used to connect: the work happens in a new database
(PostgreSQL: `CREATE DATABASE ... TEMPLATE template0`; MySQL/MariaDB: `CREATE DATABASE`), dropped
on every exit path -- SIGTERM included. Its name and marker say which gate made it, so that the
next run sweeps what a killed gate left (`leftovers`). MariaDB/MySQL DDL is not transactional, so
that throwaway database is the only safety there. `read_only` opens the named database for
`status`, inside a read-only transaction that is rolled back. Every message that shows the URL or
a driver's error goes through `redaction.redact`.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from migration_gate.diagnostics import GateError
from migration_gate.ephemeral.leftovers import new_throwaway
from migration_gate.ephemeral.processes import terminate_as_exit
from migration_gate.redaction import redact as redact  # one redaction, used by every message
from migration_gate.runner import Database, DbError
from migration_gate.types import Dialect

if TYPE_CHECKING:
    from migration_gate.ephemeral.postgres import PostgresDatabase

SCHEMES: dict[str, Dialect] = {
    "postgres": "postgres", "postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql",
    "sqlite": "sqlite", "mssql": "mssql",
}


@dataclass(frozen=True)
class DatabaseUrl:
    url: str
    dialect: Dialect

    @property
    def sqlite_path(self) -> str:
        """`sqlite://./x.db` is the path `./x.db`, as in refinery."""
        rest = self.url.split("://", 1)[1] if "://" in self.url else self.url.split(":", 1)[1]
        return unquote(rest.split("?", 1)[0])


def parse_url(url: str) -> DatabaseUrl:
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    dialect = SCHEMES.get(scheme)
    if dialect is None:
        shown = scheme if scheme and "=" not in scheme else redact(url)
        raise GateError(
            f"unsupported database URL scheme {shown!r}: use postgres://, mysql:// or sqlite://"
        )
    if dialect == "mssql":
        raise GateError("SQL Server URLs are not supported (no driver); use --no-verify")
    return DatabaseUrl(url, dialect)


@contextlib.contextmanager
def throwaway_database(url: str, *, deadline: Any = None) -> Iterator[Database]:
    """A new, empty database on the server of `url`, dropped afterwards (SIGTERM raises
    SystemExit meanwhile, so that the drop runs). `deadline` (a `ReplayDeadline`) bounds what
    runs in it."""
    parsed = parse_url(url)
    if parsed.dialect == "sqlite":
        from migration_gate.ephemeral.sqlite import memory_database

        with memory_database() as db:
            if deadline is not None:
                deadline.watch(db)
            yield db
        return
    with terminate_as_exit():
        if parsed.dialect == "mysql":
            with _mysql_throwaway(url, deadline) as db:
                yield db
            return
        with _postgres_throwaway(url, deadline) as db:
            yield db


def _pg_connect(url: str, **changes: Any) -> Any:
    from migration_gate.ephemeral.postgres import require_psycopg

    require_psycopg()
    import psycopg
    from psycopg.conninfo import make_conninfo

    try:
        return psycopg.connect(make_conninfo(url, **changes), autocommit=True, connect_timeout=10)
    except psycopg.Error as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise GateError(redact(f"cannot connect to {url}: {first}", url)) from None


@contextlib.contextmanager
def _postgres_throwaway(url: str, deadline: Any) -> Iterator[Database]:
    from migration_gate.ephemeral import leftovers
    from migration_gate.ephemeral.postgres import PostgresDatabase

    made = new_throwaway()
    admin = PostgresDatabase(_pg_connect(url))
    try:
        leftovers.sweep_postgres(admin, drop_postgres_database)
        try:
            try:
                admin.execute(f'CREATE DATABASE "{made.name}" TEMPLATE template0')
                leftovers.mark_postgres(admin, made)
            except DbError as error:
                raise GateError(redact(f"cannot create a throwaway database on {url}: "
                                       f"{error.message}", url)) from None
            connection = _pg_connect(url, dbname=made.name)
            try:
                yield PostgresDatabase(connection, deadline)
            finally:
                connection.close()
        finally:
            _drop_throwaway(admin, url, made.name)
    finally:
        admin.close()


def _drop_throwaway(admin: Any, url: str, name: str) -> None:
    """Drop the throwaway database; on a new connection when a signal cut the admin one short
    mid-statement (it is then unusable)."""
    try:
        drop_postgres_database(admin, name)
    except DbError:
        from migration_gate.ephemeral.postgres import PostgresDatabase

        fresh = PostgresDatabase(_pg_connect(url))
        try:
            drop_postgres_database(fresh, name)
        finally:
            fresh.close()


def drop_postgres_database(admin: Any, name: str) -> None:
    try:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except DbError as error:
        if error.sqlstate != "42601":  # WITH (FORCE) is PostgreSQL 13+
            raise
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


# --- MySQL / MariaDB (PyMySQL, extra `mysql`) --------------------------------------------------


class MysqlDatabase:
    dialect: Dialect = "mysql"

    def __init__(self, connection: Any, url: str | None = None) -> None:
        self.connection = connection
        self.url = url  # to reach the server on a second connection (`interrupt`)
        self.deadline: Any = None  # a ReplayDeadline while a replay runs

    def interrupt(self, *, hard: bool) -> None:
        """Called from the deadline's thread: `KILL QUERY` (or `KILL`, and the socket shut
        down) on a second connection; PyMySQL has no cancel request of its own."""
        import socket

        if self.url is not None:
            other = MysqlDatabase(_mysql_connect(self.url, database=None))
            try:
                kill = "KILL" if hard else "KILL QUERY"
                other.execute(f"{kill} {int(self.connection.thread_id())}")
            finally:
                other.connection.close()
        sock = getattr(self.connection, "_sock", None)
        if hard and sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def execute(self, sql: str) -> None:
        self.query(sql)

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        import pymysql

        try:
            with self.connection.cursor() as cursor:
                cursor.execute(sql, tuple(params) if params else None)
                rows = list(cursor.fetchall())
        except pymysql.MySQLError as error:
            raise mysql_error(error, sql if not params else None) from None
        if self.deadline is not None and self.deadline.expired:
            from migration_gate.ephemeral.deadline import stopped_by_deadline

            raise stopped_by_deadline()  # `KILL QUERY` ends SLEEP() without an error
        return rows


#: MySQL's syntax errors end with where the parser stopped, relative to the statement.
_NEAR = re.compile(r"near '(.*)' at line (\d+)\Z", re.DOTALL)


def mysql_error(error: Exception, statement: str | None = None) -> DbError:
    """A `DbError` from PyMySQL's `(errno, message)`; errno is MySQL's error number (PyMySQL
    drops the SQLSTATE), so it goes in the message. A syntax error's `near '...' at line N`
    becomes a position in `statement`."""
    args: tuple[Any, ...] = tuple(getattr(error, "args", ()))
    if len(args) < 2:
        return DbError(str(error) or type(error).__name__)
    code, text = args[0], str(args[1])
    if not text.strip():  # PyMySQL's `(0, '')`: the connection is gone
        return DbError(f"the connection to the server was lost ({type(error).__name__})")
    position = _near_position(statement, text) if statement is not None else None
    return DbError(f"{text} (MySQL error {code})", position=position)


def _near_position(statement: str, text: str) -> int | None:
    """1-based character of `statement` where MySQL's `near '...' at line N` points."""
    match = _NEAR.search(text)
    if match is None:
        return None
    near, line = match.group(1), int(match.group(2))
    lines = statement.split("\n")
    if not 1 <= line <= len(lines):
        return None
    line_start = sum(len(part) + 1 for part in lines[: line - 1])
    # `near` is the rest of the statement from the token (cut at 80 characters)
    tail = statement.rstrip().rstrip(";").rstrip()
    if near and tail.endswith(near) and len(tail) - len(near) >= line_start:
        found = len(tail) - len(near)
    else:
        found = statement.find(near, line_start) if near else -1
    return (found if found >= 0 else line_start) + 1


def _mysql_params(url: str) -> dict[str, Any]:
    """PyMySQL's arguments for a URL as refinery's mysql driver reads it (`?socket=` too)."""
    parts = urlsplit(url)
    try:
        port = parts.port or 3306
    except ValueError:
        raise GateError(f"invalid port in the database URL {redact(url)}") from None
    params: dict[str, Any] = {
        "host": parts.hostname or "localhost",
        "port": port,
        "user": unquote(parts.username or "root"),
        # as UTF-8 bytes, as refinery's driver sends it (PyMySQL encodes a str as latin-1,
        # and fails on anything else)
        "password": unquote(parts.password or "").encode("utf-8"),
        "autocommit": True,
        "connect_timeout": 10,
    }
    database = parts.path.lstrip("/")
    if database:
        params["database"] = unquote(database)
    socket_path = parse_qs(parts.query).get("socket")
    if socket_path:
        params["unix_socket"] = socket_path[-1]
    return params


def _mysql_connect(url: str, **changes: Any) -> Any:
    try:
        import pymysql
    except ModuleNotFoundError:
        raise GateError(
            "MySQL needs the PyMySQL driver: pip install 'migration-gate[mysql]'"
        ) from None
    params = {**_mysql_params(url), **changes}
    try:
        return pymysql.connect(**params)
    except pymysql.MySQLError as error:
        raise GateError(redact(f"cannot connect to {url}: {mysql_error(error).message}", url)
                        ) from None
    except (ValueError, TypeError) as error:  # parameters PyMySQL refuses (a bad socket path)
        raise GateError(redact(f"cannot connect to {url}: {error}", url)) from None


@contextlib.contextmanager
def _mysql_throwaway(url: str, deadline: Any) -> Iterator[Database]:
    name = new_throwaway().name
    connection = _mysql_connect(url, database=None)
    db = MysqlDatabase(connection, url)
    try:
        try:
            try:
                db.execute(f"CREATE DATABASE `{name}`")
            except DbError as error:
                raise GateError(redact(f"cannot create a throwaway database on {url}: "
                                       f"{error.message}", url)) from None
            db.execute(f"USE `{name}`")
            if deadline is not None:
                db.deadline = deadline
                deadline.watch(db)
            yield db
        finally:
            db.deadline = None  # the clean-up runs whatever the time
            with contextlib.suppress(DbError):
                db.execute("ROLLBACK")
            _drop_mysql_database(db, url, name)
    finally:
        connection.close()


def _drop_mysql_database(db: MysqlDatabase, url: str, name: str) -> None:
    """Drop the throwaway database; when a migration (or a signal) lost this connection, on a
    new one, after killing the old one's statement (it would hold the drop up)."""
    try:
        db.execute(f"DROP DATABASE IF EXISTS `{name}`")
    except Exception:  # PyMySQL's state after an interrupted read varies
        fresh = MysqlDatabase(_mysql_connect(url, database=None))
        try:
            with contextlib.suppress(DbError):
                fresh.execute(f"KILL {int(db.connection.thread_id())}")
            fresh.execute(f"DROP DATABASE IF EXISTS `{name}`")
        finally:
            fresh.connection.close()


# --- read-only access for `status` ------------------------------------------------------------


@contextlib.contextmanager
def read_only(url: str) -> Iterator[Database]:
    """The database of `url` inside a read-only transaction, rolled back at the end."""
    parsed = parse_url(url)
    if parsed.dialect == "sqlite":
        from migration_gate.ephemeral.sqlite import read_only_file

        with read_only_file(parsed.sqlite_path) as sqlite_db:
            yield sqlite_db
        return
    db: MysqlDatabase | PostgresDatabase
    if parsed.dialect == "mysql":
        db = MysqlDatabase(_mysql_connect(url))
        begin = ["START TRANSACTION READ ONLY"]
    else:
        from migration_gate.ephemeral.postgres import PostgresDatabase

        db = PostgresDatabase(_pg_connect(url))
        begin = ["BEGIN", "SET TRANSACTION READ ONLY"]
    try:
        for statement in begin:
            db.execute(statement)
        yield db
    except DbError as error:  # a driver's message may echo the connection string
        raise DbError(redact(error.message, url), sqlstate=error.sqlstate, hint=error.hint,
                      detail=error.detail, position=error.position) from None
    finally:
        with contextlib.suppress(DbError):
            db.execute("ROLLBACK")
        db.connection.close()
