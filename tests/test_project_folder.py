"""The local commands find the migrations folder where `check` does.

A new user's Flyway project (2026-11-30): `flyway.conf` names `filesystem:db/migration` and there
is no `migrations/`. `check` found the project, but `next-version`, `new` and `list` said
"migrations folder not found: migrations", and `new` created an empty `migrations/` with a
`V1__…` in it -- beside the project's real folder, where Flyway never looks.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Repo, make_repo, one_line_error

MAIN = {
    "db/migration/V1__init.sql": "CREATE TABLE IF NOT EXISTS person (id bigint);\n",
    "db/migration/V1.1__add-name.sql": "ALTER TABLE person ADD COLUMN IF NOT EXISTS n text;\n",
    "db/migration/V2__add_age.sql": "ALTER TABLE person ADD COLUMN IF NOT EXISTS age int;\n",
}


def flyway_project(path: Path) -> Repo:
    repo = make_repo(path)
    repo.write("flyway.conf", "flyway.locations=filesystem:db/migration\n")
    for name, sql in MAIN.items():
        repo.write(name, sql)
    repo.commit("main")
    return repo


def test_next_version_new_and_list_use_the_projects_folder(tmp_path: Path) -> None:
    repo = flyway_project(tmp_path / "repo")
    assert repo.gate("next-version").stdout.strip() == "V3"
    created = repo.gate("new", "add phone")
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "db/migration/V3__add_phone.sql"
    assert not (repo.path / "migrations").exists()
    rows = json.loads(repo.gate("list", "--format", "json").stdout)
    assert [row["path"] for row in rows][-1] == "db/migration/V3__add_phone.sql"


def test_two_projects_and_no_dir_is_one_line_naming_them(tmp_path: Path) -> None:
    repo = flyway_project(tmp_path / "repo")
    repo.write("billing/refinery.toml", "")
    repo.write("billing/migrations/V1__a.sql", "SELECT 1;\n")
    repo.commit("second project")
    done = repo.gate("next-version")
    assert done.returncode == 2
    assert "2 projects here" in one_line_error(done) and "pass --dir" in one_line_error(done)


def test_a_missing_project_folder_is_named_and_new_creates_no_migrations_folder(
        tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    repo.write("flyway.conf", "flyway.locations=filesystem:db/migration\n")
    repo.commit("no migration yet")
    for command in (("next-version",), ("new", "first")):
        error = one_line_error(repo.gate(*command), "migrations folder not found")
        assert "db/migration" in error, error
    assert not (repo.path / "migrations").exists()
