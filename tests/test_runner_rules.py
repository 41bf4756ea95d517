"""The rules that depend on the runner ask it (docs/flyway.md §4, docs/refinery.md#transactions).

The runner answers whether a crash between a migration's commit and its history row's exists
(`crash_window`) and how it runs a script (`script_transaction`); `prefer-robust-stmts`, the
CONCURRENTLY rule and the VACUUM rule read those answers. refinery's answers and findings are
the ones the rules gave before the runner model, word for word.
"""

from __future__ import annotations

import pytest

from migration_gate.diagnostics import Diagnostic
from migration_gate.runners import RUNNERS, FlywayRunner, FlywaySettings, Runner
from migration_gate.sql.engine import LintJob, cache_key
from migration_gate.sql.lint import lint_text
from migration_gate.types import Dialect

ROBUST = "prefer-robust-stmts"
CONCURRENT = "ban-concurrent-index-creation-in-transaction"
FLYWAY = FlywayRunner()
FLYWAY_NO_LOCK = FlywayRunner(FlywaySettings(postgresql_transactional_lock=False))
FLYWAY_MIXED = FlywayRunner(FlywaySettings(mixed=True))
CIC = "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);\n"
TABLE = "CREATE TABLE audit (id bigint);\n"


def found(sql: str, runner: Runner | None = None, rule: str | None = None,
          dialect: Dialect = "postgres") -> list[Diagnostic]:
    return [d for d in lint_text(sql, "V1__x.sql", dialect, runner=runner)
            if rule is None or d.rule == rule]


# -- the runner's answer ------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite", "mssql"])
@pytest.mark.parametrize("in_transaction", [True, False])
def test_refinery_always_has_the_window(dialect: Dialect, in_transaction: bool) -> None:
    window = RUNNERS["refinery"].crash_window(in_transaction, dialect)
    assert window is not None
    assert "refinery" in window.consequence


def test_flyway_on_postgresql_has_the_window_only_with_the_transactional_lock() -> None:
    with_lock = FLYWAY.crash_window(True, "postgres")
    assert with_lock is not None
    assert "postgresql.transactional.lock=true" in with_lock.consequence
    assert "refinery" not in with_lock.consequence + with_lock.hint
    assert "postgresql.transactional.lock=false" in with_lock.hint
    assert FLYWAY_NO_LOCK.crash_window(True, "postgres") is None


@pytest.mark.parametrize("runner", [FLYWAY, FLYWAY_NO_LOCK])
def test_a_script_flyway_runs_without_a_transaction_always_has_the_window(
        runner: FlywayRunner) -> None:
    window = runner.crash_window(False, "postgres")
    assert window is not None
    assert "without a transaction" in window.consequence


def test_flyway_on_mysql_and_sqlite_follows_their_ddl() -> None:
    mysql = FLYWAY_NO_LOCK.crash_window(True, "mysql")  # the PostgreSQL setting is irrelevant
    assert mysql is not None and "commits each DDL statement" in mysql.consequence
    assert FLYWAY.crash_window(True, "sqlite") is None  # one connection, transactional DDL
    assert FLYWAY.crash_window(False, "sqlite") is not None


# -- prefer-robust-stmts --------------------------------------------------------------------


def test_refinery_findings_are_unchanged_word_for_word() -> None:
    (finding,) = found(TABLE, None, ROBUST)
    assert finding.message == ("CREATE TABLE audit without IF NOT EXISTS fails when refinery "
                               "re-runs the migration after a crash between its two commits")
    assert finding.hint == ("use IF NOT EXISTS / IF EXISTS so that a re-run after a crash "
                            "between refinery's two commits succeeds")
    assert found(TABLE, RUNNERS["refinery"], ROBUST) == [finding]


def test_flyway_names_its_own_mechanism() -> None:
    (finding,) = found(TABLE, FLYWAY, ROBUST)
    assert finding.message.startswith("CREATE TABLE audit without IF NOT EXISTS fails when "
                                      "Flyway re-runs the migration")
    assert "refinery" not in finding.message and finding.hint is not None
    assert "refinery" not in finding.hint
    assert "postgresql.transactional.lock=false" in finding.hint


def test_flyway_without_the_transactional_lock_has_nothing_to_re_run() -> None:
    assert found(TABLE + "ALTER TABLE users DROP COLUMN legacy;\n", FLYWAY_NO_LOCK, ROBUST) == []


def test_a_non_transactional_flyway_script_must_be_robust_even_without_the_lock() -> None:
    (finding,) = found("CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n",
                       FLYWAY_NO_LOCK, ROBUST)
    assert "without a transaction" in finding.message


# -- CONCURRENTLY ---------------------------------------------------------------------------


def test_refinery_concurrently_is_unchanged() -> None:
    (finding,) = found(CIC, None, CONCURRENT)
    assert finding.message == ("CREATE INDEX CONCURRENTLY cannot run inside refinery's "
                               "transaction: the migration fails with 25001 (cannot run inside "
                               "a transaction block)")
    assert finding.hint is not None and finding.hint.startswith("refinery cannot run")


@pytest.mark.parametrize("sql", [
    CIC,
    CIC + "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_name_idx ON users (name);\n",
    "DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;\n",
])
def test_a_flyway_script_of_concurrent_statements_only_passes(sql: str) -> None:
    assert found(sql, FLYWAY, CONCURRENT) == []
    assert found(sql, None, CONCURRENT) != []  # refinery still refuses it


def test_flyway_refuses_concurrently_mixed_with_transactional_statements() -> None:
    (finding,) = found(TABLE + CIC, FLYWAY, CONCURRENT)
    assert finding.severity.value == "error" and finding.line == 2
    assert "Flyway refuses it" in finding.message and "mixed is false" in finding.message
    assert finding.hint is not None and "migration of its own" in finding.hint
    assert found(TABLE + CIC, FLYWAY_MIXED, CONCURRENT) == []


def test_concurrently_flyway_does_not_detect_still_fails_in_its_transaction() -> None:
    (finding,) = found("REINDEX INDEX CONCURRENTLY users_email_idx;\n", FLYWAY, CONCURRENT)
    assert "runs inside Flyway's transaction" in finding.message
    assert "25001" in finding.message


def test_vacuum_follows_flywas_script_decision() -> None:
    rule = "ban-vacuum-full-or-cluster"
    assert found("VACUUM ANALYZE users;\n", FLYWAY, rule) == []
    (mixed,) = found(TABLE + "VACUUM ANALYZE users;\n", FLYWAY, rule)
    assert "Flyway refuses it" in mixed.message
    (full,) = found("VACUUM FULL users;\n", FLYWAY, rule)
    assert full.message == "VACUUM FULL rewrites the table under ACCESS EXCLUSIVE"
    assert "refinery" in found("VACUUM ANALYZE users;\n", None, rule)[0].message


def test_the_cache_key_holds_the_runners_settings() -> None:
    keys = {cache_key(LintJob("V1__x.sql", TABLE, runner=runner))
            for runner in (None, FLYWAY, FLYWAY_NO_LOCK, FLYWAY_MIXED)}
    assert len(keys) == 4
    assert cache_key(LintJob("V1__x.sql", TABLE)) == cache_key(
        LintJob("V1__x.sql", TABLE, runner=None))


def test_the_concurrent_index_rules_advise_flyways_own_migration() -> None:
    create = "CREATE INDEX users_email_idx ON users (email);\n"
    (flyway,) = found(create, FLYWAY, "require-concurrent-index-creation")
    assert flyway.hint is not None and "migration of its own" in flyway.hint
    assert "refinery" not in flyway.hint
    (refinery,) = found(create, None, "require-concurrent-index-creation")
    assert refinery.hint is not None and "outside refinery" in refinery.hint
    (dropped,) = found("DROP INDEX users_email_idx;\n", FLYWAY,
                       "require-concurrent-index-deletion")
    assert dropped.hint is not None and "DROP INDEX CONCURRENTLY in a migration" in dropped.hint
