"""`status`: a read-only comparison of a live history table with the folder."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from migration_gate.ephemeral.postgres import Cluster, PostgresDatabase
from migration_gate.ephemeral.sqlite import SqliteDatabase
from migration_gate.migrations import MigrationFile
from migration_gate.runner import Runnable, run, runnables
from tests.conftest import one_line_error, run_gate
from tests.pgserver_fixture import pg_url

APPLIED = {
    "V1__users.sql": "CREATE TABLE users (id int);\n",
    "V2__emails.sql": "ALTER TABLE users ADD COLUMN email text;\n",
    "V3__orders.sql": "CREATE TABLE orders (id int);\n",
    "V4__index.sql": "CREATE INDEX users_id ON users (id);\n",
}


def steps(files: dict[str, str]) -> list[Runnable]:
    return runnables(MigrationFile(path=f"migrations/{n}", rel=n, content=c.encode())
                     for n, c in files.items())


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "project"
    (root / "migrations").mkdir(parents=True)
    for name, content in files.items():
        (root / "migrations" / name).write_text(content)
    return root


def drifted(tmp_path: Path) -> Path:
    """The folder after drift: V2 edited, V3 deleted, V0 below current, V5 and V6 pending."""
    files = dict(APPLIED)
    files["V2__emails.sql"] = "ALTER TABLE users ADD COLUMN email varchar(200);\n"
    del files["V3__orders.sql"]
    files["V0__early.sql"] = "SELECT 1;\n"
    files["V5__five.sql"] = "SELECT 5;\n"
    files["V6__six.sql"] = "SELECT 6;\n"
    return project(tmp_path, files)


def history_rows(db: PostgresDatabase) -> list[tuple[Any, ...]]:
    return db.query("SELECT version, name, applied_on, checksum FROM refinery_schema_history "
                    "ORDER BY version")


@pytest.mark.slow
def test_status_reports_divergent_missing_and_pending(
    tmp_path: Path, pg_cluster: Cluster, pg_db: PostgresDatabase, pg_dbname: str,
) -> None:
    assert run(pg_db, steps(APPLIED)).failure is None
    before = history_rows(pg_db)
    root = drifted(tmp_path)
    url = pg_url(pg_cluster, pg_dbname)
    done = run_gate("status", "--database-url", url, "--format", "json", cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert summary["current_version"] == 4
    assert [row["version"] for row in summary["applied"]] == [1, 2, 3, 4]
    assert [row["display"] for row in summary["pending"]] == ["V5__five", "V6__six"]
    assert [row["message"] for row in summary["divergent"]] == [
        "applied migration V2__emails is different than filesystem one V2__emails"
    ]
    assert [row["message"] for row in summary["missing"]] == [
        "migration V3__orders is missing from the filesystem"
    ]
    assert [row["message"] for row in summary["out_of_order"]] == [
        "migration V0__early is missing from the filesystem"
    ]
    text = run_gate("status", "--database-url", url, cwd=root)
    assert text.returncode == 1
    assert "current version: 4" in text.stdout
    assert "4 applied, 2 pending, 1 divergent, 1 missing, 1 out-of-order" in text.stdout
    assert "  pending: V5__five  (migrations/V5__five.sql)" in text.stdout
    assert history_rows(pg_db) == before  # read-only


@pytest.mark.slow
def test_status_in_sync_exits_0_and_creates_nothing(
    tmp_path: Path, pg_cluster: Cluster, pg_db: PostgresDatabase, pg_dbname: str,
) -> None:
    root = project(tmp_path, APPLIED)
    url = pg_url(pg_cluster, pg_dbname)
    empty = run_gate("status", "--database-url", url, "--format", "json", cwd=root)
    assert empty.returncode == 0, empty.stderr
    summary = json.loads(empty.stdout)
    assert summary["table_exists"] is False and len(summary["pending"]) == 4
    tables = pg_db.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    assert tables == []  # status never creates the history table
    run(pg_db, steps(APPLIED))
    (root / ".env").write_text(f"# local settings\nDATABASE_URL='{url}'\n")
    synced = run_gate("status", cwd=root)  # the URL comes from .env
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert "4 applied, 0 pending, 0 divergent, 0 missing" in synced.stdout


def test_status_refuses_to_write(pg_cluster: Cluster, pg_db: PostgresDatabase,
                                 pg_dbname: str) -> None:
    """The transaction `status` uses is read-only: a write in it fails."""
    from migration_gate.ephemeral.server import read_only
    from migration_gate.runner import DbError

    with read_only(pg_url(pg_cluster, pg_dbname)) as db:
        try:
            db.execute("CREATE TABLE sneaky (id int)")
        except DbError as error:
            assert error.sqlstate == "25006"
        else:
            raise AssertionError("a write succeeded in the read-only transaction")


def test_status_reads_sqlite_named_in_refinery_toml(tmp_path: Path) -> None:
    root = drifted(tmp_path)
    (root / "refinery.toml").write_text('[main]\ndb_type = "Sqlite"\ndb_path = "./app.db"\n')
    connection = sqlite3.connect(root / "app.db", isolation_level=None)
    run(SqliteDatabase(connection), steps(APPLIED))
    connection.close()
    before = (root / "app.db").read_bytes()
    done = run_gate("status", "--format", "json", cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert summary["database"].endswith("app.db")
    assert len(summary["divergent"]) == 1 and len(summary["missing"]) == 1
    assert (root / "app.db").read_bytes() == before


def test_status_without_any_database_named(tmp_path: Path) -> None:
    root = project(tmp_path, APPLIED)
    done = run_gate("status", cwd=root, env={"DATABASE_URL": ""})
    assert done.returncode == 2
    assert "pass --database-url" in done.stderr and "Traceback" not in done.stderr


def test_urls_from_refinery_toml_and_dotenv(tmp_path: Path) -> None:
    from migration_gate.commands.status import read_dotenv, refinery_toml_url
    from migration_gate.ephemeral.server import _mysql_params, parse_url, redact

    main = {"db_type": "Postgres", "db_host": "db.internal", "db_port": "5433",
            "db_user": "app", "db_pass": "p@ss word", "db_name": "shop"}
    assert refinery_toml_url(main, tmp_path) == "postgres://app:p%40ss%20word@db.internal:5433/shop"
    assert refinery_toml_url({"db_type": "Sqlite", "db_path": "./app.db"}, tmp_path) == (
        f"sqlite://{tmp_path.as_posix()}/app.db")
    assert parse_url("sqlite://./x.db").sqlite_path == "./x.db"
    assert redact("postgres://app:secret@h/db") == "postgres://app:***@h/db"
    params = _mysql_params("mysql://root:s%40cret@db:3307/app")
    assert (params["host"], params["port"], params["user"], params["password"],
            params["database"]) == ("db", 3307, "root", b"s@cret", "app")
    env = tmp_path / ".env"
    env.write_text("# c\nexport DATABASE_URL=\"postgres://a@b/c\"\nOTHER=x # note\n")
    assert read_dotenv(env) == {"DATABASE_URL": "postgres://a@b/c", "OTHER": "x"}


# --- a history refinery cannot read ------------------------------------------------------------


def make_history(db: Any, columns: str, rows: list[str]) -> None:
    """A history table with the given column types and rows (SQL value lists)."""
    db.execute(f"CREATE TABLE refinery_schema_history ({columns})")
    for values in rows:
        db.execute(f"INSERT INTO refinery_schema_history VALUES ({values})")


REFINERY_COLUMNS = ("version int4 PRIMARY KEY, name varchar(255), applied_on varchar(255), "
                    "checksum varchar(255)")
APPLIED_ON = "'2024-05-04T09:02:41Z'"


@pytest.mark.parametrize(("columns", "rows", "needles"), [
    pytest.param(
        "version text PRIMARY KEY, name varchar(255), applied_on varchar(255), checksum numeric",
        [f"'{v}', 'm{v}', {APPLIED_ON}, {v}" for v in range(1, 9)],
        ["row 1 (version '1', name 'm1')", "column version is text", "integer"],
        id="text-version-numeric-checksum"),
    pytest.param(
        "version text PRIMARY KEY, name varchar(255), applied_on varchar(255), "
        "checksum varchar(255)",
        [f"'abc', 'x', {APPLIED_ON}, '1'"],
        ["row 1 (version 'abc', name 'x')", "column version is text"],
        id="text-version-not-a-number"),
    pytest.param(
        "version int4 PRIMARY KEY, name varchar(255), applied_on varchar(255), checksum numeric",
        [f"1, 'one', {APPLIED_ON}, 5"],
        ["row 1 (version 1, name 'one')", "column checksum is numeric", "text"],
        id="numeric-checksum"),
    pytest.param(
        REFINERY_COLUMNS,
        [f"{v}, {'NULL' if v == 4 else repr(f'm{v}')}, {APPLIED_ON}, '1'" for v in range(1, 6)],
        ["row 4 (version 4)", "name is NULL"],
        id="null-name"),
    pytest.param(
        "version int4 PRIMARY KEY, name varchar(255), applied_on timestamptz, "
        "checksum varchar(255)",
        [f"1, 'one', {APPLIED_ON}, '1'"],
        ["row 1 (version 1, name 'one')", "column applied_on is timestamp with time zone"],
        id="timestamp-applied-on"),
    pytest.param(
        "version int8 PRIMARY KEY, name varchar(255), applied_on varchar(255), "
        "checksum varchar(255)",
        [f"1, 'one', {APPLIED_ON}, '1'"],
        ["column version is bigint", "integer"],
        id="int8-without-int8-versions"),
    pytest.param(
        REFINERY_COLUMNS, [f"1, 'one', {APPLIED_ON}, 'not a number'"],
        ["row 1 (version 1, name 'one')", "checksum 'not a number' is not a u64"],
        id="checksum-text"),
])
@pytest.mark.slow
def test_an_unreadable_history_is_one_clear_error(
    tmp_path: Path, pg_cluster: Any, pg_db: Any, pg_dbname: str, columns: str,
    rows: list[str], needles: list[str],
) -> None:
    make_history(pg_db, columns, rows)
    root = project(tmp_path, APPLIED)
    url = pg_url(pg_cluster, pg_dbname)
    for fmt in ("text", "json"):
        done = run_gate("status", "--database-url", url, "--format", fmt, cwd=root)
        assert done.stdout == ""  # no "8 applied": nothing is reported from an unreadable history
        line = one_line_error(done, "refinery_schema_history", "refinery cannot read", *needles)
        assert "None" not in line


def test_a_history_table_without_a_column_is_named(tmp_path: Path, pg_cluster: Any,
                                                   pg_db: Any, pg_dbname: str) -> None:
    make_history(pg_db, "version int4 PRIMARY KEY, name varchar(255), applied_on varchar(255)",
                 [f"1, 'one', {APPLIED_ON}"])
    done = run_gate("status", "--database-url", pg_url(pg_cluster, pg_dbname),
                    cwd=project(tmp_path, APPLIED))
    one_line_error(done, "refinery_schema_history has no column checksum")


def test_int8_versions_read_a_bigint_history(tmp_path: Path, pg_cluster: Any, pg_db: Any,
                                             pg_dbname: str) -> None:
    make_history(pg_db, "version int8 PRIMARY KEY, name varchar(255), applied_on varchar(255), "
                 "checksum varchar(255)", [f"1, 'users', {APPLIED_ON}, '1'"])
    root = project(tmp_path, {"V1__users.sql": APPLIED["V1__users.sql"]})
    (root / ".migration-gate.yaml").write_text("int8-versions: true\n")
    done = run_gate("status", "--database-url", pg_url(pg_cluster, pg_dbname), "--format",
                    "json", cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr  # read; its checksum differs
    assert [row["version"] for row in json.loads(done.stdout)["applied"]] == [1]
