"""Production's applied history as the history rules' reference (`--applied`, issue 11.2),
through the real CLI in real repositories."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from migration_gate import refinery
from migration_gate.applied import parse_applied
from migration_gate.diagnostics import GateError
from migration_gate.ephemeral.postgres import Cluster, PostgresDatabase
from migration_gate.migrations import MigrationFile
from migration_gate.runner import run, runnables
from tests.conftest import Repo, make_repo, one_line_error
from tests.pgserver_fixture import pg_url

APPLIED_V6 = b"CREATE TABLE IF NOT EXISTS t6 (id bigint PRIMARY KEY);\n"
EDITED_V6 = b"CREATE TABLE IF NOT EXISTS t6 (id bigint PRIMARY KEY, note text);\n"


def _rules(repo: Repo, *args: str) -> tuple[int, list[dict[str, Any]]]:
    done = repo.gate("check", "--no-verify", "--base", "main", "--format", "json", *args)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)["diagnostics"]


def _history_rules(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rules = {"modified-migration", "deleted-migration", "renamed-migration", "version-reused",
             "version-not-after-base"}
    return [d for d in found if d["rule"] in rules]


def _status_json(rows: list[tuple[int, str, bytes]]) -> str:
    """What `migration-gate status --format json` prints, for these applied files."""
    return json.dumps({"database": "postgres://prod", "table": "refinery_schema_history",
                       "applied": [{"version": v, "name": n, "applied_on": "2024-01-01T00:00:00Z",
                                    "checksum": str(refinery.checksum(n, v, content))}
                                   for v, n, content in rows]})


def _seeded(path: Path, count: int) -> tuple[Repo, list[tuple[int, str, bytes]]]:
    repo = make_repo(path)
    rows = []
    for number in range(1, count + 1):
        content = f"CREATE TABLE IF NOT EXISTS t{number} (id bigint PRIMARY KEY);\n".encode()
        repo.write(f"migrations/V{number}__t{number}.sql", content)
        rows.append((number, f"t{number}", content))
    repo.commit("V1..")
    return repo, rows


@pytest.mark.slow
def test_restoring_the_applied_content_main_had_changed_passes_with_applied(
    tmp_path: Path,
) -> None:
    repo, rows = _seeded(tmp_path / "repo", 6)
    assert rows[5][2] == APPLIED_V6
    repo.write("tmp/applied.json", _status_json(rows))
    repo.write("migrations/V6__t6.sql", EDITED_V6)  # merged on main by mistake
    repo.commit("edit V6 on main")
    repo.git("checkout", "-q", "-b", "repair")
    repo.write("migrations/V6__t6.sql", APPLIED_V6)
    repo.commit("put back what production applied")

    code, found = _rules(repo)
    assert code == 1
    [modified] = _history_rules(found)
    assert modified["rule"] == "modified-migration" and modified["severity"] == "error"

    code, found = _rules(repo, "--applied", "tmp/applied.json")
    assert code == 0, found
    assert _history_rules(found) == []

    # the same from the configuration key, and from a CSV export of the history table
    csv_rows = "version,name,checksum\n" + "".join(
        f"{v},{n},{refinery.checksum(n, v, c)}\n" for v, n, c in rows)
    repo.write("tmp/applied.csv", csv_rows)
    # the base's configuration governs a branch (a branch cannot change its own gate): the
    # key is set on main and merged
    repo.git("checkout", "-q", "main")
    repo.write(".migration-gate.yaml", "applied: tmp/applied.csv\n")
    repo.git("add", ".migration-gate.yaml")
    repo.git("commit", "-q", "-m", "production's applied history")
    repo.git("checkout", "-q", "repair")
    repo.git("merge", "-q", "--no-edit", "main")
    code, found = _rules(repo)
    assert code == 0 and _history_rules(found) == []


@pytest.mark.slow
def test_a_change_production_has_not_applied_is_a_warning(tmp_path: Path) -> None:
    repo, rows = _seeded(tmp_path / "repo", 6)
    repo.write("tmp/applied.json", _status_json(rows[:5]))  # production is at V5
    repo.git("checkout", "-q", "-b", "edit")
    repo.write("migrations/V6__t6.sql", EDITED_V6)
    repo.commit("edit V6")
    code, found = _rules(repo, "--applied", "tmp/applied.json")
    assert code == 0
    [modified] = _history_rules(found)
    assert modified["severity"] == "warning"
    assert "has not applied it" in modified["message"] and "tmp/applied.json" in modified["message"]
    code, found = _rules(repo, "--applied", "tmp/applied.json", "--fail-on", "warning")
    assert code == 1


@pytest.mark.slow
def test_undoing_main_s_wrong_renumbering(tmp_path: Path) -> None:
    """main renamed V3__t3 to V4__t3; production applied V3__t3. The branch that renames it
    back is clean against production, and without it no hint says to undo the repair."""
    repo, rows = _seeded(tmp_path / "repo", 3)
    repo.write("tmp/applied.json", _status_json(rows))
    repo.git("mv", "migrations/V3__t3.sql", "migrations/V4__t3.sql")
    renumbered = repo.commit("renumber (wrong)")
    repo.git("checkout", "-q", "-b", "fix")
    repo.git("mv", "migrations/V4__t3.sql", "migrations/V3__t3.sql")
    repo.commit("restore production's numbering")

    code, found = _rules(repo)
    [renamed] = _history_rules(found)
    assert renamed["rule"] == "renamed-migration"
    assert "rename it back" not in renamed["hint"]
    assert renumbered[:7] in renamed["hint"] and "--applied" in renamed["hint"]

    code, found = _rules(repo, "--applied", "tmp/applied.json")
    assert code == 0 and _history_rules(found) == [], found


@pytest.mark.slow  # over 0.6 s in the fast loop
def test_an_unreadable_applied_file_is_one_line(tmp_path: Path) -> None:
    repo, _rows = _seeded(tmp_path / "repo", 2)
    repo.git("checkout", "-q", "-b", "x")
    repo.write("bad.csv", "version;name\n1;x\n")
    done = repo.gate("check", "--no-verify", "--base", "main", "--applied", "bad.csv")
    one_line_error(done, "bad.csv", "version,name,checksum")
    with pytest.raises(GateError, match="row 1 needs an integer version"):
        parse_applied('[{"version": "x", "name": "a", "checksum": 1}]', "rows.json")


@pytest.mark.slow
def test_applied_from_a_live_database_and_from_status_json(
    tmp_path: Path, pg_cluster: Cluster, pg_db: PostgresDatabase, pg_dbname: str,
) -> None:
    """Production (a real PostgreSQL) applied V1..V6; main then edited V6; the repair branch is
    clean against `--applied-url` and against the file `status --format json` wrote."""
    repo, rows = _seeded(tmp_path / "repo", 6)
    applied_steps = runnables(
        MigrationFile(path=f"migrations/V{v}__{n}.sql", rel=f"V{v}__{n}.sql", content=c)
        for v, n, c in rows)
    assert run(pg_db, applied_steps).failure is None
    url = pg_url(pg_cluster, pg_dbname)
    status = repo.gate("status", "--database-url", url, "--format", "json")
    assert status.returncode == 0, status.stderr
    (tmp_path / "status.json").write_text(status.stdout)
    repo.write("migrations/V6__t6.sql", EDITED_V6)
    repo.commit("edit V6 on main")
    repo.git("checkout", "-q", "-b", "repair")
    repo.write("migrations/V6__t6.sql", APPLIED_V6)
    repo.commit("repair")

    for args in (("--applied-url", url), ("--applied", str(tmp_path / "status.json"))):
        code, found = _rules(repo, *args)
        assert code == 0 and _history_rules(found) == [], (args, found)
    assert [r[0] for r in pg_db.query("SELECT version FROM refinery_schema_history")] == [
        1, 2, 3, 4, 5, 6]


def test_a_new_version_below_productions_highest_is_refused_as_refinery_would(
        tmp_path: Path) -> None:
    """main is behind production: production also ran a hotfix V5 (from a release branch).
    The branch's V4 is after main's V3 but below production's V5: refinery reports it as
    missing there and never applies it. The hint moves it after V5."""
    repo, rows = _seeded(tmp_path / "repo", 3)
    hotfix = b"CREATE INDEX t1_id ON t1 (id);\n"
    repo.write("applied.json", _status_json([*rows, (5, "hotfix", hotfix)]))
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V4__feature.sql", "CREATE TABLE feature (id int);\n")
    code, found = _rules(repo)
    assert code == 0, found  # without production's history: V4 follows main's V3
    code, found = _rules(repo, "--applied", "applied.json")
    assert code == 1
    [below] = [d for d in found if d["rule"] == "version-not-after-base"]
    assert below["path"] == "migrations/V4__feature.sql"
    assert "below V5, the highest version production applied" in below["message"]
    assert "migration V4__feature is missing from the filesystem" in below["message"]
    assert "set_abort_missing" in below["message"]
    assert below["hint"].startswith("rename to V6__feature.sql")


def _flyway_behind_production(path: Path, conf: str) -> Repo:
    repo = make_repo(path)
    repo.write("flyway.conf", conf)
    repo.write("migrations/V1__init.sql", "CREATE TABLE person (id bigint PRIMARY KEY);\n")
    repo.write("migrations/V2__add-name.sql", "ALTER TABLE person ADD COLUMN name text;\n")
    rows = [{"version": "1", "name": "init", "checksum": 1},
            {"version": "2", "name": "add-name", "checksum": 2},
            {"version": None, "name": "views", "checksum": 3},  # a repeatable's row
            {"version": "2.5", "name": "hotfix", "checksum": 4}]
    repo.write("applied.json", json.dumps(rows))
    repo.commit("main")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V2.1__add-age.sql", "ALTER TABLE person ADD COLUMN age int;\n")
    return repo


def test_flyway_below_productions_highest_fails_unless_out_of_order(tmp_path: Path) -> None:
    """Flyway (`MigrationInfoImpl.validate`): a resolved migration below the highest applied
    one is "ignored" and validation fails, unless `outOfOrder=true`, which applies it."""
    strict = _flyway_behind_production(tmp_path / "strict",
                                       "flyway.locations=filesystem:migrations\n")
    code, found = _rules(strict, "--applied", "applied.json")
    assert code == 1, found
    [below] = [d for d in found if d["rule"] == "version-not-after-base"]
    assert below["severity"] == "error"
    assert "below 2.5, the highest version production applied" in below["message"]
    assert "Detected resolved migration not applied to database: 2.1" in below["message"]
    assert "set flyway.outOfOrder=true" in below["hint"]
    assert below["hint"].startswith("rename to V2.6__add-age.sql")

    lenient = _flyway_behind_production(
        tmp_path / "lenient", "flyway.locations=filesystem:migrations\nflyway.outOfOrder=true\n")
    code, found = _rules(lenient, "--applied", "applied.json")
    assert code == 0, found
    [note] = [d for d in found if d["rule"] == "version-not-after-base"]
    assert note["severity"] == "warning"
    assert "with outOfOrder=true Flyway applies it there out of order" in note["message"]
    assert "flyway.outOfOrder=false" in note["hint"]
