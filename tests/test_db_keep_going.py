"""The replay goes on past a branch migration that fails: every broken migration of a branch is
reported in one run, a later failure says which earlier one it may follow from, and what was
never replayed (after the base failed, after the time limit) is named in one note. Real CLI,
real git repositories, real PostgreSQL."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from migration_gate.ephemeral.postgres import Binaries
from tests.conftest import make_repo, seed_migrations
from tests.pgserver_fixture import gate_env
from tests.test_db_check import branch_repo, check, findings, of_rule
from tests.test_db_replay_guard import with_timeout

BRANCH = {
    # V8 would create `eight` but fails on its second statement (rolled back as a whole)
    "migrations/V008__create_eight.sql": "CREATE TABLE eight (id int);\nCREATE TABEL x (a int);\n",
    "migrations/V009__use_eight.sql": "ALTER TABLE eight ADD COLUMN note text;\n",
    "migrations/V010__fine.sql": "ALTER TABLE table_1 ADD COLUMN n int;\n",
    "migrations/V011__typo.sql": "SELEC 1;\n",
}


def notes(done: subprocess.CompletedProcess[str], start: str) -> list[str]:
    return [line for line in done.stderr.splitlines() if start in line]


@pytest.mark.slow  # a database replay
def test_every_broken_migration_of_the_branch_is_reported(
        tmp_path: Path, gate_cache: Path, pg_binaries: Binaries) -> None:
    repo = branch_repo(tmp_path / "repo", BRANCH)
    done = check(repo, gate_cache, "--verify")
    assert done.returncode == 1, done.stdout + done.stderr
    failed = {d["path"]: d for d in of_rule(done, "migration-failed")}
    assert sorted(failed) == ["migrations/V008__create_eight.sql",
                              "migrations/V009__use_eight.sql", "migrations/V011__typo.sql"]
    first = failed["migrations/V008__create_eight.sql"]
    assert (first["line"], "consequence" in first["message"]) == (2, False)
    # V9 fails only because V8 did: it says so, naming the object V8 would have created
    use = failed["migrations/V009__use_eight.sql"]
    assert "SQLSTATE 42P01" in use["message"]
    assert ("may be a consequence of V8__create_eight's failure (it names eight, which "
            "V8__create_eight would have created)") in use["message"]
    assert "may be a consequence of V8__create_eight's failure" in (
        failed["migrations/V011__typo.sql"]["message"])
    # V10 ran (in its own transaction) after V8 failed: its lock is observed
    assert [d["path"] for d in of_rule(done, "lock-observed")] == ["migrations/V010__fine.sql"]
    assert not notes(done, "not replayed")


@pytest.mark.slow  # a database replay
def test_verify_goes_on_too_and_merges_like_check(
        tmp_path: Path, gate_cache: Path, pg_binaries: Binaries) -> None:
    repo = branch_repo(tmp_path / "repo", {
        **BRANCH, "migrations/V012__index.sql": "CREATE INDEX CONCURRENTLY i1 ON table_2 (id);\n"})
    done = repo.gate("verify", "--base", "main", "--format", "json", env=gate_env(gate_cache))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "applying migration: V12__index" in done.stderr  # refinery's log, past V8
    # one cause, one finding: the static error took in the replay's failure
    (index,) = [d for d in findings(done) if d["path"] == "migrations/V012__index.sql"]
    assert index["rule"] == "ban-concurrent-index-creation-in-transaction"
    assert "the replay fails: CREATE INDEX CONCURRENTLY cannot run" in index["message"]
    assert [r["rule"] for r in index["related"]] == ["migration-failed"]
    # a static finding that no observation confirmed is `check`'s, not `verify`'s
    replay_rules = {"migration-failed", "lock-observed", "rewrite-observed"}
    for finding in findings(done):
        assert finding["rule"] in replay_rules or {
            r["rule"] for r in finding.get("related", ())} & replay_rules, finding


@pytest.mark.slow
def test_after_the_time_limit_the_rest_is_named(tmp_path: Path, gate_cache: Path,
                                                pg_binaries: Binaries) -> None:
    repo = branch_repo(tmp_path / "repo", {
        "migrations/V008__slow.sql": "SELECT pg_sleep(100000);\n",
        "migrations/V009__later.sql": "CREATE TABLE later (id int);\n",
        "migrations/V010__last.sql": "CREATE TABLE last (id int);\n",
    })
    with_timeout(repo, 6)
    done = check(repo, gate_cache, "--verify")
    assert done.returncode == 1, done.stdout + done.stderr
    (failure,) = of_rule(done, "migration-failed")
    assert "did not finish within replay.timeout (6 s)" in failure["message"]
    (note,) = notes(done, "not replayed")
    assert "not replayed: V9__later, V10__last -- the replay stopped at V8__slow" in note
    assert "replay.timeout" in note


@pytest.mark.slow  # a database replay
def test_after_a_base_failure_the_branch_migrations_are_named(
        tmp_path: Path, gate_cache: Path, pg_binaries: Binaries) -> None:
    repo = make_repo(tmp_path / "repo")
    seed_migrations(repo, 2)
    repo.write("migrations/V003__ext.sql", "CREATE EXTENSION IF NOT EXISTS no_such_ext;\n")
    repo.write("migrations/V004__after.sql", "CREATE TABLE after_ext (id int);\n")
    repo.commit("base needs an extension")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V005__mine.sql", "SELEC 1;\n")
    done = check(repo, gate_cache)
    (skipped,) = of_rule(done, "replay-skipped")
    assert skipped["path"] == "migrations/V003__ext.sql"
    assert ("not replayed: the branch's V5__mine and 1 later base migration -- "
            "the base branch's V3__ext failed first") in skipped["message"], skipped["message"]
