"""`check` and `verify` with the database: the real command line, real git repositories, a real
embedded PostgreSQL started by the gate itself (and SQLite, and server mode)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from migration_gate.catalog import all_rules
from migration_gate.ephemeral.postgres import Binaries, Cluster
from tests.conftest import Repo, make_repo, run_gate, seed_migrations
from tests.pgserver_fixture import gate_env, pg_url


def findings(done: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert done.stdout.strip().startswith("{"), done.stdout + done.stderr
    diagnostics: list[dict[str, Any]] = json.loads(done.stdout)["diagnostics"]
    return diagnostics


def of_rule(done: subprocess.CompletedProcess[str], *rules: str) -> list[dict[str, Any]]:
    """The findings of `rules`, those merged into another finding (its `related` list, where
    the replay's observation confirms a static rule) included, marked `folded_into`."""
    catalogue = all_rules()
    out = []
    for diagnostic in findings(done):
        if diagnostic["rule"] in rules:
            out.append(diagnostic)
        for related in diagnostic.get("related", ()):
            if related["rule"] in rules:
                out.append({**related, "severity": catalogue[related["rule"]].severity.value,
                            "end_line": related["line"], "folded_into": diagnostic["rule"]})
    return out


def branch_repo(path: Path, files: dict[str, str], base_count: int = 7) -> Repo:
    """main with V001..V00N, then a `feature` branch with `files` written (not committed)."""
    repo = make_repo(path)
    seed_migrations(repo, base_count)
    repo.git("checkout", "-q", "-b", "feature")
    for rel, content in files.items():
        repo.write(rel, content)
    return repo


def check(repo: Repo, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return repo.gate("check", "--base", "main", "--format", "json", *args, env=gate_env(cache))


# --- one branch, several observations ---------------------------------------------------------

RISKY = (
    "CREATE TABLE fresh (id bigint PRIMARY KEY);\n"  # line 1
    "ALTER TABLE fresh ADD COLUMN note text;\n"  # line 2: a table of this migration
    "ALTER TABLE table_1 ADD COLUMN note text;\n"  # line 3: ACCESS EXCLUSIVE on table_1
    "ALTER TABLE table_2\n"  # line 4: a rewrite of table_2
    "    ALTER COLUMN id TYPE integer;\n"
    "CREATE INDEX table_3_id ON table_3 (id);\n"  # line 6: SHARE on table_3
    "TRUNCATE table_4;\n"  # line 7: ACCESS EXCLUSIVE, a new empty file but no rewrite
)


@pytest.fixture(scope="module")
def risky_run(tmp_path_factory: pytest.TempPathFactory, gate_cache: Path,
              pg_binaries: Binaries) -> subprocess.CompletedProcess[str]:
    repo = branch_repo(tmp_path_factory.mktemp("risky") / "repo",
                       {"migrations/V008__risky.sql": RISKY})
    return check(repo, gate_cache, "--verify")


@pytest.mark.slow  # starts a server (3 s)
def test_alter_table_on_a_base_table_is_an_access_exclusive_lock(
    risky_run: subprocess.CompletedProcess[str],
) -> None:
    locks = [d for d in of_rule(risky_run, "lock-observed") if d["line"] == 3]
    assert len(locks) == 1, risky_run.stdout
    assert locks[0]["path"] == "migrations/V008__risky.sql"
    assert "ACCESS EXCLUSIVE lock on table table_1" in locks[0]["message"]
    assert locks[0]["severity"] == "warning"


def test_a_table_created_in_the_same_migration_is_no_lock_finding(
    risky_run: subprocess.CompletedProcess[str],
) -> None:
    lines = {d["line"] for d in of_rule(risky_run, "lock-observed")}
    assert lines == {3, 4, 6, 7}
    database_rules = of_rule(risky_run, *(r.id for r in all_rules().values() if r.needs == "db"))
    assert not any("fresh" in d["message"] for d in database_rules)


def test_share_lock_of_create_index(risky_run: subprocess.CompletedProcess[str]) -> None:
    (lock,) = [d for d in of_rule(risky_run, "lock-observed") if d["line"] == 6]
    assert "a SHARE lock on table table_3" in lock["message"]


def test_alter_column_type_is_a_rewrite(risky_run: subprocess.CompletedProcess[str]) -> None:
    (rewrite,) = of_rule(risky_run, "rewrite-observed")
    # the static rule predicted it: one finding, with the rewrite as its evidence
    assert rewrite["line"] == 4 and rewrite["folded_into"] == "changing-column-type"
    (change,) = [d for d in findings(risky_run) if d["rule"] == "changing-column-type"]
    assert "rewrote table table_2" in change["message"] and change["line"] == 5
    assert "rewrote table table_2" in rewrite["message"]
    assert risky_run.returncode in (0, 1)  # warnings only, unless the SQL rules say more
    assert not of_rule(risky_run, "migration-failed")


# --- failures ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_syntax_error_on_line_4_of_v003(tmp_path: Path, gate_cache: Path,
                                         pg_binaries: Binaries) -> None:
    repo = branch_repo(tmp_path / "repo", {
        "migrations/V003__broken.sql":
            "-- a comment\nCREATE TABLE ok (id int);\n\nCREATE TABEL nope (id int);\n",
    }, base_count=2)
    done = check(repo, gate_cache, "--verify")
    assert done.returncode == 1, done.stderr
    (failure,) = of_rule(done, "migration-failed")
    assert failure["path"] == "migrations/V003__broken.sql"
    assert failure["line"] == 4
    assert "SQLSTATE 42601" in failure["message"]
    assert "V3__broken fails" in failure["message"]


@pytest.mark.slow
def test_create_index_concurrently_fails_as_under_refinery(tmp_path: Path, gate_cache: Path,
                                                          pg_binaries: Binaries) -> None:
    repo = branch_repo(tmp_path / "repo", {
        "migrations/V008__index.sql": "CREATE INDEX CONCURRENTLY t1_id ON table_1 (id);\n",
    })
    done = check(repo, gate_cache, "--verify")
    assert done.returncode == 1
    (failure,) = of_rule(done, "migration-failed")
    assert "SQLSTATE 25001" in failure["message"]
    assert "cannot run inside a transaction block" in failure["message"]
    assert failure["line"] == 1


@pytest.mark.slow
def test_refinery_verification_against_the_base_history(tmp_path: Path, gate_cache: Path,
                                                        pg_binaries: Binaries) -> None:
    repo = branch_repo(tmp_path / "repo", {
        "migrations/V002__create_table_2.sql": "CREATE TABLE table_2 (id int);\n",  # edited
        "migrations/V004__renamed.sql": "SELECT 1;\n",
        "migrations/V000__below_current.sql": "SELECT 1;\n",
        "migrations/V008__next.sql": "CREATE TABLE table_8 (id int);\n",
    })
    (repo.path / "migrations/V003__create_table_3.sql").unlink()
    (repo.path / "migrations/V004__create_table_4.sql").unlink()
    done = check(repo, gate_cache, "--verify")
    assert done.returncode == 1
    divergent = of_rule(done, "refinery-divergent")
    assert [(d["path"], d["message"]) for d in divergent] == [
        ("migrations/V002__create_table_2.sql",
         "applied migration V2__create_table_2 is different than filesystem one "
         "V2__create_table_2"),
        ("migrations/V004__renamed.sql",
         "applied migration V4__create_table_4 is different than filesystem one V4__renamed"),
    ]
    missing = of_rule(done, "refinery-missing")
    assert sorted((d["path"], d["message"]) for d in missing) == [
        ("migrations/V000__below_current.sql",
         "migration V0__below_current is missing from the filesystem"),
        ("migrations/V003__create_table_3.sql",
         "migration V3__create_table_3 is missing from the filesystem"),
    ]
    assert not of_rule(done, "migration-failed")


@pytest.mark.slow
def test_verify_fake_prints_refinerys_preview(tmp_path: Path, gate_cache: Path,
                                              pg_binaries: Binaries) -> None:
    repo = branch_repo(tmp_path / "repo", {
        "migrations/V008__add_user_profile.sql": "SELEC this would fail;\n",
    })
    done = repo.gate("verify", "--base", "main", "--fake", env=gate_env(gate_cache))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[:3] == [
        "current version: 7",
        "applying migration: V8__add_user_profile",
        "not going to apply any migration as fake flag is enabled.",
    ]
    assert "migration-failed" not in done.stdout


@pytest.mark.slow
def test_verify_target_stops_before_a_failing_migration(tmp_path: Path, gate_cache: Path,
                                                         pg_binaries: Binaries) -> None:
    repo = branch_repo(tmp_path / "repo", {
        "migrations/V008__ok.sql": "CREATE TABLE eight (id int);\n",
        "migrations/V009__bad.sql": "SELEC 1;\n",
    })
    stopped = repo.gate("verify", "--base", "main", "--target", "8", "--format", "json",
                        env=gate_env(gate_cache))
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "applying migration: V8__ok" in stopped.stderr
    assert "V9__bad" not in stopped.stderr
    full = repo.gate("verify", "--base", "main", "--grouped", "--format", "json",
                     env=gate_env(gate_cache))
    assert full.returncode == 1
    assert [d["path"] for d in of_rule(full, "migration-failed")] == ["migrations/V009__bad.sql"]


@pytest.mark.slow  # a cold cache of its own: initdb and three replays (14 s in the full suite)
def test_base_schema_is_cached_by_content(tmp_path: Path, pg_binaries: Binaries) -> None:
    cache = tmp_path / "cache"
    repo = branch_repo(tmp_path / "repo", {"migrations/V008__x.sql": "ALTER TABLE table_7 "
                                           "ADD COLUMN x int;\n"})
    first = check(repo, cache, "--verify")
    cached = sorted(p.name for p in cache.iterdir() if p.name.startswith("base-"))
    assert len(cached) == 1
    second = check(repo, cache, "--verify")
    assert findings(first) == findings(second)
    assert of_rule(second, "lock-observed")
    assert sorted(p.name for p in cache.iterdir() if p.name.startswith("base-")) == cached
    repo.commit("branch")
    repo.git("checkout", "-q", "main")
    repo.write("migrations/V008__other.sql", "SELECT 1;\n")
    repo.commit("main moves on")
    repo.git("checkout", "-q", "feature")
    repo.git("merge", "-q", "--no-edit", "-X", "ours", "main", check=False)
    third = check(repo, cache, "--verify")
    assert third.returncode in (0, 1)
    assert len([p for p in cache.iterdir() if p.name.startswith("base-")]) == 2


# --- without git, SQLite, server mode, no binaries ----------------------------------------------


@pytest.mark.slow
def test_without_git_every_migration_is_replayed(tmp_path: Path, gate_cache: Path,
                                                 pg_binaries: Binaries) -> None:
    project = tmp_path / "project"
    (project / "migrations").mkdir(parents=True)
    (project / "migrations/V1__a.sql").write_text("CREATE TABLE a (id int);\n")
    (project / "migrations/V2__b.sql").write_text("ALTER TABLE a ADD COLUMN b int;\n"
                                                   "ALTER TABLE missing ADD COLUMN c int;\n")
    done = run_gate("check", "--format", "json", "--verify", cwd=project,
                    env=gate_env(gate_cache))
    assert done.returncode == 1
    (failure,) = of_rule(done, "migration-failed")
    assert (failure["path"], failure["line"]) == ("migrations/V2__b.sql", 2)
    assert "SQLSTATE 42P01" in failure["message"]
    # V1's table existed before V2: its ALTER is a lock finding
    assert [d["line"] for d in of_rule(done, "lock-observed")] == [1]


@pytest.mark.slow
def test_sqlite_end_to_end(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    repo.write("refinery.toml", '[main]\ndb_type = "Sqlite"\ndb_path = "./app.db"\n')
    repo.write("migrations/V1__users.sql",
               "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V2__emails.sql", "ALTER TABLE users ADD COLUMN email TEXT;\n")
    clean = repo.gate("check", "--base", "main", "--format", "json", "--verify")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert not of_rule(clean, "migration-failed", "lock-observed")
    repo.write("migrations/V3__oops.sql", "-- x\nINSERT INTO userz (id) VALUES (1);\n")
    failed = repo.gate("check", "--base", "main", "--format", "json", "--verify")
    assert failed.returncode == 1
    (failure,) = of_rule(failed, "migration-failed")
    assert (failure["path"], failure["line"]) == ("migrations/V3__oops.sql", 2)
    assert "no such table: userz" in failure["message"]
    assert not (repo.path / "app.db").exists()  # in memory: nothing written


def databases(cluster: Cluster) -> set[str]:
    with cluster.connect() as connection:
        return {r[0] for r in connection.execute("SELECT datname FROM pg_database").fetchall()}


def public_tables(cluster: Cluster, dbname: str) -> set[str]:
    with cluster.connect(dbname) as connection:
        rows = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {r[0] for r in rows}


@pytest.mark.slow
def test_server_mode_leaves_no_database_behind(tmp_path: Path, pg_cluster: Cluster,
                                               pg_dbname: str) -> None:
    repo = branch_repo(tmp_path / "repo", {
        "migrations/V008__alter.sql": "ALTER TABLE table_1 ADD COLUMN x int;\nSELEC 1;\n",
    })
    before = databases(pg_cluster)
    repo.write(".migration-gate.yaml", f"database-url: '{pg_url(pg_cluster, pg_dbname)}'\n")
    done = repo.gate("check", "--base", "main", "--format", "json", "--verify")
    assert done.returncode == 1, done.stdout + done.stderr
    assert [d["line"] for d in of_rule(done, "migration-failed")] == [2]
    assert [d["line"] for d in of_rule(done, "lock-observed")] == [1]
    assert databases(pg_cluster) == before
    assert public_tables(pg_cluster, pg_dbname) == set()  # the named database is never written
    (repo.path / ".migration-gate.yaml").unlink()
    verify = repo.gate("verify", "--base", "main", "--format", "json",
                       "--database-url", pg_url(pg_cluster, pg_dbname))
    assert [d["line"] for d in of_rule(verify, "migration-failed")] == [2]
    assert databases(pg_cluster) == before


def test_server_mode_unreachable_server(tmp_path: Path) -> None:
    repo = branch_repo(tmp_path / "repo", {"migrations/V008__x.sql": "SELECT 1;\n"})
    url = f"postgresql://postgres@/postgres?host={tmp_path}/nowhere&port=5432"
    explicit = repo.gate("verify", "--base", "main", "--database-url", url)
    assert explicit.returncode == 2
    assert explicit.stderr.startswith("migration-gate: error: cannot connect to")
    assert "Traceback" not in explicit.stderr


@pytest.mark.slow  # over 0.6 s in the fast loop
def test_no_binaries_is_a_finding_or_an_error(tmp_path: Path) -> None:
    repo = branch_repo(tmp_path / "repo", {"migrations/V008__x.sql": "SELECT 1;\n"})
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    config = repo.write(".migration-gate.yaml", f"postgres:\n  bin-dir: {empty}\n")
    auto = repo.gate("check", "--base", "main", "--config", str(config))
    assert auto.returncode == 0, auto.stdout + auto.stderr
    assert "migrations:1:1 replay-skipped warning: the database replay was skipped: " \
        f"postgres.bin_dir {empty} holds no usable initdb" in auto.stdout
    assert "replay" not in auto.stderr  # a finding now, no longer a line on stderr
    explicit = repo.gate("check", "--base", "main", "--verify", "--config", str(config))
    assert explicit.returncode == 2
    assert "pip install 'migration-gate[postgres]'" in explicit.stderr
    assert "apt install postgresql" in explicit.stderr
    assert "Traceback" not in explicit.stderr
    skipped = repo.gate("check", "--base", "main", "--no-verify", "--config", str(config))
    assert skipped.returncode == 0 and "replay" not in skipped.stderr


@pytest.mark.slow
def test_mysql_needs_a_server(tmp_path: Path) -> None:
    """No MySQL server here: the auto mode says so in one line, an explicit URL fails cleanly."""
    repo = branch_repo(tmp_path / "repo", {"migrations/V008__x.sql": "SELECT 1;\n"})
    auto = repo.gate("check", "--base", "main", "--dialect", "mysql")
    assert "replay was skipped: no throwaway mysql database" in auto.stdout
    assert "--database-url" in auto.stdout
    explicit = repo.gate("verify", "--base", "main",
                         "--database-url", "mysql://root:secret@127.0.0.1:9/app")
    assert explicit.returncode == 2
    assert explicit.stderr.count("\n") == 1 and "Traceback" not in explicit.stderr
    assert "secret" not in explicit.stderr  # the password is never printed
    assert "mysql://root:***@127.0.0.1:9/app" in explicit.stderr or "PyMySQL" in explicit.stderr


@pytest.mark.slow
def test_ignore_comments_cover_database_findings(tmp_path: Path, gate_cache: Path,
                                                 pg_binaries: Binaries) -> None:
    repo = branch_repo(tmp_path / "repo", {
        "migrations/V008__known.sql":
            "-- migration-gate: ignore lock-observed -- table_1 is tiny\n"
            "ALTER TABLE table_1 ADD COLUMN a int;\n"
            "ALTER TABLE table_2 ADD COLUMN b int;\n",
    })
    done = check(repo, gate_cache, "--verify")
    assert [d["line"] for d in of_rule(done, "lock-observed")] == [3]


@pytest.mark.slow
def test_a_base_that_does_not_replay_is_a_finding(tmp_path: Path, gate_cache: Path,
                                               pg_binaries: Binaries) -> None:
    repo = make_repo(tmp_path / "repo")
    seed_migrations(repo, 2)
    repo.write("migrations/V003__postgis.sql", "CREATE EXTENSION IF NOT EXISTS no_such_ext;\n")
    repo.commit("base needs an extension")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V004__broken.sql", "SELEC 1;\n")
    done = check(repo, gate_cache)  # the replay is automatic: a finding, and the gate goes on
    assert done.returncode == 0, done.stdout + done.stderr
    assert not of_rule(done, "migration-failed")
    (skipped,) = of_rule(done, "replay-skipped")
    assert (skipped["path"], skipped["line"], skipped["severity"]) == (
        "migrations/V003__postgis.sql", 1, "warning")
    assert "V3__postgis does not apply here" in skipped["message"]
    assert "no_such_ext" in skipped["message"]
    assert "postgres.bin-dir" in skipped["hint"]  # the configuration that would fix it
    # asked for explicitly, a replay that cannot run is an error, never a silent green
    explicit = check(repo, gate_cache, "--verify")
    assert explicit.returncode == 2, explicit.stdout + explicit.stderr
    assert "cannot replay the migrations" in explicit.stderr
    assert "V3__postgis does not apply here" in explicit.stderr
