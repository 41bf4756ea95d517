"""A migration can neither blind nor stop the replay: the gate's catalog queries cannot be
shadowed, and the whole replay is bounded by `replay.timeout`, enforced from outside the
migration's reach. Real CLI, real git repositories, a real PostgreSQL (and SQLite); every run
is bounded in time."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Repo, clean_env, one_line_error
from tests.pgserver_fixture import gate_env, pg_url
from tests.test_db_check import branch_repo, databases, findings, of_rule

#: Every run of these tests must end well within this (a hang is the bug under test).
RUN_LIMIT = 90


def gate(repo: Repo, cache: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """The real CLI in a child process; its result and how long it took."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "migration_gate", "check", "--base", "main", "--format", "json",
         *args],
        cwd=repo.path, env=clean_env(gate_env(cache)), capture_output=True, text=True,
        timeout=RUN_LIMIT,
    )
    return done, time.monotonic() - started


def with_timeout(repo: Repo, seconds: float) -> None:
    repo.write(".migration-gate.yaml", f"replay:\n  timeout: {seconds}\n")


# --- blinding ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_temporary_views_named_like_catalogs_do_not_blind_the_replay(
    tmp_path: Path, gate_cache: Path, pg_binaries: Any,
) -> None:
    repo = branch_repo(tmp_path / "repo", {
        "migrations/V003__blind.sql":
            "CREATE TEMP VIEW pg_locks AS SELECT 1 AS x;\n"
            "CREATE TEMP VIEW pg_class AS SELECT 1 AS x;\n"
            "ALTER TABLE table_1 ADD COLUMN y int;\n"
            "SELEC 1;\n",
    }, base_count=2)
    done, _ = gate(repo, gate_cache)  # the default mode, where a broken replay was a note
    assert done.returncode == 1, done.stdout + done.stderr
    assert "replay skipped" not in done.stderr
    assert [d["line"] for d in of_rule(done, "lock-observed")] == [3]
    (failure,) = of_rule(done, "migration-failed")
    assert (failure["line"], "SQLSTATE 42601" in failure["message"]) == (4, True)


@pytest.mark.slow
def test_search_path_and_shadowing_functions_and_operators_do_not_mislead_it(
    tmp_path: Path, gate_cache: Path, pg_binaries: Any,
) -> None:
    repo = branch_repo(tmp_path / "repo", {
        "migrations/V003__shadow.sql":
            "SET search_path = public, pg_catalog;\n"
            "CREATE VIEW public.pg_locks AS SELECT 0::oid AS relation, '' AS mode;\n"
            "CREATE FUNCTION public.pg_sleep(float8) RETURNS void LANGUAGE sql AS '';\n"
            "CREATE FUNCTION public.pg_backend_pid() RETURNS int LANGUAGE sql AS 'SELECT 0';\n"
            "CREATE FUNCTION public.pg_relation_filenode(regclass) RETURNS oid\n"
            "    LANGUAGE sql AS 'SELECT 0::oid';\n"
            "CREATE FUNCTION public.never(oid, integer) RETURNS boolean\n"
            "    LANGUAGE sql AS 'SELECT false';\n"
            "CREATE OPERATOR public.>= (LEFTARG = oid, RIGHTARG = integer,\n"
            "    FUNCTION = public.never);\n"
            "ALTER TABLE table_2 ALTER COLUMN id TYPE integer;\n",
    }, base_count=2)
    done, _ = gate(repo, gate_cache, "--verify")
    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert [d["line"] for d in of_rule(done, "lock-observed")] == [11]
    (rewrite,) = of_rule(done, "rewrite-observed")
    assert rewrite["line"] == 11 and "rewrote table table_2" in rewrite["message"]
    assert not of_rule(done, "migration-failed")


@pytest.mark.slow
def test_an_observation_the_migration_breaks_is_its_failure_never_a_skipped_replay(
    tmp_path: Path, gate_cache: Path, pg_binaries: Any,
) -> None:
    repo = branch_repo(tmp_path / "repo", {
        "migrations/V003__hide.sql":
            "CREATE ROLE gate_test_weak;\n"
            "REVOKE SELECT ON pg_catalog.pg_locks FROM PUBLIC;\n"
            "SET LOCAL ROLE gate_test_weak;\n"
            "SELECT 1;\n",
    }, base_count=2)
    done, _ = gate(repo, gate_cache)  # the default mode
    assert done.returncode == 1, done.stdout + done.stderr
    assert "replay skipped" not in done.stderr
    (failure,) = of_rule(done, "migration-failed")
    assert failure["line"] == 3
    assert "could not observe the statement's effects: permission denied" in failure["message"]


# --- the replay's time limit ------------------------------------------------------------------


def assert_stopped_by_the_timeout(done: subprocess.CompletedProcess[str], elapsed: float,
                                  seconds: float, line: int) -> None:
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    (failure,) = of_rule(done, "migration-failed")
    assert failure["line"] == line
    assert f"the replay did not finish within replay.timeout ({seconds:g} s)" in (
        failure["message"])
    assert "replay.timeout" in failure["hint"]
    assert elapsed < seconds + 30, elapsed


@pytest.mark.slow
def test_a_migration_cannot_lift_the_statement_timeout(tmp_path: Path, gate_cache: Path,
                                                       pg_binaries: Any) -> None:
    repo = branch_repo(tmp_path / "repo", {
        "migrations/V003__sleep.sql":
            "SET LOCAL statement_timeout = 0;\nSELECT pg_sleep(100000);\n",
    }, base_count=2)
    with_timeout(repo, 8)
    done, elapsed = gate(repo, gate_cache)  # the default mode: a finding, never a note
    assert_stopped_by_the_timeout(done, elapsed, 8, 2)


@pytest.mark.slow
def test_a_loop_that_swallows_every_cancel_is_cut_off(tmp_path: Path, gate_cache: Path,
                                                      pg_binaries: Any) -> None:
    repo = branch_repo(tmp_path / "repo", {
        "migrations/V003__stubborn.sql":
            "SET statement_timeout = 0;\n"
            "DO $$ BEGIN LOOP BEGIN PERFORM pg_sleep(100); "
            "EXCEPTION WHEN query_canceled THEN NULL; END; END LOOP; END $$;\n",
    }, base_count=2)
    with_timeout(repo, 8)
    done, elapsed = gate(repo, gate_cache, "--verify")
    assert_stopped_by_the_timeout(done, elapsed, 8, 2)


@pytest.mark.slow
def test_server_mode_is_bounded_and_leaves_nothing(tmp_path: Path, pg_cluster: Any,
                                                   pg_dbname: str, gate_cache: Path) -> None:
    repo = branch_repo(tmp_path / "repo", {
        "migrations/V003__sleep.sql": "SET LOCAL statement_timeout = 0;\nSELECT pg_sleep(1000);\n",
    }, base_count=2)
    with_timeout(repo, 6)
    before = databases(pg_cluster)
    done, elapsed = gate(repo, gate_cache, "--database-url", pg_url(pg_cluster, pg_dbname))
    assert_stopped_by_the_timeout(done, elapsed, 6, 2)
    assert databases(pg_cluster) == before


@pytest.mark.slow
def test_sqlite_is_bounded_too(tmp_path: Path) -> None:
    repo = branch_repo(tmp_path / "repo", {
        "migrations/V003__forever.sql":
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n)\n"
            "SELECT count(*) FROM n;\n",
    }, base_count=2)
    repo.write(".migration-gate.yaml", "dialect: sqlite\nreplay:\n  timeout: 3\n")
    done, elapsed = gate(repo, tmp_path / "cache", "--verify")
    assert_stopped_by_the_timeout(done, elapsed, 3, 1)


@pytest.mark.slow
def test_replay_timeout_is_validated(tmp_path: Path) -> None:
    repo = branch_repo(tmp_path / "repo", {"migrations/V003__x.sql": "SELECT 1;\n"}, 2)
    for bad in ("0", "-5", "'soon'", "true", "100000"):
        with_timeout(repo, 1)
        repo.write(".migration-gate.yaml", f"replay:\n  timeout: {bad}\n")
        done, _ = gate(repo, tmp_path / "cache", "--no-verify")
        one_line_error(done, "`replay.timeout` must be a number of seconds")
    repo.write(".migration-gate.yaml", "replay:\n  timeout: 45.5\n")
    done, _ = gate(repo, tmp_path / "cache", "--no-verify")
    assert done.returncode == 0, done.stdout + done.stderr
    assert findings(done) == []
