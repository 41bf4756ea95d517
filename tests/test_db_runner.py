"""The refinery-compatible runner on a real PostgreSQL and on SQLite: history table, round trips,
per-migration transactions, grouped, fake, target, failures located at their statement."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migration_gate import refinery
from migration_gate.ephemeral.postgres import PostgresDatabase
from migration_gate.ephemeral.sqlite import memory_database
from migration_gate.migrations import MigrationFile
from migration_gate.refinery import Prefix
from migration_gate.runner import (
    Database,
    Runnable,
    history_exists,
    read_history,
    run,
    runnables,
)
from tests.conftest import DATA

GOLDEN = DATA / "refinery-checksums.json"


def step(version: int, name: str, sql: str, prefix: str = "V") -> Runnable:
    file = MigrationFile(
        path=f"migrations/{prefix}{version}__{name}.sql", rel=f"{prefix}{version}__{name}.sql",
        content=sql.encode(),
    )
    found = runnables([file])
    assert found, file
    return found[0]


def table_names(db: Database) -> set[str]:
    if db.dialect == "sqlite":
        return {r[0] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return {r[0] for r in db.query(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


# --- the history table ------------------------------------------------------------------------


def test_history_table_has_refinerys_columns_on_postgres(pg_db: PostgresDatabase) -> None:
    run(pg_db, [])
    columns = pg_db.query(
        "SELECT column_name, data_type, character_maximum_length FROM information_schema.columns "
        "WHERE table_name = 'refinery_schema_history' ORDER BY ordinal_position"
    )
    assert columns == [
        ("version", "integer", None),
        ("name", "character varying", 255),
        ("applied_on", "character varying", 255),
        ("checksum", "character varying", 255),
    ]
    primary = pg_db.query(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'refinery_schema_history'::regclass "
        "AND i.indisprimary"
    )
    assert primary == [("version",)]


def test_int8_versions_and_custom_table_name(pg_db: PostgresDatabase) -> None:
    run(pg_db, [step(3_000_000_000 % 2**31, "big", "SELECT 1")], table="my_history", int8=True)
    kind = pg_db.query("SELECT data_type FROM information_schema.columns "
                       "WHERE table_name = 'my_history' AND column_name = 'version'")
    assert kind == [("bigint",)]
    assert "refinery_schema_history" not in table_names(pg_db)


def test_checksums_and_applied_on_round_trip_on_postgres(pg_db: PostgresDatabase) -> None:
    steps = [step(1, "create_users", "CREATE TABLE users (id bigint PRIMARY KEY);\n"),
             step(2, "add_email", "ALTER TABLE users ADD COLUMN email text;\n")]
    before = datetime.now(timezone.utc)
    report = run(pg_db, steps)
    assert report.failure is None
    assert [s.display for s in report.applied] == ["V1__create_users", "V2__add_email"]
    applied = read_history(pg_db, refinery.DEFAULT_TABLE)
    assert [(a.version, a.name, a.checksum) for a in applied] == [
        (s.migration.version, s.migration.name, s.migration.checksum) for s in steps
    ]
    for row in applied:
        assert refinery.is_valid_applied_on(row.applied_on)
        assert row.applied_on.endswith("Z")
        seconds = datetime.fromisoformat(row.applied_on[:19]).replace(tzinfo=timezone.utc)
        assert (seconds - before).total_seconds() > -1
    # the second run has nothing to do, exactly like refinery
    again = run(pg_db, steps)
    assert again.applied == [] and again.log[-1] == "no migrations to apply"
    assert again.log[0] == "current version: 2"


@pytest.mark.parametrize("case", json.loads(GOLDEN.read_text())["vectors"],
                         ids=lambda case: case["name"])
def test_golden_checksums_survive_the_history_table(pg_db: PostgresDatabase,
                                                   case: dict[str, Any]) -> None:
    """Checksums that refinery itself produced, written and read back as decimal text."""
    version, name, sql = case["version"], case["name"], case["sql"]
    migration = step(version, name, sql)
    assert migration.migration.checksum == int(case["checksum"])
    report = run(pg_db, [migration])
    assert report.failure is None
    stored = pg_db.query("SELECT version, name, checksum FROM refinery_schema_history")
    assert stored == [(version, name, case["checksum"])]
    (row,) = read_history(pg_db, refinery.DEFAULT_TABLE)
    assert row.checksum == int(case["checksum"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31),
                    timezones=st.just(timezone.utc)))
def test_applied_on_round_trips_through_sqlite(moment: datetime) -> None:
    from migration_gate.runner import history_row

    with memory_database() as db:
        run(db, [])
        migration = refinery.Migration(Prefix.VERSIONED, 1, "x", 42)
        db.query(refinery.history_insert(), history_row(migration, moment))
        (row,) = read_history(db, refinery.DEFAULT_TABLE)
    assert refinery.is_valid_applied_on(row.applied_on)
    assert row.applied_on == refinery.format_applied_on(moment)
    assert row.checksum == 42


# --- transactions, modes ----------------------------------------------------------------------


def test_failing_migration_is_rolled_back_and_unrecorded(pg_db: PostgresDatabase) -> None:
    steps = [
        step(1, "one", "CREATE TABLE a (id int);"),
        step(2, "two", "CREATE TABLE b (id int);\nCREATE TABLE c (id int);\n\nSELEC oops;\n"),
        step(3, "three", "CREATE TABLE d (id int);"),
    ]
    report = run(pg_db, steps)
    assert report.failure is not None
    assert report.failure.step.display == "V2__two"
    assert (report.failure.line, report.failure.column) == (4, 1)
    assert report.failure.error.sqlstate == "42601"
    assert table_names(pg_db) == {"a", "refinery_schema_history"}  # b and c rolled back
    assert [a.version for a in read_history(pg_db, refinery.DEFAULT_TABLE)] == [1]


def test_keep_going_runs_the_later_migrations_as_if_the_failed_one_were_fixed(
        pg_db: PostgresDatabase) -> None:
    steps = [
        step(1, "one", "CREATE TABLE a (id int);"),
        step(2, "two", "CREATE TABLE b (id int);\nSELEC oops;\n"),
        step(3, "three", "CREATE TABLE d (id int);"),
        step(4, "four", "ALTER TABLE b ADD COLUMN x int;"),
        step(5, "five", "CREATE TABLE e (id int);"),
    ]
    report = run(pg_db, steps, keep_going=lambda failure: failure.step.display != "V4__four")
    assert [f.step.display for f in report.failures] == ["V2__two", "V4__four"]
    assert report.failure is report.failures[0]
    assert report.failures[1].error.sqlstate == "42P01"  # b: V2's, rolled back
    assert [s.display for s in report.not_run] == ["V5__five"]  # keep_going said stop
    assert table_names(pg_db) == {"a", "d", "refinery_schema_history"}
    assert [a.version for a in read_history(pg_db, refinery.DEFAULT_TABLE)] == [1, 3]


def test_server_error_position_refines_the_column(pg_db: PostgresDatabase) -> None:
    sql = "CREATE TABLE t (\n    id bigint,\n    bad no_such_type\n);\n"
    report = run(pg_db, [step(1, "t", sql)])
    assert report.failure is not None
    assert report.failure.error.sqlstate == "42704"
    assert (report.failure.line, report.failure.column) == (3, 9)


def test_create_index_concurrently_fails_like_under_refinery(pg_db: PostgresDatabase) -> None:
    steps = [step(1, "t", "CREATE TABLE t (id int);"),
             step(2, "idx", "-- an index\nCREATE INDEX CONCURRENTLY t_id ON t (id);\n")]
    report = run(pg_db, steps)
    assert report.failure is not None
    assert report.failure.error.sqlstate == "25001"
    assert "transaction block" in report.failure.error.message
    assert (report.failure.line, report.failure.column) == (2, 1)


def test_grouped_run_is_one_transaction(pg_db: PostgresDatabase) -> None:
    steps = [step(1, "one", "CREATE TABLE a (id int);"),
             step(2, "two", "CREATE TABLE b (id int); SELEC 1;")]
    report = run(pg_db, [*steps, step(3, "three", "SELECT 1;")], grouped=True,
                 keep_going=lambda _failure: True)
    assert report.failure is not None
    assert [s.display for s in report.not_run] == ["V3__three"]  # its rollback undid all
    assert "going to apply batch migrations in single transaction." in report.log
    assert table_names(pg_db) == {"refinery_schema_history"}  # V1 rolled back too
    assert read_history(pg_db, refinery.DEFAULT_TABLE) == []


def test_fake_records_history_without_running_sql(pg_db: PostgresDatabase) -> None:
    steps = [step(1, "one", "CREATE TABLE a (id int);"), step(2, "two", "SELEC broken;")]
    report = run(pg_db, steps, fake=True)
    assert report.failure is None
    assert report.log == [
        "schema history table is empty, going to apply all migrations",
        "applying migration: V1__one",
        "applying migration: V2__two",
        "not going to apply any migration as fake flag is enabled.",
    ]
    assert table_names(pg_db) == {"refinery_schema_history"}
    assert [a.display for a in read_history(pg_db, refinery.DEFAULT_TABLE)] == ["V1__one",
                                                                               "V2__two"]


def test_target_and_fake_up_to_version(pg_db: PostgresDatabase) -> None:
    steps = [step(v, f"m{v}", f"CREATE TABLE t{v} (id int);") for v in (1, 2, 3, 4)]
    run(pg_db, steps, target=2)
    assert table_names(pg_db) == {"t1", "t2", "refinery_schema_history"}
    run(pg_db, steps, target=3, fake=True)
    assert [a.version for a in read_history(pg_db, refinery.DEFAULT_TABLE)] == [1, 2, 3]
    report = run(pg_db, steps)
    assert [s.display for s in report.applied] == ["V4__m4"]
    assert "t3" not in table_names(pg_db)  # faked, never run


def test_divergent_and_missing_are_reported_and_never_applied(pg_db: PostgresDatabase) -> None:
    run(pg_db, [step(v, f"m{v}", f"CREATE TABLE t{v} (id int);") for v in (1, 2, 3, 5)])
    local = [
        step(1, "m1", "CREATE TABLE t1 (id int);"),
        step(2, "m2", "CREATE TABLE t2 (id bigint);"),  # edited: divergent
        step(4, "late", "CREATE TABLE t4 (id int);"),  # below current 5: missing, skipped
        step(5, "m5", "CREATE TABLE t5 (id int);"),
        step(6, "m6", "CREATE TABLE t6 (id int);"),
    ]  # V3 deleted: missing
    report = run(pg_db, local)
    messages = [issue.message for issue in report.plan.issues]
    assert messages == [
        "applied migration V2__m2 is different than filesystem one V2__m2",
        "migration V3__m3 is missing from the filesystem",
        "migration V4__late is missing from the filesystem",
    ]
    assert [s.display for s in report.applied] == ["V6__m6"]


def test_unversioned_migration_below_current_runs_out_of_order(pg_db: PostgresDatabase) -> None:
    run(pg_db, [step(5, "five", "SELECT 1")])
    report = run(pg_db, [step(5, "five", "SELECT 1"), step(3, "repeatable", "SELECT 2", "U")])
    assert [s.display for s in report.applied] == ["U3__repeatable"]
    assert report.plan.issues == ()


# --- SQLite -----------------------------------------------------------------------------------


def test_sqlite_runner_applies_and_records() -> None:
    with memory_database() as db:
        second = "CREATE TABLE b (id INTEGER);\nINSERT INTO nope VALUES (1);"
        report = run(db, [step(1, "a", "CREATE TABLE a (id INTEGER PRIMARY KEY);"),
                          step(2, "b", second)])
        assert report.failure is not None
        assert report.failure.step.display == "V2__b"
        assert report.failure.line == 2
        assert "no such table" in report.failure.error.message
        assert table_names(db) == {"a", "refinery_schema_history"}
        assert history_exists(db, refinery.DEFAULT_TABLE)
        assert [a.version for a in read_history(db, refinery.DEFAULT_TABLE)] == [1]


def test_history_exists_on_postgres(pg_db: PostgresDatabase) -> None:
    assert not history_exists(pg_db, refinery.DEFAULT_TABLE)
    run(pg_db, [])
    assert history_exists(pg_db, refinery.DEFAULT_TABLE)


@pytest.mark.parametrize("bad", [("V1", "not-a-number", "2024-01-01T00:00:00Z"),
                                 ("V1", "12", "yesterday")])
def test_unreadable_history_rows_are_refused(pg_db: PostgresDatabase,
                                            bad: tuple[str, str, str]) -> None:
    from migration_gate.runner import HistoryRowError

    run(pg_db, [])
    pg_db.query("INSERT INTO refinery_schema_history VALUES (1, 'x', %s, %s)", (bad[2], bad[1]))
    with pytest.raises(HistoryRowError):
        read_history(pg_db, refinery.DEFAULT_TABLE)


def test_two_files_with_one_version_fail_on_the_history_key(pg_db: PostgresDatabase) -> None:
    """refinery runs both; the second one's SQL commits, then its history row fails."""
    report = run(pg_db, [step(1, "a", "CREATE TABLE a (id int);"),
                         step(1, "b", "CREATE TABLE b (id int);")])
    assert report.failure is not None
    assert report.failure.step.display == "V1__b"
    assert report.failure.error.sqlstate == "23505"
    assert "b" in table_names(pg_db)  # committed before the history row failed
    assert [a.display for a in read_history(pg_db, refinery.DEFAULT_TABLE)] == ["V1__a"]


def test_a_deferred_constraint_fails_the_migration_at_commit(pg_db: PostgresDatabase) -> None:
    sql = ("CREATE TABLE p (id int PRIMARY KEY);\n"
           "CREATE TABLE c (pid int REFERENCES p DEFERRABLE INITIALLY DEFERRED);\n"
           "INSERT INTO c VALUES (1);\n")
    report = run(pg_db, [step(1, "deferred", sql), step(2, "next", "SELECT 1")])
    assert report.failure is not None
    assert report.failure.step.display == "V1__deferred"
    assert report.failure.error.sqlstate == "23503"
    assert report.failure.statement == "COMMIT"
    assert table_names(pg_db) == {"refinery_schema_history"}
    assert read_history(pg_db, refinery.DEFAULT_TABLE) == []
