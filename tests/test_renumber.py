"""`migration-gate renumber` through the real CLI, in real repositories, with the replay on a
real PostgreSQL (issue 11.4)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from migration_gate.ephemeral.postgres import Binaries
from tests.conftest import Repo, make_repo, one_line_error, seed_migrations
from tests.pgserver_fixture import gate_env

V8_SQL = "CREATE TABLE orders (id bigint PRIMARY KEY);\n"
V9_SQL = "ALTER TABLE orders ADD COLUMN note text;\n"  # uses V8's table


def _diagnostics(done: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert done.stdout.strip().startswith("{"), done.stdout + done.stderr
    found: list[dict[str, Any]] = json.loads(done.stdout)["diagnostics"]
    return found


def _pair_while_main_gained_v8(path: Path) -> Repo:
    """main V1..V7; branch `pair` adds V8 and V9 (V9 alters V8's table); main then merges its
    own V8. Unpadded refinery names, as the issue's example."""
    repo = make_repo(path)
    for number in range(1, 8):
        repo.write(f"migrations/V{number}__t{number}.sql",
                   f"CREATE TABLE t{number} (id bigint PRIMARY KEY);\n")
    repo.commit("V1..V7")
    repo.git("checkout", "-q", "-b", "pair")
    repo.write("migrations/V8__create_orders.sql", V8_SQL)
    repo.write("migrations/V9__orders_note.sql", V9_SQL)
    repo.commit("orders")
    repo.git("checkout", "-q", "main")
    repo.write("migrations/V8__create_users.sql", "CREATE TABLE users (id bigint PRIMARY KEY);\n")
    repo.commit("users")
    repo.git("checkout", "-q", "pair")
    return repo


@pytest.mark.slow
def test_renumber_moves_the_pair_after_main_and_check_then_passes_the_replay(
    tmp_path: Path, gate_cache: Path, pg_binaries: Binaries,
) -> None:
    repo = _pair_while_main_gained_v8(tmp_path / "repo")
    env = gate_env(gate_cache)

    before = repo.gate("check", "--base", "main", "--no-verify", "--format", "json", env=env)
    assert before.returncode == 1, before.stdout + before.stderr
    [stale] = [d for d in _diagnostics(before) if d["rule"] == "version-not-after-base"]
    assert stale["path"] == "migrations/V8__create_orders.sql"
    assert stale["hint"].startswith("rename to V9__create_orders.sql;")
    assert ("V8__create_orders.sql → V9__create_orders.sql, "
            "V9__orders_note.sql → V10__orders_note.sql") in stale["hint"]

    dry = repo.gate("renumber", "--base", "main", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    moves = ["V8__create_orders.sql -> V9__create_orders.sql",
             "V9__orders_note.sql -> V10__orders_note.sql"]
    assert sorted(dry.stdout.splitlines()) == sorted(moves)
    assert (repo.path / "migrations/V8__create_orders.sql").exists()  # nothing moved

    done = repo.gate("renumber", "--base", "main", env=env)
    assert done.returncode == 0, done.stderr
    assert sorted(done.stdout.splitlines()) == sorted(moves)
    assert (repo.path / "migrations/V10__orders_note.sql").read_text() == V9_SQL
    assert (repo.path / "migrations/V9__create_orders.sql").read_text() == V8_SQL
    status = repo.git("status", "--porcelain")
    assert "R  migrations/V9__orders_note.sql -> migrations/V10__orders_note.sql" in status
    repo.commit("renumbered")

    # main's V8 is merged in, as the PR's merge would; the replay runs the whole history
    repo.git("merge", "-q", "--no-edit", "main")
    after = repo.gate("check", "--base", "main", "--verify", "--format", "json", env=env)
    assert after.returncode == 0, after.stdout + after.stderr
    errors = [d for d in _diagnostics(after) if d["severity"] == "error"]
    assert errors == []
    # the replay ran V10 after V9 had created `orders`: it observed V10's lock on that table
    observed = [d for d in _diagnostics(after) if d["rule"] == "lock-observed"]
    assert [d["path"] for d in observed] == ["migrations/V10__orders_note.sql"], after.stdout
    assert "on table orders" in observed[0]["message"]
    assert repo.gate("renumber", "--base", "main", env=env).stdout == ""


def test_renumber_refuses_a_migration_that_exists_on_the_base(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    seed_migrations(repo, count=3)
    repo.git("checkout", "-q", "-b", "feature")
    done = repo.gate("renumber", "--base", "main", "migrations/V002__create_table_2.sql")
    one_line_error(done, "V002__create_table_2.sql exists on main")
    assert (repo.path / "migrations/V002__create_table_2.sql").exists()


@pytest.mark.slow
def test_renumber_outside_git_tracking_uses_plain_renames(tmp_path: Path) -> None:
    """Untracked new files (not yet added) move too; a gap closes; check is clean after."""
    repo = make_repo(tmp_path / "repo")
    seed_migrations(repo, count=3)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V006__add_a.sql", "CREATE TABLE a (id int);\n")
    repo.write("migrations/V007__add_b.sql", "CREATE TABLE b (id int);\n")
    done = repo.gate("renumber", "--base", "main")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["V006__add_a.sql -> V004__add_a.sql",
                                        "V007__add_b.sql -> V005__add_b.sql"]
    names = sorted(p.name for p in (repo.path / "migrations").iterdir())
    assert names[-2:] == ["V004__add_a.sql", "V005__add_b.sql"]
    check = repo.gate("check", "--base", "main", "--no-verify", "--format", "json")
    assert check.returncode == 0, check.stdout
    assert [d for d in _diagnostics(check) if d["rule"].startswith("version-")] == []


def _flyway_branch_behind_main(path: Path, main: dict[str, str], branch: dict[str, str],
                               merged: dict[str, str]) -> Repo:
    """main holds `main`; the branch adds `branch`; main then merges `merged`."""
    repo = make_repo(path)
    repo.write(".migration-gate.yaml", "runner: flyway\n")
    for name, sql in main.items():
        repo.write(f"migrations/{name}", sql)
    repo.commit("main")
    repo.git("checkout", "-q", "-b", "feature")
    for name, sql in branch.items():
        repo.write(f"migrations/{name}", sql)
    repo.commit("feature")
    repo.git("checkout", "-q", "main")
    for name, sql in merged.items():
        repo.write(f"migrations/{name}", sql)
    repo.commit("merged")
    repo.git("checkout", "-q", "feature")
    return repo


@pytest.mark.slow
def test_flyway_renumber_keeps_descriptions_as_written_and_never_moves_repeatables(
        tmp_path: Path) -> None:
    """Flyway names: `-`, spaces and other scripts in a description are Flyway's to keep; an
    `R__` file has no version; a base migration is refused; `check` passes afterwards."""
    repo = _flyway_branch_behind_main(
        tmp_path / "repo",
        {"V1__init.sql": "CREATE TABLE person (id bigint PRIMARY KEY);\n",
         "V2__add-name.sql": "ALTER TABLE person ADD COLUMN name text;\n"},
        {"V3__Ægir add-col.sql": "CREATE TABLE ship (id bigint PRIMARY KEY);\n",
         "V4__índex ø.sql": "ALTER TABLE ship ADD COLUMN crew int;\n",
         "R__views.sql": "CREATE OR REPLACE VIEW ships AS SELECT id FROM ship;\n"},
        {"V3__add_age.sql": "ALTER TABLE person ADD COLUMN age int;\n"},
    )
    before = repo.gate("check", "--base", "main", "--no-verify", "--format", "json")
    assert before.returncode == 1, before.stdout + before.stderr
    assert "version-not-after-base" in {d["rule"] for d in _diagnostics(before)}

    moves = ["V3__Ægir add-col.sql -> V4__Ægir add-col.sql",
             "V4__índex ø.sql -> V5__índex ø.sql"]
    dry = repo.gate("renumber", "--base", "main", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == moves
    assert (repo.path / "migrations/V3__Ægir add-col.sql").exists()  # nothing moved

    one_line_error(repo.gate("renumber", "--base", "main", "migrations/R__views.sql"),
                   "R__views.sql is a repeatable migration")
    one_line_error(repo.gate("renumber", "--base", "main", "migrations/V2__add-name.sql"),
                   "V2__add-name.sql exists on main")

    done = repo.gate("renumber", "--base", "main")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == moves
    names = sorted(p.name for p in (repo.path / "migrations").iterdir())
    assert names == ["R__views.sql", "V1__init.sql", "V2__add-name.sql",
                     "V4__Ægir add-col.sql", "V5__índex ø.sql"]
    assert (repo.path / "migrations/V5__índex ø.sql").read_text() == (
        "ALTER TABLE ship ADD COLUMN crew int;\n")
    after = repo.gate("check", "--base", "main", "--no-verify", "--format", "json")
    assert after.returncode == 0, after.stdout + after.stderr
    assert repo.gate("renumber", "--base", "main").stdout == ""


@pytest.mark.slow  # the schemes themselves: test_history_plan's plan tests
def test_flyway_renumber_follows_dotted_and_timestamp_schemes(tmp_path: Path) -> None:
    dotted = _flyway_branch_behind_main(
        tmp_path / "dotted",
        {"V1.1__a.sql": "CREATE TABLE a (id int);\n"},
        {"V1.2__mine.sql": "CREATE TABLE mine (id int);\n"},
        {"V1.2__theirs.sql": "CREATE TABLE theirs (id int);\n"},
    )
    done = dotted.gate("renumber", "--base", "main")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["V1.2__mine.sql -> V1.3__mine.sql"]
    assert dotted.gate("check", "--base", "main", "--no-verify").returncode == 0

    stamped = _flyway_branch_behind_main(
        tmp_path / "stamped",
        {"V20240101120000__a.sql": "CREATE TABLE a (id int);\n"},
        {"V20240201120000__mine.sql": "CREATE TABLE mine (id int);\n"},
        {"V20240301120000__theirs.sql": "CREATE TABLE theirs (id int);\n"},
    )
    done = stamped.gate("renumber", "--base", "main")
    assert done.returncode == 0, done.stderr
    [move] = done.stdout.splitlines()
    source, target = move.split(" -> ")
    assert source == "V20240201120000__mine.sql"
    assert re.fullmatch(r"V(\d{14})__mine\.sql", target), target
    assert target[1:15] > "20240301120000"  # a timestamp of now, after main's
    assert stamped.gate("check", "--base", "main", "--no-verify").returncode == 0
