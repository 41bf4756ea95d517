"""Transactions (docs/flyway.md §4): what Flyway's PostgreSQL parser detects as
non-transactional, what it then does with a script, and what PostgreSQL itself refuses inside
a transaction block -- the last checked against a real server."""

from __future__ import annotations

from typing import Any

import pytest

from migration_gate.runner import DbError
from migration_gate.runners import FlywayRunner, FlywaySettings, ScriptVerdict
from migration_gate.runners.flyway_transactions import (
    flyway_in_transaction,
    flyway_script_transaction,
)
from migration_gate.runners.transactions import postgres_refusal, tokens

FLYWAY_DETECTS = [
    "CREATE INDEX CONCURRENTLY idx ON t (a)",
    "create unique index concurrently if not exists idx on t (a)",
    "DROP INDEX CONCURRENTLY idx",
    "DROP INDEX CONCURRENTLY IF EXISTS idx",
    "-- a comment first\nVACUUM ANALYZE t",
    "VACUUM",
    "REINDEX SCHEMA public",
    "REINDEX (VERBOSE) DATABASE app",
    "REINDEX SYSTEM CONCURRENTLY app",
    "CREATE DATABASE app",
    "DROP DATABASE IF EXISTS app",
    "CREATE TABLESPACE fast LOCATION '/ssd'",
    "DROP TABLESPACE fast",
    "CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p",
    "DROP SUBSCRIPTION s",
    "ALTER SYSTEM SET work_mem = '64MB'",
    "DISCARD ALL",
]
FLYWAY_RUNS_IN_TRANSACTION = [
    "CREATE TABLE t (a int)",
    "CREATE INDEX idx ON t (a)",
    "REINDEX INDEX CONCURRENTLY idx",  # REINDEX_REGEX only knows SCHEMA|DATABASE|SYSTEM
    "REINDEX TABLE CONCURRENTLY t",
    "ALTER TABLE p DETACH PARTITION c CONCURRENTLY",
    "CLUSTER",
    "ALTER TYPE mood ADD VALUE 'sad'",  # PostgreSQL 12 and later
    "SELECT 'VACUUM'",
    "SELECT $$ VACUUM $$",
    "/* VACUUM */ SELECT 1",
    "INSERT INTO log (msg) VALUES ('CREATE INDEX CONCURRENTLY')",
    # the 11th keyword is past Flyway's detection cutoff
    "WITH a AS (SELECT 1) SELECT a FROM b WHERE c AND d OR e AND f AND g AND h",
]


@pytest.mark.parametrize("statement", FLYWAY_DETECTS)
def test_flyway_detects_non_transactional(statement: str) -> None:
    assert not flyway_in_transaction(statement)


@pytest.mark.parametrize("statement", FLYWAY_RUNS_IN_TRANSACTION)
def test_flyway_runs_these_in_a_transaction(statement: str) -> None:
    assert flyway_in_transaction(statement)


def test_alter_type_add_value_only_before_12() -> None:
    for statement in ("ALTER TYPE mood ADD VALUE 'x'", "ALTER TYPE mood2 ADD VALUE 'x'",
                      'ALTER TYPE public."Mood" ADD VALUE IF NOT EXISTS \'x\''):
        assert not flyway_in_transaction(statement, postgres_major=11)
        assert flyway_in_transaction(statement, postgres_major=12)
        assert postgres_refusal(statement, 11) is not None
        assert postgres_refusal(statement, 12) is None


def test_other_dialects() -> None:
    assert not flyway_in_transaction("PRAGMA foreign_keys = OFF", "sqlite")
    assert flyway_in_transaction("VACUUM", "sqlite")
    assert flyway_in_transaction("CREATE INDEX CONCURRENTLY i ON t (a)", "mysql")


def test_keywords_are_letters_only_outside_parentheses() -> None:
    kinds = [(t.kind, t.text) for t in tokens('CREATE INDEX "Idx" ON s.t (lower(a)) -- x')]
    assert kinds[:5] == [("keyword", "CREATE"), ("keyword", "INDEX"), ("identifier", '"Idx"'),
                         ("keyword", "ON"), ("identifier", "s.t")]
    assert [t.depth for t in tokens("SELECT (a (b))") if t.kind == "keyword"] == [0, 1, 2]


# --- scripts -----------------------------------------------------------------------------------

CONCURRENT = "CREATE INDEX CONCURRENTLY i ON t (a)"


def test_transactional_script() -> None:
    script = flyway_script_transaction(["CREATE TABLE t (a int)", "INSERT INTO t VALUES (1)"])
    assert script.verdict is ScriptVerdict.TRANSACTIONAL
    assert script.in_transaction and script.error is None and script.failing == ()


def test_non_transactional_script_runs_without_a_transaction() -> None:
    script = flyway_script_transaction([CONCURRENT, "VACUUM t"])
    assert script.verdict is ScriptVerdict.NON_TRANSACTIONAL
    assert not script.in_transaction and script.error is None
    assert script.non_transactional == (0, 1) and script.failing == ()


def test_mixed_script_is_refused_unless_mixed() -> None:
    statements = ["CREATE TABLE t (a int)", CONCURRENT, "INSERT INTO t VALUES (1)"]
    script = flyway_script_transaction(statements)
    assert script.verdict is ScriptVerdict.MIXED
    assert script.offending == 1
    assert script.error is not None and script.error.startswith(
        "Detected both transactional and non-transactional statements within the same migration"
        " (even though mixed is false).")
    assert script.error.endswith(f"{CONCURRENT} [non-transactional]")
    allowed = flyway_script_transaction(statements, mixed=True)
    assert allowed.error is None and not allowed.in_transaction and allowed.failing == ()
    overridden = flyway_script_transaction(statements, script_override=True)
    assert overridden.error is None and overridden.in_transaction
    assert [i for i, _ in overridden.failing] == [1]


def test_offending_statement_is_where_both_kinds_meet() -> None:
    script = flyway_script_transaction([CONCURRENT, "VACUUM", "SELECT 1"])
    assert script.offending == 2 and script.error is not None
    assert not script.error.endswith("[non-transactional]")


def test_undetected_statement_fails_inside_flyways_transaction() -> None:
    script = flyway_script_transaction(["CREATE TABLE t (a int)", "REINDEX INDEX CONCURRENTLY i"])
    assert script.verdict is ScriptVerdict.TRANSACTIONAL and script.in_transaction
    assert script.failing == ((1, "REINDEX ... CONCURRENTLY cannot run inside a transaction "
                                  "block"),)


def test_runner_uses_its_settings() -> None:
    runner = FlywayRunner(FlywaySettings(mixed=True, postgres_major=11))
    script = runner.script_transaction(["ALTER TYPE mood ADD VALUE 'x'", "SELECT 1"])
    assert script.verdict is ScriptVerdict.MIXED and script.error is None
    assert not script.in_transaction
    assert FlywayRunner().script_transaction([]).verdict is ScriptVerdict.TRANSACTIONAL


# --- PostgreSQL's own verdict, on a real server --------------------------------------------------

SETUP = [
    "CREATE TABLE t (a int)",
    "CREATE INDEX i ON t (a)",
    "CREATE TYPE mood AS ENUM ('happy')",
    "CREATE TABLE p (a int) PARTITION BY RANGE (a)",
    "CREATE TABLE c PARTITION OF p FOR VALUES FROM (0) TO (10)",
]
LIVE = [
    "CREATE INDEX CONCURRENTLY i2 ON t (a)",
    "CREATE UNIQUE INDEX CONCURRENTLY i3 ON t (a)",
    "DROP INDEX CONCURRENTLY i",
    "REINDEX INDEX CONCURRENTLY i",
    "REINDEX TABLE CONCURRENTLY t",
    "REINDEX (VERBOSE) SCHEMA public",
    "REINDEX INDEX i",
    "REINDEX TABLE t",
    "VACUUM",
    "VACUUM FULL t",
    "CREATE DATABASE gate_never_created",
    "DROP DATABASE IF EXISTS gate_never_created",
    "CREATE TABLESPACE gate_never LOCATION '/nonexistent'",
    "ALTER SYSTEM SET work_mem = '64MB'",
    "ALTER TABLE p DETACH PARTITION c CONCURRENTLY",
    "ALTER TABLE p DETACH PARTITION c",
    "CLUSTER",
    "CLUSTER t USING i",
    "DISCARD ALL",
    "COMMIT PREPARED 'gate_never'",
    "ALTER TYPE mood ADD VALUE 'sad'",
    "CREATE SUBSCRIPTION gate_sub CONNECTION 'host=/nonexistent' PUBLICATION p",
    "CREATE SUBSCRIPTION gate_sub CONNECTION 'host=/nonexistent' PUBLICATION p "
    "WITH (connect = false)",
    "CREATE TABLE x (a int)",
    "SELECT 'VACUUM'",
]


def test_postgres_refusal_matches_a_real_server(pg_db: Any) -> None:
    major = int(pg_db.query("SHOW server_version_num")[0][0]) // 10000
    for statement in SETUP:
        pg_db.execute(statement)
    mismatches = []
    for statement in LIVE:
        pg_db.execute("BEGIN")
        try:
            pg_db.execute(statement)
            sqlstate = None
        except DbError as error:
            sqlstate = error.sqlstate
        pg_db.execute("ROLLBACK")
        predicted = postgres_refusal(statement, major)
        if (sqlstate == "25001") != (predicted is not None):
            mismatches.append((statement, sqlstate, predicted))
    assert mismatches == []
    # everything Flyway detects is refused by PostgreSQL (some only with a slot to create)
    detected = [s for s in LIVE if not flyway_in_transaction(s, postgres_major=major)]
    assert detected and all(postgres_refusal(s, major) is not None for s in detected
                            if "connect = false" not in s)
