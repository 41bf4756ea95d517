"""A real MariaDB for the MySQL server-mode tests: one throwaway server per test session.

`mariadb-install-db` initialises a data folder in a temporary directory and `mariadbd` serves it
on a free loopback port (127.0.0.1 only) and a socket inside that folder; at the end of the
session the server is stopped, the folder deleted, and no `mariadbd` of ours is left running.
Without the binaries the tests are skipped locally but FAIL under CI (`CI=true`).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.pgserver_fixture import _in_ci

#: The account the tests connect with (a password with characters a URL must escape).
USER, PASSWORD = "gate", "s3cret/p@ss"
#: The database the URLs name: it must never be written.
NAMED_DATABASE = "shop"

#: Settings for a fast, throwaway server (nothing here needs to survive a crash).
FAST_SETTINGS = (
    "--innodb-buffer-pool-size=32M",
    "--innodb-log-file-size=8M",
    "--innodb-flush-log-at-trx-commit=0",
    "--innodb-doublewrite=0",
    "--performance-schema=OFF",
    "--skip-log-bin",
    "--skip-name-resolve",
)


@dataclass(frozen=True)
class MariaDbBinaries:
    server: str
    install_db: str


@dataclass(frozen=True)
class MariaDbServer:
    process: subprocess.Popen[bytes]
    folder: Path
    port: int

    @property
    def socket_path(self) -> str:
        return str(self.folder / "sock")

    def url(self, database: str = NAMED_DATABASE, scheme: str = "mysql") -> str:
        return (f"{scheme}://{USER}:{quote(PASSWORD, safe='')}@127.0.0.1:{self.port}/"
                f"{database}")

    def admin(self, database: str | None = None) -> Any:
        """A root connection through the socket, autocommit (the tests' own eyes)."""
        import pymysql

        return pymysql.connect(unix_socket=self.socket_path, user="root", password="",
                               database=database, autocommit=True)

    def query(self, sql: str, database: str | None = None) -> list[tuple[Any, ...]]:
        connection = self.admin(database)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return list(cursor.fetchall())
        finally:
            connection.close()

    def log_tail(self) -> str:
        log = self.folder / "error.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"


def _find(name: str, *fallbacks: str) -> str | None:
    return shutil.which(name) or next((f for f in fallbacks if os.access(f, os.X_OK)), None)


@pytest.fixture(scope="session")
def mariadb_binaries() -> MariaDbBinaries:
    server = _find("mariadbd", "/usr/sbin/mariadbd")
    install_db = _find("mariadb-install-db", "/usr/bin/mariadb-install-db")
    try:
        import pymysql  # noqa: F401
    except ModuleNotFoundError:
        server = None
    if server is None or install_db is None:
        message = ("MariaDB server binaries (mariadbd, mariadb-install-db) and PyMySQL are "
                   "needed: apt-get install mariadb-server; pip install PyMySQL")
        if _in_ci():
            pytest.fail(f"required under CI: {message}")
        pytest.skip(message)
    return MariaDbBinaries(server, install_db)


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _our_servers(folder: Path) -> list[str]:
    """pids of `mariadbd` processes serving `folder`."""
    done = subprocess.run(["pgrep", "-f", f"mariadbd.*{folder}"], capture_output=True,
                          text=True)
    return done.stdout.split()


def _wait_ready(server: MariaDbServer, deadline_s: float = 20.0) -> None:
    import pymysql

    deadline = time.monotonic() + deadline_s
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"mariadbd exited ({server.process.returncode}):\n"
                               f"{server.log_tail()}")
        try:
            server.admin().close()
            return
        except pymysql.MySQLError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"mariadbd not ready:\n{server.log_tail()}") from None
            time.sleep(0.05)


def _stop(server: MariaDbServer) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@pytest.fixture(scope="session")
def mariadb_server(mariadb_binaries: MariaDbBinaries) -> Iterator[MariaDbServer]:
    from migration_gate.ephemeral.workdir import parent_death_signal

    folder = Path(tempfile.mkdtemp(prefix="gate-mariadb-"))
    data = folder / "data"
    user = getpass.getuser()  # mariadbd refuses root unless told `--user=root`
    common = ["--no-defaults", f"--datadir={data}", f"--user={user}", *FAST_SETTINGS]
    server: MariaDbServer | None = None
    try:
        subprocess.run(
            [mariadb_binaries.install_db, *common, "--auth-root-authentication-method=normal",
             "--skip-test-db"],
            check=True, capture_output=True, timeout=60,
        )
        port = _free_loopback_port()
        process = subprocess.Popen(
            [mariadb_binaries.server, *common, f"--socket={folder / 'sock'}",
             f"--pid-file={folder / 'mariadbd.pid'}", f"--log-error={folder / 'error.log'}",
             "--bind-address=127.0.0.1", f"--port={port}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=parent_death_signal(),
        )
        server = MariaDbServer(process, folder, port)
        _wait_ready(server)
        for statement in (
            f"CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'",
            f"GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'127.0.0.1'",
            f"CREATE DATABASE `{NAMED_DATABASE}`",
        ):
            server.query(statement)
        yield server
    finally:
        if server is not None:
            _stop(server)
        leftovers = _our_servers(folder)
        shutil.rmtree(folder, ignore_errors=True)
        assert not leftovers, f"mariadbd still running after the session: {leftovers}"
        assert not folder.exists()


@pytest.fixture
def mariadb_database(mariadb_server: MariaDbServer) -> Iterator[str]:
    """A fresh, empty database on the session server (for prepared histories), dropped after."""
    name = f"test_{os.urandom(4).hex()}"
    mariadb_server.query(f"CREATE DATABASE `{name}`")
    yield name
    with contextlib.suppress(Exception):
        mariadb_server.query(f"DROP DATABASE IF EXISTS `{name}`")
