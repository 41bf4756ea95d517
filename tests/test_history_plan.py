"""Burned versions and the one plan every version hint quotes, through the real CLI in real
repositories (issue 11)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from migration_gate import burned
from migration_gate.burned import parse_log
from migration_gate.plan import Member, make_plan
from migration_gate.runners import FlywayRunner, NameProblem, RefineryRunner, Version
from migration_gate.runners.refinery import refinery_version
from tests.conftest import Repo, commit_then_delete_v2, make_repo, run_gate, seed_migrations

NOW = datetime(2026, 11, 30, 12, 0, 0)
SQL = "CREATE TABLE IF NOT EXISTS {table} (id bigint PRIMARY KEY);\n"


def check_json(cwd: Path, *args: str) -> tuple[int, list[dict[str, Any]]]:
    done = run_gate("check", "--no-verify", "--format", "json", *args, cwd=cwd)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)["diagnostics"]


def _v(number: int) -> Version:
    return refinery_version(number)


def test_plan_keeps_order_and_moves_the_block_after_everything_taken() -> None:
    refinery = RefineryRunner()
    plan = make_plan([Member("b", _v(9)), Member("a", _v(8))], taken=map(_v, {1, 7, 8, 12}),
                     runner=refinery, now=NOW)
    assert [(m.path, m.old.text, m.new.text) for m in plan.moves] == [
        ("a", "8", "13"), ("b", "9", "14")]
    assert plan.next_free == _v(15) and plan.floor == _v(12)
    same = make_plan([Member("a", _v(8)), Member("b", _v(9))], taken=map(_v, range(1, 8)),
                     runner=refinery, now=NOW)
    assert same.changes == () and same.next_free == _v(10)
    padded = make_plan([Member("a", refinery_version(3, "003"))],
                       taken=[refinery_version(n, f"{n:03d}") for n in range(0, 5)],
                       runner=refinery, now=NOW)
    assert [m.new.text for m in padded.changes] == ["005"]


def test_plan_asks_flyway_for_versions_in_the_projects_scheme() -> None:
    """Integers count up, dotted versions bump their last part, timestamps take the clock; a
    block already above the base's highest (timestamps, no integer hole) stays."""
    flyway = FlywayRunner()

    def moved(members: dict[str, str], taken: list[str]) -> list[tuple[str, str]]:
        plan = make_plan(
            [Member(path, _fv(text)) for path, text in members.items()],
            taken=[_fv(t) for t in taken], runner=flyway, now=NOW)
        return [(m.path, m.new.text) for m in plan.changes]

    assert moved({"a": "3", "b": "4"}, ["1", "2", "3"]) == [("a", "4"), ("b", "5")]
    assert moved({"a": "1.2", "b": "1.3"}, ["1.1", "1.2"]) == [("a", "1.3"), ("b", "1.4")]
    assert moved({"a": "20240101090000"}, ["20240301090000"]) == [("a", "20261130120000")]
    assert moved({"a": "20240401090000"}, ["20240301090000"]) == []
    assert moved({"a": "4", "b": "5"}, ["1", "2", "3"]) == []


def _fv(text: str) -> Version:
    version = FlywayRunner().parse_version(text)
    assert version is not None
    return version


def test_parse_log_keeps_the_latest_deletion_and_its_addition() -> None:
    log = (
        b"\x01" + b"c" * 40 + b" 2024-03-01\n\nD\tdb/V8__again.sql\n"
        b"\x01" + b"b" * 40 + b" 2024-02-01\n\nA\tdb/V8__again.sql\nD\tdb/V8__tags.sql\n"
        b"\x01" + b"a" * 40 + b" 2024-01-01\n\nA\tdb/V8__tags.sql\nA\tother/V9__x.sql\n"
    )
    found = parse_log(log, "db")
    assert list(found) == [8]
    burned = found[8]
    assert (burned.file_name, burned.deleted_date, burned.added_date) == (
        "V8__again.sql", "2024-03-01", "2024-02-01")
    assert burned.describe("main") == (
        "V8__again.sql existed on main from 2024-02-01 (bbbbbbb) until 2024-03-01 (ccccccc)")


def _burned_repo(tmp_path: Path) -> tuple[Repo, str]:
    repo = make_repo(tmp_path / "repo")
    seed_migrations(repo)
    repo.write("migrations/V008__add_tags.sql", SQL.format(table="tags"))
    repo.commit("add tags")
    repo.git("rm", "-q", "migrations/V008__add_tags.sql")
    deleted = repo.commit("tags failed in production: remove")
    return repo, deleted


@pytest.mark.slow
def test_a_burned_version_is_never_proposed_and_reusing_it_is_an_error(tmp_path: Path) -> None:
    repo, deleted = _burned_repo(tmp_path)
    assert run_gate("next-version", cwd=repo.path).stdout.strip() == "V009"
    created = run_gate("new", "add orders", cwd=repo.path)
    assert created.stdout.strip() == "migrations/V009__add_orders.sql", created.stderr
    (repo.path / created.stdout.strip()).unlink()

    repo.git("checkout", "-q", "-b", "reuse")
    repo.write("migrations/V008__add_orders.sql", SQL.format(table="orders"))
    repo.commit("orders")
    code, found = check_json(repo.path, "--base", "main")
    assert code == 1
    [reused] = [d for d in found if d["rule"] == "version-reused"]
    assert reused["severity"] == "error"
    assert reused["path"] == "migrations/V008__add_orders.sql"
    assert "V008__add_tags.sql existed on main" in reused["message"]
    assert deleted[:7] in reused["message"]
    assert re.search(r"until \d{4}-\d\d-\d\d", reused["message"])
    assert reused["hint"] == "rename to V009__add_orders.sql"
    # the version is above main's highest (V007): no other rule would have caught it
    assert not [d for d in found if d["rule"] == "version-not-after-base"]


def test_a_renamed_version_is_burned_too(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    seed_migrations(repo, count=3)
    repo.git("mv", "migrations/V003__create_table_3.sql", "migrations/V004__create_table_3.sql")
    repo.commit("renumber on main")
    assert run_gate("next-version", cwd=repo.path).stdout.strip() == "V005"


@pytest.mark.slow
def test_every_hint_of_a_stale_branch_quotes_one_plan(tmp_path: Path) -> None:
    """Four new files on a branch while main merged V008 and V009: the hints of every rule
    name the same block V010..V013, in the branch's order, and next-version comes after it."""
    repo = make_repo(tmp_path / "repo")
    seed_migrations(repo)
    repo.git("checkout", "-q", "-b", "stale")
    for version, table in ((8, "a"), (9, "b"), (9, "c"), (12, "d")):
        repo.write(f"migrations/V{version:03d}__add_{table}.sql", SQL.format(table=table))
    repo.commit("four migrations")
    repo.git("checkout", "-q", "main")
    for version in (8, 9):
        repo.write(f"migrations/V{version:03d}__main_{version}.sql",
                   SQL.format(table=f"m{version}"))
    repo.commit("main moved on")
    repo.git("checkout", "-q", "stale")

    _code, found = check_json(repo.path, "--base", "main")
    hints = {(d["rule"], d["path"].split("/")[-1]): d["hint"] for d in found if d.get("hint")}
    block = ("V008__add_a.sql → V010__add_a.sql, V009__add_b.sql → V011__add_b.sql, "
             "V009__add_c.sql → V012__add_c.sql, V012__add_d.sql → V013__add_d.sql")
    assert hints, found
    for (rule, _name), hint in hints.items():
        assert rule in {"version-not-after-base", "duplicate-version", "version-gap"}, rule
        assert block in hint, hint
    assert hints[("version-not-after-base", "V008__add_a.sql")].startswith(
        "rename to V010__add_a.sql;")
    # one finding per cause: the two V009 files are one duplicate-version finding
    [duplicate] = [hint for (rule, _name), hint in hints.items() if rule == "duplicate-version"]
    assert duplicate.startswith(("rename to V011__add_b.sql;", "rename to V012__add_c.sql;"))
    assert run_gate("next-version", "--base", "main", cwd=repo.path).stdout.strip() == "V014"


@pytest.mark.slow
def test_a_moved_folder_is_one_finding_with_its_files_related(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    seed_migrations(repo)
    repo.git("checkout", "-q", "-b", "move")
    (repo.path / "db").mkdir()
    repo.git("mv", "migrations", "db/migrations")
    repo.write(".migration-gate.yaml", "dir: db/migrations\n")
    repo.commit("move the folder")

    # the base's configuration governs a branch, so the new place is named on the command line
    code, found = check_json(repo.path, "--base", "main", "--dir", "db/migrations")
    assert code == 0, found
    # the branch's own change to the configuration is reported too (it governs after merge)
    [moved] = [d for d in found if d["rule"] != "config-changed"]
    assert moved["rule"] == "folder-moved" and moved["severity"] == "warning"
    assert moved["path"] == "db/migrations"
    assert "from migrations/ to db/migrations/ (7 of 7 migrations" in moved["message"]
    assert len(moved["related"]) == 7
    assert {(r["path"], r["message"]) for r in moved["related"]} >= {
        ("db/migrations/V003__create_table_3.sql",
         "moved from migrations/V003__create_table_3.sql")}
    text = run_gate("check", "--no-verify", "--base", "main", "--dir", "db/migrations",
                    cwd=repo.path)
    assert text.stdout.count("folder-moved") == 1

    # a new migration in the moved folder is judged against the old folder's versions
    repo.write("db/migrations/V007__again.sql", SQL.format(table="again"))
    _code, found = check_json(repo.path, "--base", "main", "--dir", "db/migrations")
    # V007 is taken on main: one finding (the reuse), the below-the-base verdict related to it
    assert {d["rule"] for d in found} >= {"folder-moved", "duplicate-version"}
    [reuse] = [d for d in found if d["rule"] == "duplicate-version"]
    assert "version-not-after-base" in {r["rule"] for r in reuse["related"]}


@pytest.mark.slow
def test_a_shifted_run_and_a_squash_are_one_finding_each(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    seed_migrations(repo, count=12)
    repo.git("checkout", "-q", "-b", "shift")
    repo.git("rm", "-q", "migrations/V005__create_table_5.sql")
    for number in range(6, 13):
        repo.git("mv", f"migrations/V{number:03d}__create_table_{number}.sql",
                 f"migrations/V{number - 1:03d}__create_table_{number}.sql")
    repo.commit("close the hole")
    _code, found = check_json(repo.path, "--base", "main")
    history = [d for d in found if d["rule"] in ("renamed-migration", "deleted-migration")]
    assert [d["rule"] for d in history] == ["deleted-migration", "renamed-migration"], history
    run = history[1]
    assert "7 migrations of main were renumbered V006–V012 → V005–V011 (-1)" in run["message"]
    assert len(run["related"]) == 7
    assert "git checkout" in run["hint"]

    repo.git("checkout", "-q", "main")
    repo.git("checkout", "-q", "-b", "squash")
    repo.git("rm", "-q", "-r", "migrations")
    repo.write("migrations/V013__baseline.sql", SQL.format(table="baseline"))
    repo.commit("squash")
    _code, found = check_json(repo.path, "--base", "main")
    [deleted] = [d for d in found if d["rule"] == "deleted-migration"]
    assert ("12 migrations of main are deleted here (V001–V012), and V013__baseline.sql "
            "added: a squash") in deleted["message"]
    assert len(deleted["related"]) == 12 and "baseline" in deleted["hint"]


def test_burned_cache_extends_the_old_tips_answer_with_only_the_new_commits(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The base tip advanced: `git log old..new` alone is read, and the answer is the one a
    cold scan of the whole history gives -- a version added before the old tip and deleted
    after it included (its addition comes from the cached scan). A force-pushed base (the old
    tip is no ancestor) is scanned in full."""
    monkeypatch.setenv("MIGRATION_GATE_CACHE_DIR", str(tmp_path / "cache"))
    repo = make_repo(tmp_path / "repo")
    old_tip = commit_then_delete_v2(repo, count=4)
    assert [b.version for b in burned.burned_versions(repo.path, old_tip, "migrations", [])] == [2]
    repo.git("rm", "-q", "migrations/V3__t3.sql")
    repo.commit("drop V3")
    repo.write("migrations/V5__t5.sql", SQL.format(table="t5"))
    new_tip = repo.commit("V5")

    incremental = burned._incremental(repo.path, new_tip, "migrations", False)
    assert incremental is not None  # the old tip's answer, extended
    found = burned.burned_versions(repo.path, new_tip, "migrations", [])
    assert [b.version for b in found] == [2, 3]
    v3 = found[1]
    assert v3.added_sha == repo.git("rev-list", "--max-parents=0", "HEAD").strip()
    cold = burned.scan_log(burned._log(repo.path, new_tip, "migrations"), "migrations")
    assert incremental.found == cold.found and incremental.added == cold.added

    repo.git("reset", "-q", "--hard", old_tip + "~1")  # main force-pushed: V2 was never dropped
    repo.git("rm", "-q", "migrations/V4__t4.sql")
    rewritten = repo.commit("drop V4 instead")
    assert burned._incremental(repo.path, rewritten, "migrations", False) is None
    assert [b.version for b in burned.burned_versions(repo.path, rewritten, "migrations", [])
            ] == [4]


def test_renamed_changes_only_the_version_in_each_runners_grammar() -> None:
    flyway = FlywayRunner()
    parsed = flyway.parse_name("V3__Ægir add-col.SQL")
    assert not isinstance(parsed, NameProblem)
    assert flyway.renamed(parsed, _fv("4")) == "V4__Ægir add-col.SQL"
    refinery_runner = RefineryRunner(extensions=("rs", "sql"))
    rust = refinery_runner.parse_name("V7__Add_Things.rs")
    assert not isinstance(rust, NameProblem)
    assert refinery_runner.renamed(rust, refinery_version(8, "008")) == "V008__Add_Things.rs"
