"""Server mode: a throwaway database on a server the user names with `--database-url`.

The database named in the URL is only used to connect: the work happens in a new database with a
random name (PostgreSQL: `CREATE DATABASE ... TEMPLATE template0`; MySQL/MariaDB: `CREATE
DATABASE`), dropped on every exit path. MariaDB/MySQL DDL is not transactional, so that throwaway
database is the only safety there. `read_only` opens the named database for `status`, inside a
read-only transaction that is rolled back.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from migration_gate.diagnostics import GateError
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
        raise GateError(
            f"unsupported database URL scheme {scheme or url!r}: use postgres://, mysql:// "
            "or sqlite://"
        )
    if dialect == "mssql":
        raise GateError("SQL Server URLs are not supported (no driver); use --no-verify")
    return DatabaseUrl(url, dialect)


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()


def throwaway_name() -> str:
    return f"migration_gate_{secrets.token_hex(6)}"


@contextlib.contextmanager
def throwaway_database(url: str) -> Iterator[Database]:
    """A new, empty database on the server of `url`, dropped afterwards."""
    parsed = parse_url(url)
    if parsed.dialect == "sqlite":
        from migration_gate.ephemeral.sqlite import memory_database

        with memory_database() as db:
            yield db
        return
    if parsed.dialect == "mysql":
        with _mysql_throwaway(url) as db:
            yield db
        return
    with _postgres_throwaway(url) as db:
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
        raise GateError(f"cannot connect to {redact(url)}: {first}") from None


@contextlib.contextmanager
def _postgres_throwaway(url: str) -> Iterator[Database]:
    from migration_gate.ephemeral.postgres import PostgresDatabase

    name = throwaway_name()
    admin = PostgresDatabase(_pg_connect(url))
    try:
        try:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        except DbError as error:
            raise GateError(f"cannot create a throwaway database on {redact(url)}: "
                            f"{error.message}") from None
        try:
            connection = _pg_connect(url, dbname=name)
            connection.execute("SET statement_timeout = '120s'")  # never hang on a statement
            try:
                yield PostgresDatabase(connection)
            finally:
                connection.close()
        finally:
            drop_postgres_database(admin, name)
    finally:
        admin.close()


def drop_postgres_database(admin: Any, name: str) -> None:
    try:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except DbError:  # before PostgreSQL 13
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


# --- MySQL / MariaDB (PyMySQL, extra `mysql`) --------------------------------------------------


class MysqlDatabase:
    dialect: Dialect = "mysql"

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def execute(self, sql: str) -> None:
        self.query(sql)

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        import pymysql

        try:
            with self.connection.cursor() as cursor:
                cursor.execute(sql, tuple(params) if params else None)
                return list(cursor.fetchall())
        except pymysql.MySQLError as error:
            raise mysql_error(error, sql if not params else None) from None


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
        "password": unquote(parts.password or ""),
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
        raise GateError(f"cannot connect to {redact(url)}: {mysql_error(error).message}"
                        ) from None


@contextlib.contextmanager
def _mysql_throwaway(url: str) -> Iterator[Database]:
    name = throwaway_name()
    connection = _mysql_connect(url, database=None)
    db = MysqlDatabase(connection)
    try:
        try:
            db.execute(f"CREATE DATABASE `{name}`")
        except DbError as error:
            raise GateError(f"cannot create a throwaway database on {redact(url)}: "
                            f"{error.message}") from None
        try:
            db.execute(f"USE `{name}`")
            yield db
        finally:
            with contextlib.suppress(DbError):
                db.execute("ROLLBACK")
            _drop_mysql_database(db, url, name)
    finally:
        connection.close()


def _drop_mysql_database(db: MysqlDatabase, url: str, name: str) -> None:
    """Drop the throwaway database, on a new connection when a migration lost this one."""
    try:
        db.execute(f"DROP DATABASE IF EXISTS `{name}`")
    except DbError:
        fresh = MysqlDatabase(_mysql_connect(url, database=None))
        try:
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
    finally:
        with contextlib.suppress(DbError):
            db.execute("ROLLBACK")
        db.connection.close()
