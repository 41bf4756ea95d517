"""`migration-gate renumber` through the real CLI, in real repositories, with the replay on a
real PostgreSQL (issue 11.4)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

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
