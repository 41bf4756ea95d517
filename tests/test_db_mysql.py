"""MySQL/MariaDB server mode (`--database-url mysql://...`) against a real MariaDB started by the
tests: the replay in a throwaway database, failures located at their line, refinery's history
table, `status`, and the database named in the URL left untouched."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from migration_gate import refinery
from tests.conftest import Repo, make_repo, seed_migrations
from tests.mariadb_fixture import NAMED_DATABASE, PASSWORD, MariaDbServer
from tests.test_db_status import APPLIED, drifted, project, steps

#: A MariaDB server started for the session: a long integration, outside the fast loop.
pytestmark = pytest.mark.slow


def findings(done: subprocess.CompletedProcess[str], *rules: str) -> list[dict[str, Any]]:
    assert done.stdout.strip().startswith("{"), done.stdout + done.stderr
    diagnostics: list[dict[str, Any]] = json.loads(done.stdout)["diagnostics"]
    return [d for d in diagnostics if not rules or d["rule"] in rules]


def branch_repo(path: Path, files: dict[str, str]) -> Repo:
    """main with V001..V003 (MySQL-valid tables), then `feature` with `files` written."""
    repo = make_repo(path)
    seed_migrations(repo, 3)
    repo.git("checkout", "-q", "-b", "feature")
    for rel, content in files.items():
        repo.write(rel, content)
    return repo


def databases(server: MariaDbServer) -> list[str]:
    return sorted(row[0] for row in server.query("SHOW DATABASES"))


def named_database_tables(server: MariaDbServer) -> list[Any]:
    return server.query(
        "SELECT table_name FROM information_schema.tables "
        f"WHERE table_schema = '{NAMED_DATABASE}'"
    )


@pytest.fixture
def gate_statements(mariadb_server: MariaDbServer) -> Iterator[Callable[[], list[tuple[str, str]]]]:
    """The server's general log, restricted to what the gate's account sent during the test."""
    mariadb_server.query("SET GLOBAL log_output = 'TABLE'")
    mariadb_server.query("TRUNCATE TABLE mysql.general_log")
    mariadb_server.query("SET GLOBAL general_log = 'ON'")

    def read() -> list[tuple[str, str]]:
        rows = mariadb_server.query(
            "SELECT command_type, CONVERT(argument USING utf8mb4) FROM mysql.general_log "
            "WHERE user_host LIKE '%[gate] @ %' ORDER BY event_time"
        )
        return [(str(kind), str(argument)) for kind, argument in rows]

    yield read
    mariadb_server.query("SET GLOBAL general_log = 'OFF'")


# --- verify and check replay in a throwaway database ---------------------------------------------

NOTES = (
    "ALTER TABLE table_1 ADD COLUMN note text;\n"  # needs the base's table_1
    "INSERT INTO table_1 (id, note) VALUES (1, 'replayed');\n"
)


def test_verify_replays_base_and_branch_in_a_throwaway_database(
    tmp_path: Path, mariadb_server: MariaDbServer,
    gate_statements: Callable[[], list[tuple[str, str]]],
) -> None:
    repo = branch_repo(tmp_path / "repo", {"migrations/V004__notes.sql": NOTES})
    before = databases(mariadb_server)
    done = repo.gate("verify", "--base", "main", "--format", "json",
                     "--database-url", mariadb_server.url())
    assert done.returncode == 0, done.stdout + done.stderr
    assert findings(done) == []
    # refinery's log of the branch's run: the base's three were already in the history
    assert "current version: 3\napplying migration: V4__notes\n" in done.stderr

    sent = gate_statements()
    queries = [argument for kind, argument in sent if kind == "Query"]
    created = [q for q in queries if q.startswith("CREATE DATABASE")]
    assert len(created) == 1, queries
    name = re.fullmatch(r"CREATE DATABASE `(migration_gate_\d+_\d+_[0-9a-f]{8})`", created[0])
    assert name is not None, created
    assert f"DROP DATABASE IF EXISTS `{name.group(1)}`" in queries
    assert f"USE `{name.group(1)}`" in queries
    assert refinery.history_table_ddl("mysql").rstrip(";") in queries  # the log drops the `;`
    assert "ALTER TABLE table_1 ADD COLUMN note text" in " ".join(queries)
    # the database named in the URL: never selected, never mentioned, never written
    assert not [a for kind, a in sent if kind == "Init DB"], sent
    assert not [a for a in queries if re.search(rf"\b{NAMED_DATABASE}\b", a)]
    # one connection, opened without selecting any database
    assert [a for kind, a in sent if kind == "Connect"] == ["gate@127.0.0.1 on  using TCP/IP"]
    assert databases(mariadb_server) == before
    assert named_database_tables(mariadb_server) == []


TWO_DDL = (
    "CREATE TABLE t4 (id int PRIMARY KEY);\n"
    "ALTER TABLE table_1 ADD COLUMN note text;\n"  # line 2: a second DDL statement
)
BROKEN = (
    "CREATE TABLE ok5 (id int);\n"
    "ALTER TABLE ok5\n"
    "  ADD COLUMN a int,\n"
    "  ADD COLUMN b int int;\n"  # line 4, column 20: the second `int`
)


def test_check_locates_a_syntax_error_and_keeps_the_mysql_lint(
    tmp_path: Path, mariadb_server: MariaDbServer,
) -> None:
    repo = branch_repo(tmp_path / "repo", {"migrations/V004__two_ddl.sql": TWO_DDL,
                                           "migrations/V005__broken.sql": BROKEN})
    before = databases(mariadb_server)
    done = repo.gate("check", "--base", "main", "--format", "json", "--verify",
                     "--dialect", "mysql",
                     "--database-url", mariadb_server.url(scheme="mariadb"))
    assert done.returncode == 1, done.stdout + done.stderr
    failed = findings(done, "migration-failed")
    assert len(failed) == 1, done.stdout
    assert failed[0]["path"] == "migrations/V005__broken.sql"
    assert (failed[0]["line"], failed[0]["column"]) == (4, 20)
    assert "V5__broken fails: You have an error in your SQL syntax" in failed[0]["message"]
    assert "near 'int' at line 3 (MySQL error 1064)" in failed[0]["message"]
    ddl = findings(done, "mysql-non-transactional-ddl")
    assert [(d["path"], d["line"]) for d in ddl] == [
        ("migrations/V004__two_ddl.sql", 2), ("migrations/V005__broken.sql", 2)]
    assert findings(done, "lock-observed", "rewrite-observed") == []  # PostgreSQL only
    assert databases(mariadb_server) == before  # dropped after a failure too
    assert named_database_tables(mariadb_server) == []


def test_a_runtime_error_points_at_its_line(tmp_path: Path, mariadb_server: MariaDbServer) -> None:
    duplicate = (
        "INSERT INTO table_2 (id) VALUES (1);\n"
        "-- the same key again\n"
        "INSERT INTO table_2 (id)\n"  # line 3
        "    VALUES (1);\n"
    )
    repo = branch_repo(tmp_path / "repo", {"migrations/V004__dup.sql": duplicate})
    done = repo.gate("verify", "--base", "main", "--format", "json",
                     "--database-url", mariadb_server.url())
    assert done.returncode == 1, done.stdout + done.stderr
    [failed] = findings(done, "migration-failed")
    assert (failed["line"], failed["column"], failed["end_line"]) == (3, 1, 4)
    assert "Duplicate entry '1' for key 'PRIMARY' (MySQL error 1062)" in failed["message"]


def test_a_lost_connection_still_drops_the_throwaway_database(
    tmp_path: Path, mariadb_server: MariaDbServer,
    gate_statements: Callable[[], list[tuple[str, str]]],
) -> None:
    killer = "CREATE TABLE t4 (id int);\nKILL CONNECTION_ID();\n"
    repo = branch_repo(tmp_path / "repo", {"migrations/V004__kill.sql": killer})
    before = databases(mariadb_server)
    done = repo.gate("verify", "--base", "main", "--format", "json",
                     "--database-url", mariadb_server.url())
    assert done.returncode == 1, done.stdout + done.stderr
    [failed] = findings(done, "migration-failed")
    assert failed["line"] == 2 and "(MySQL error 1927)" in failed["message"]
    sent = gate_statements()
    assert [kind for kind, _ in sent].count("Connect") == 2  # the drop needed a new connection
    assert [a for kind, a in sent if a.startswith("DROP DATABASE")][-1:] == [
        a.replace("CREATE DATABASE", "DROP DATABASE IF EXISTS") for kind, a in sent
        if a.startswith("CREATE DATABASE")]
    assert databases(mariadb_server) == before


def test_a_wrong_password_is_one_line_without_the_password(
    tmp_path: Path, mariadb_server: MariaDbServer,
) -> None:
    repo = branch_repo(tmp_path / "repo", {"migrations/V004__notes.sql": NOTES})
    url = mariadb_server.url().replace("s3cret", "wrong")
    done = repo.gate("verify", "--base", "main", "--database-url", url)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
    assert "Access denied for user 'gate'" in done.stderr and "(MySQL error 1045)" in done.stderr
    assert "gate:***@127.0.0.1" in done.stderr and "wrong" not in done.stderr
    bad_port = repo.gate("verify", "--base", "main", "--database-url", "mysql://u@h:nope/db")
    assert bad_port.returncode == 2 and "Traceback" not in bad_port.stderr
    assert "invalid port in the database URL mysql://u@h:nope/db" in bad_port.stderr


# --- refinery's history table, written by the runner --------------------------------------------


def connect(server: MariaDbServer, database: str) -> Any:
    from migration_gate.ephemeral.server import MysqlDatabase, _mysql_connect

    return MysqlDatabase(_mysql_connect(server.url(database)))


def create_table(server: MariaDbServer, database: str, table: str) -> str:
    rows = server.query(f"SHOW CREATE TABLE `{table}`", database)
    return str(rows[0][1]).replace(f"`{table}`", "`t`", 1)


@pytest.mark.parametrize("int8", [False, True])
def test_history_table_and_rows_round_trip(mariadb_server: MariaDbServer, mariadb_database: str,
                                           int8: bool) -> None:
    from migration_gate.runner import read_history, run

    db = connect(mariadb_server, mariadb_database)
    try:
        started = datetime.now(timezone.utc)
        report = run(db, steps(APPLIED), table="custom_history", int8=int8)
        assert report.failure is None and len(report.applied) == 4
        # exactly the DDL of docs/refinery.md#history-table, as MariaDB stores it
        version_type = "int8" if int8 else "int4"
        mariadb_server.query(
            "CREATE TABLE reference_history(\n"
            f"             version {version_type} PRIMARY KEY,\n"
            "             name VARCHAR(255),\n"
            "             applied_on VARCHAR(255),\n"
            "             checksum VARCHAR(255));", mariadb_database)
        assert create_table(mariadb_server, mariadb_database, "custom_history") == create_table(
            mariadb_server, mariadb_database, "reference_history")
        columns = mariadb_server.query(
            "SELECT column_name, column_type, column_key FROM information_schema.columns "
            f"WHERE table_schema = '{mariadb_database}' AND table_name = 'custom_history' "
            "ORDER BY ordinal_position")
        assert [(str(n), str(t), str(k)) for n, t, k in columns] == [
            ("version", "bigint(20)" if int8 else "int(11)", "PRI"),
            ("name", "varchar(255)", ""), ("applied_on", "varchar(255)", ""),
            ("checksum", "varchar(255)", "")]
        rows = mariadb_server.query(
            "SELECT version, name, applied_on, checksum FROM custom_history ORDER BY version",
            mariadb_database)
        for (version, name, applied_on, checksum), (file_name, sql) in zip(
                rows, APPLIED.items(), strict=True):
            assert f"V{version}__{name}.sql" == file_name
            # `steps` reads the files with the default (int4) checksum, whatever the column
            assert checksum == str(refinery.checksum(name, version, sql.encode()))
            parsed = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{0,8}[1-9]))?Z",
                                  applied_on)
            assert parsed is not None, applied_on  # refinery's RFC 3339, zeros stripped
            moment = datetime.fromisoformat(parsed[1]).replace(tzinfo=timezone.utc) + timedelta(
                microseconds=int((parsed[2] or "0").ljust(9, "0")[:6]))
            assert started - timedelta(seconds=1) <= moment <= datetime.now(timezone.utc)
        back = read_history(db, "custom_history")
        assert [(a.version, a.name, str(a.checksum), a.applied_on) for a in back] == [
            (int(v), n, c, a) for v, n, a, c in rows]
        again = run(db, steps(APPLIED), table="custom_history", int8=int8)
        assert again.applied == [] and again.plan.issues == ()
        assert again.log == ["current version: 4", "no migrations to apply"]
    finally:
        db.connection.close()


# --- status --------------------------------------------------------------------------------------


def test_status_against_a_prepared_history(tmp_path: Path, mariadb_server: MariaDbServer,
                                           mariadb_database: str) -> None:
    from migration_gate.runner import run

    db = connect(mariadb_server, mariadb_database)
    try:
        assert run(db, steps(APPLIED)).failure is None
    finally:
        db.connection.close()
    history = "SELECT * FROM refinery_schema_history ORDER BY version"
    before = mariadb_server.query(history, mariadb_database)
    root = drifted(tmp_path)
    url = mariadb_server.url(mariadb_database)
    from tests.conftest import run_gate

    done = run_gate("status", "--database-url", url, "--format", "json", cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert summary["database"] == url.replace(PASSWORD.replace("/", "%2F").replace("@", "%40"),
                                              "***")
    assert summary["current_version"] == 4
    assert [row["checksum"] for row in summary["applied"]] == [str(row[3]) for row in before]
    assert [row["display"] for row in summary["pending"]] == ["V5__five", "V6__six"]
    assert [row["message"] for row in summary["divergent"]] == [
        "applied migration V2__emails is different than filesystem one V2__emails"]
    assert [row["message"] for row in summary["missing"]] == [
        "migration V3__orders is missing from the filesystem"]
    assert [row["message"] for row in summary["out_of_order"]] == [
        "migration V0__early is missing from the filesystem"]
    text = run_gate("status", "--database-url", url, cwd=root)
    assert text.returncode == 1
    assert "4 applied, 2 pending, 1 divergent, 1 missing, 1 out-of-order" in text.stdout
    assert mariadb_server.query(history, mariadb_database) == before  # read-only


def test_status_on_an_empty_database_creates_nothing(
    tmp_path: Path, mariadb_server: MariaDbServer, mariadb_database: str,
) -> None:
    from tests.conftest import run_gate

    root = project(tmp_path, APPLIED)
    # through the server's Unix socket, as refinery's mysql driver reads `?socket=`
    url = f"mysql://root@localhost/{mariadb_database}?socket={mariadb_server.socket_path}"
    done = run_gate("status", "--database-url", url, "--format", "json", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert summary["table_exists"] is False and len(summary["pending"]) == 4
    assert mariadb_server.query("SHOW TABLES", mariadb_database) == []


def test_status_transaction_refuses_to_write(mariadb_server: MariaDbServer,
                                             mariadb_database: str) -> None:
    from migration_gate.ephemeral.server import read_only
    from migration_gate.runner import DbError

    mariadb_server.query("CREATE TABLE kept (id int)", mariadb_database)
    with read_only(mariadb_server.url(mariadb_database)) as db:
        with pytest.raises(DbError) as raised:
            db.execute("INSERT INTO kept VALUES (1)")
        assert "(MySQL error 1792)" in raised.value.message
    assert mariadb_server.query("SELECT COUNT(*) FROM kept", mariadb_database) == [(0,)]
