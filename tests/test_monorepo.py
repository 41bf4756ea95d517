"""Several migration folders in one repository (issue 15.1): real repositories, the real CLI.

Two services, each with its own refinery.toml and migrations: `api` on PostgreSQL, `ingest`
on SQLite (whose `AUTOINCREMENT` PostgreSQL cannot replay), and a Flyway service `legacy`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Repo, make_repo, one_line_error

API_SQL = "CREATE TABLE IF NOT EXISTS accounts (id bigint PRIMARY KEY);\n"
#: SQLite: valid there; as PostgreSQL it is a syntax error and a string of lint findings.
INGEST_SQL = ("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, "
              "body TEXT);\n")
#: No finding as SQLite; as PostgreSQL, a lock and a non-robust statement.
SQLITE_INDEX = "CREATE INDEX events_body ON events (body);\n"
#: Findings on a locking ALTER: some PostgreSQL-only rules fire, none fires for SQLite.
LOCKING = "ALTER TABLE accounts ADD COLUMN note text NOT NULL DEFAULT now();\n"


def monorepo(path: Path) -> Repo:
    repo = make_repo(path)
    repo.write("services/api/refinery.toml", '[main]\ndb_type = "Postgres"\n')
    repo.write("services/api/migrations/V1__accounts.sql", API_SQL)
    repo.write("services/ingest/refinery.toml", '[main]\ndb_type = "Sqlite"\n')
    repo.write("services/ingest/migrations/V1__events.sql", INGEST_SQL)
    repo.write("node_modules/pkg/refinery.toml", '[main]\ndb_type = "Mysql"\n')  # skipped
    repo.write(".hidden/refinery.toml", '[main]\ndb_type = "Mysql"\n')  # skipped
    repo.write("README.md", "two services\n")
    repo.commit("two services")
    return repo


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return monorepo(tmp_path / "repo")


def as_json(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode in (0, 1), done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def paths_of(document: dict[str, Any]) -> set[str]:
    return {d["path"] for d in document["diagnostics"]}


@pytest.mark.slow
def test_check_at_the_root_checks_each_project_with_its_own_dialect(repo: Repo) -> None:
    repo.write("services/api/migrations/V2__note.sql", LOCKING)
    repo.write("services/ingest/migrations/V2__more.sql", SQLITE_INDEX)
    document = as_json(repo.gate("check", "--no-verify", "--base", "main", "--format", "json"))
    assert document["projects"] == ["services/api/migrations (postgres, refinery)",
                                    "services/ingest/migrations (sqlite, refinery)"]
    assert document["summary"]["files"] == 4
    assert paths_of(document) == {"services/api/migrations/V2__note.sql"}  # root-relative
    # the same SQLite file, linted as PostgreSQL, has findings: the dialect made the difference
    as_pg = as_json(repo.gate("lint", "--dialect", "postgres", "--format", "json",
                              "services/ingest/migrations/V2__more.sql"))
    assert as_pg["diagnostics"]
    text = repo.gate("check", "--no-verify", "--base", "main")
    assert text.stdout.startswith(
        "Checked 2 projects: services/api/migrations (postgres, refinery), "
        "services/ingest/migrations (sqlite, refinery)\n"), text.stdout


@pytest.mark.slow
def test_history_rules_run_per_project(repo: Repo) -> None:
    """V1 exists in both projects: no duplicate; a second V1 in one of them is one."""
    repo.write("services/ingest/migrations/V1__again.sql", INGEST_SQL.replace("events", "x"))
    document = as_json(repo.gate("check", "--no-verify", "--base", "main", "--format", "json"))
    duplicates = [d for d in document["diagnostics"] if d["rule"] == "duplicate-version"]
    assert duplicates and {d["path"].split("/")[1] for d in duplicates} == {"ingest"}


@pytest.mark.slow
def test_dir_picks_the_project_and_its_replay_uses_sqlite(repo: Repo) -> None:
    done = repo.gate("check", "--dir", "services/ingest/migrations", "--verify", "--base",
                     "main", "--all", "--format", "json")
    document = as_json(done)
    assert document["projects"] == ["services/ingest/migrations (sqlite, refinery)"]
    assert document["diagnostics"] == [], document  # no PostgreSQL warnings, replay passes
    assert "AUTOINCREMENT" not in done.stderr


@pytest.mark.slow
def test_config_accepts_a_refinery_toml(repo: Repo) -> None:
    done = repo.gate("check", "--config", "services/ingest/refinery.toml", "--no-verify",
                     "--base", "main", "--all", "--format", "json")
    document = as_json(done)
    assert document["summary"]["files"] == 1 and document["diagnostics"] == []
    lint = as_json(repo.gate("lint", "--config", "services/ingest/refinery.toml", "--format",
                             "json", "services/ingest/migrations/V1__events.sql"))
    assert lint["diagnostics"] == []


def test_lint_at_the_root_uses_each_files_project(repo: Repo) -> None:
    repo.write("services/api/migrations/V2__note.sql", LOCKING)
    repo.write("services/ingest/migrations/V2__index.sql", SQLITE_INDEX)
    document = as_json(repo.gate("lint", "--format", "json",
                                 "services/api/migrations/V2__note.sql",
                                 "services/ingest/migrations/V2__index.sql"))
    assert paths_of(document) == {"services/api/migrations/V2__note.sql"}


@pytest.mark.slow
def test_configured_projects_with_overrides_and_a_flyway_project(tmp_path: Path) -> None:
    repo = monorepo(tmp_path / "repo")
    repo.write("services/legacy/flyway.conf",
               "flyway.url=jdbc:sqlite:legacy.db\nflyway.locations=filesystem:sql\n")
    repo.write("services/legacy/sql/V1__init.sql", INGEST_SQL)
    repo.commit("legacy")
    repo.write("services/api/migrations/V2__note.sql", LOCKING)
    # discovered: the Flyway project by its flyway.conf, dialect from flyway.url
    document = as_json(repo.gate("check", "--no-verify", "--base", "main", "--format", "json"))
    assert "services/legacy/sql (sqlite, flyway)" in document["projects"]
    assert "services/api/migrations/V2__note.sql" in paths_of(document)
    # configured: the api project turns its lock rules off, ingest is left out
    repo.write(".migration-gate.yaml",
               "projects:\n"
               "  - dir: services/api/migrations\n"
               "    rules: {require-lock-timeout: 'off', prefer-robust-stmts: 'off'}\n"
               "  - dir: services/legacy/sql\n"
               "    runner: flyway\n")
    configured = repo.gate("check", "--no-verify", "--format", "json")  # no base: as written
    document = as_json(configured)
    assert document["projects"] == ["services/api/migrations (postgres, refinery)",
                                    "services/legacy/sql (sqlite, flyway)"]
    assert "services/api/migrations/V2__note.sql" not in paths_of(document)


@pytest.mark.slow
def test_a_bad_projects_entry_is_one_line(tmp_path: Path) -> None:
    repo = monorepo(tmp_path / "repo")
    repo.write(".migration-gate.yaml", "projects:\n  - dir: services/api/migrations\n"
                                       "    runner: liquibase\n")
    one_line_error(repo.gate("check", "--no-verify"), "runner", "refinery, flyway")
    repo.write(".migration-gate.yaml", "projects:\n  - runner: flyway\n")
    one_line_error(repo.gate("check", "--no-verify"), "projects[0]", "dir")
    repo.write(".migration-gate.yaml", "projects:\n  - dir: services/none/migrations\n")
    one_line_error(repo.gate("check", "--no-verify"), "migrations folder not found")


@pytest.mark.slow
def test_a_single_project_repository_has_no_projects_header(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "single")
    repo.write("refinery.toml", '[main]\ndb_type = "Sqlite"\n')
    repo.write("migrations/V1__events.sql", INGEST_SQL)
    repo.write("tools/other/refinery.toml", '[main]\ndb_type = "Mysql"\n')
    repo.commit("one project")
    done = repo.gate("check", "--no-verify", "--base", "main", "--all", "--format", "json")
    document = as_json(done)
    assert "projects" not in document and document["diagnostics"] == []
    assert not repo.gate("check", "--no-verify", "--base", "main").stdout.startswith("Checked")


def test_verify_takes_the_project_of_dir_and_asks_for_one_at_the_root(repo: Repo) -> None:
    done = repo.gate("verify", "--dir", "services/ingest/migrations", "--base", "main",
                     "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr  # SQLite replays AUTOINCREMENT
    one_line_error(repo.gate("verify", "--base", "main"), "pass --dir",
                   "services/api/migrations", "services/ingest/migrations")
