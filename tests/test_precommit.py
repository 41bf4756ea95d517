"""The hooks of `.pre-commit-hooks.yaml`, run by the real pre-commit framework.

pre-commit builds the hooks' Python environment from this repository with pip (from PyPI), which
is slow, so the whole module shares one PRE_COMMIT_HOME: the environment is built once (the
repository and revision are the same in every test), then reused by `try-repo` and by the
installed git hook alike.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import CHECKOUT, Repo, clean_env, make_repo, seed_migrations

HOOKS = {hook["id"]: hook for hook in
         yaml.safe_load((CHECKOUT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def pre_commit_env(home: Path) -> dict[str, str]:
    return clean_env({"PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never",
                      "NO_COLOR": "1"})


def pre_commit(home: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args], cwd=cwd, env=pre_commit_env(home),
        capture_output=True, text=True, timeout=600,
    )


def git_commit(repo: Repo, home: Path, message: str) -> subprocess.CompletedProcess[str]:
    """A real `git commit`, which runs the hook `pre-commit install` put in .git/hooks."""
    return subprocess.run(
        ["git", "commit", "-m", message], cwd=repo.path, env=pre_commit_env(home),
        capture_output=True, text=True, timeout=600,
    )


def project(path: Path) -> Repo:
    """A project with three committed refinery migrations on main."""
    repo = make_repo(path)
    seed_migrations(repo, count=3)
    return repo


def write_config(repo: Repo, snapshot: Repo, hooks: str) -> None:
    sha = snapshot.git("rev-parse", "HEAD")
    repo.write(".pre-commit-config.yaml",
               f"repos:\n  - repo: {snapshot.path}\n    rev: {sha}\n    hooks:\n{hooks}")


# --- the definitions --------------------------------------------------------------------------


def test_hook_definitions() -> None:
    check, lint = HOOKS["migration-gate"], HOOKS["migration-gate-lint"]
    replay = HOOKS["migration-gate-replay"]
    # the fast hook says it does not replay; the replay hook has the driver and a server
    assert check["entry"] == "migration-gate check --no-verify"
    assert replay["entry"] == "migration-gate check --verify"
    assert lint["entry"] == "migration-gate lint"
    pyproject = (CHECKOUT / "pyproject.toml").read_text(encoding="utf-8")
    for requirement in replay["additional_dependencies"]:
        assert f'"{requirement}"' in pyproject  # the `postgres` extra's own requirements
    assert {r.split("[")[0].split(">")[0] for r in replay["additional_dependencies"]} == {
        "psycopg", "pgserver"}
    assert replay["files"] == check["files"] and replay["pass_filenames"] is False
    assert check["language"] == lint["language"] == replay["language"] == "python"
    assert check["pass_filenames"] is False  # the check reads the folder and git itself
    assert lint.get("pass_filenames", True) is True
    should_trigger = ["migrations/V1__a.sql", "db/migrations/V1__a.sql", "migrations/sub/V2__b.sql"]
    for path in should_trigger:
        assert re.search(check["files"], path) and re.search(lint["files"], path), path
    assert re.search(check["files"], "migrations/V1__a.rs")  # a .rs migration matters to check
    for path in ("src/main.rs", "mymigrations/V1__a.sql", "README.md", "migrations.sql"):
        assert not re.search(check["files"], path), path
    assert not re.search(lint["files"], "migrations/V1__a.rs")


# --- the framework ----------------------------------------------------------------------------


@pytest.mark.slow
def test_try_repo_check_refuses_a_misnamed_migration(tmp_path: Path, gate_snapshot: Repo,
                                                     pre_commit_home: Path) -> None:
    repo = project(tmp_path / "project")
    repo.write("migrations/v4__lower_case_prefix.sql", "CREATE TABLE IF NOT EXISTS t (id int);\n")
    repo.git("add", "-A")
    done = pre_commit(pre_commit_home, repo.path, "try-repo", str(gate_snapshot.path),
                      "migration-gate")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "migration-gate check" in done.stdout and "Failed" in done.stdout
    assert "migrations/v4__lower_case_prefix.sql:1:1 invalid-filename error" in done.stdout
    assert "rename to V004__lower_case_prefix.sql" in done.stdout


@pytest.mark.slow
def test_try_repo_check_passes_a_good_migration(tmp_path: Path, gate_snapshot: Repo,
                                                pre_commit_home: Path) -> None:
    repo = project(tmp_path / "project")
    repo.write("migrations/V004__add_things.sql", "CREATE TABLE IF NOT EXISTS things (id int);\n")
    repo.git("add", "-A")
    done = pre_commit(pre_commit_home, repo.path, "try-repo", str(gate_snapshot.path),
                      "migration-gate")
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"migration-gate check\.+Passed", done.stdout), done.stdout


@pytest.mark.slow
def test_installed_hook_refuses_a_duplicate_version_then_accepts_the_fix(
    tmp_path: Path, gate_snapshot: Repo, pre_commit_home: Path
) -> None:
    repo = project(tmp_path / "project")
    write_config(repo, gate_snapshot, "      - id: migration-gate\n")
    repo.commit("add pre-commit")
    installed = pre_commit(pre_commit_home, repo.path, "install")
    assert installed.returncode == 0, installed.stderr

    repo.write("migrations/V003__create_invoices.sql",
               "CREATE TABLE IF NOT EXISTS invoices (id bigint);\n")
    repo.git("add", "-A")
    refused = git_commit(repo, pre_commit_home, "add invoices")
    assert refused.returncode != 0
    output = refused.stdout + refused.stderr
    assert "migrations/V003__create_invoices.sql:1:1 duplicate-version error" in output
    assert "rename to V004__create_invoices.sql" in output
    assert repo.git("log", "--format=%s", "-1") == "add pre-commit"  # nothing was committed

    repo.git("mv", "migrations/V003__create_invoices.sql", "migrations/V004__create_invoices.sql")
    accepted = git_commit(repo, pre_commit_home, "add invoices")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert re.search(r"migration-gate check\.+Passed", accepted.stdout + accepted.stderr)
    assert repo.git("log", "--format=%s", "-1") == "add invoices"

    repo.write("README.md", "no migration here\n")
    repo.git("add", "README.md")
    skipped = git_commit(repo, pre_commit_home, "docs")
    assert skipped.returncode == 0
    assert "(no files to check)Skipped" in skipped.stdout + skipped.stderr


@pytest.mark.slow
def test_folder_is_configurable_through_args(tmp_path: Path, gate_snapshot: Repo,
                                             pre_commit_home: Path) -> None:
    repo = make_repo(tmp_path / "project")
    seed_migrations(repo, count=2, folder="db/migrations")
    write_config(repo, gate_snapshot,
                 "      - id: migration-gate\n"
                 "        args: [--dir, db/migrations]\n")
    repo.commit("config")
    repo.write("db/migrations/V002__again.sql", "CREATE TABLE IF NOT EXISTS again (id int);\n")
    repo.git("add", "-A")
    done = pre_commit(pre_commit_home, repo.path, "run")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "db/migrations/V002__again.sql:1:1 duplicate-version error" in done.stdout


@pytest.mark.slow
def test_lint_hook_refuses_create_index_concurrently(tmp_path: Path, gate_snapshot: Repo,
                                                     pre_commit_home: Path) -> None:
    repo = project(tmp_path / "project")
    write_config(repo, gate_snapshot, "      - id: migration-gate-lint\n")
    repo.commit("add pre-commit")
    assert pre_commit(pre_commit_home, repo.path, "install").returncode == 0

    repo.write("migrations/V004__index_tables.sql",
               "CREATE INDEX CONCURRENTLY IF NOT EXISTS table_1_id ON table_1 (id);\n")
    repo.git("add", "-A")
    refused = git_commit(repo, pre_commit_home, "index")
    assert refused.returncode != 0
    output = refused.stdout + refused.stderr
    assert "migrations/V004__index_tables.sql:1:1" in output
    assert "ban-concurrent-index-creation-in-transaction" in output

    repo.write("migrations/V004__index_tables.sql",
               "CREATE TABLE IF NOT EXISTS t9 (id bigint);\n")
    repo.git("add", "-A")
    accepted = git_commit(repo, pre_commit_home, "table")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert re.search(r"migration-gate lint\.+Passed", accepted.stdout + accepted.stderr)


@pytest.mark.slow
def test_try_repo_lint_reports_only_the_staged_files(tmp_path: Path, gate_snapshot: Repo,
                                                     pre_commit_home: Path) -> None:
    repo = project(tmp_path / "project")
    repo.write("migrations/V004__drop.sql",
               "DROP INDEX CONCURRENTLY IF EXISTS table_1_id;\n")
    repo.git("add", "-A")
    repo.write("migrations/V005__unstaged.sql",
               "CREATE INDEX CONCURRENTLY IF NOT EXISTS t ON table_2 (id);\n")
    done = pre_commit(pre_commit_home, repo.path, "try-repo", str(gate_snapshot.path),
                      "migration-gate-lint")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "migrations/V004__drop.sql" in done.stdout
    assert "V005__unstaged.sql" not in done.stdout


@pytest.mark.slow
def test_hooks_from_the_root_of_a_monorepo(tmp_path: Path, gate_snapshot: Repo,
                                           pre_commit_home: Path) -> None:
    """Two services, each with its refinery.toml: the check hook checks each project, the
    lint hook lints each file with its project's dialect (no PostgreSQL findings on SQLite)."""
    repo = make_repo(tmp_path / "monorepo")
    repo.write("services/api/refinery.toml", '[main]\ndb_type = "Postgres"\n')
    repo.write("services/ingest/refinery.toml", '[main]\ndb_type = "Sqlite"\n')
    seed_migrations(repo, count=2, folder="services/api/migrations")
    seed_migrations(repo, count=2, folder="services/ingest/migrations")
    write_config(repo, gate_snapshot, "      - id: migration-gate\n"
                                      "      - id: migration-gate-lint\n")
    repo.commit("config")
    repo.git("checkout", "-q", "-b", "feature")
    # SQLite: no finding; linted as PostgreSQL it would be a lock and a non-robust statement
    repo.write("services/ingest/migrations/V003__index.sql",
               "CREATE INDEX table_1_id ON table_1 (id);\n")
    repo.write("services/api/migrations/V002__again.sql",
               "CREATE TABLE IF NOT EXISTS again (id int);\n")
    repo.git("add", "-A")
    done = pre_commit(pre_commit_home, repo.path, "run")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "services/api/migrations/V002__again.sql:1:1 duplicate-version error" in done.stdout
    assert "Checked 2 projects: services/api/migrations (postgres, refinery), " \
           "services/ingest/migrations (sqlite, refinery)" in done.stdout
    assert "migrations folder not found" not in done.stdout
    assert re.search(r"migration-gate lint\.+Passed", done.stdout), done.stdout
    assert "V003__index.sql" not in done.stdout


@pytest.mark.slow
def test_the_replay_hook_replays(tmp_path: Path, gate_snapshot: Repo,
                                 pre_commit_home: Path) -> None:
    """migration-gate-replay's environment has the driver and the server: a migration that
    only fails when it runs is refused (the fast hook cannot see it)."""
    repo = project(tmp_path / "project")
    write_config(repo, gate_snapshot, "      - id: migration-gate\n"
                                      "      - id: migration-gate-replay\n")
    repo.commit("config")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V004__broken.sql",
               "INSERT INTO table_1 (id) VALUES (1);\nINSERT INTO table_1 (id) VALUES (1);\n")
    repo.git("add", "-A")
    done = pre_commit(pre_commit_home, repo.path, "run")
    assert done.returncode == 1, done.stdout + done.stderr
    assert re.search(r"migration-gate check\.+Passed", done.stdout), done.stdout
    assert re.search(r"migration-gate check \(replay\)\.+Failed", done.stdout), done.stdout
    assert "migrations/V004__broken.sql" in done.stdout
