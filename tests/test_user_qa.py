"""Regressions found by trying every command as a demanding new user would (QA pass).

Each test runs the real command line in a real git repository (or a plain folder) and pins
one problem that was found: a hang, a silent surprise, or a message that did not say what to do.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import Repo, make_repo, one_line_error, run_gate, seed_migrations


@pytest.fixture
def seeded(repo: Repo) -> Repo:
    seed_migrations(repo, count=3)
    return repo


# --- lint -------------------------------------------------------------------------------------


def test_lint_of_a_fifo_is_an_error_not_a_hang(seeded: Repo) -> None:
    # reading a FIFO blocks until a writer comes: `lint` used to wait forever
    os.mkfifo(seeded.path / "pipe.sql")
    one_line_error(seeded.gate("lint", "pipe.sql"), "not a regular file: pipe.sql")


@pytest.mark.slow
def test_lint_of_a_folder_skips_hidden_folders(seeded: Repo) -> None:
    # `migration-gate lint .` used to lint every .sql of .venv (pgserver ships dozens) and .git
    seeded.write(".venv/lib/share/extension.sql", "DROP TABLE sessions;\n")
    seeded.write("migrations/V004__drop.sql", "DROP TABLE IF EXISTS table_1;\n")
    done = seeded.gate("lint", "--format", "json", ".")
    assert done.returncode == 0, done.stdout + done.stderr
    assert ".venv" not in done.stdout
    assert "migrations/V004__drop.sql" in done.stdout  # the real migrations are still linted
    # a hidden file named explicitly is still the user's choice
    named = seeded.gate("lint", ".venv/lib/share/extension.sql")
    assert "ban-drop-table" in named.stdout, named.stdout + named.stderr


@pytest.mark.slow
def test_lint_reads_standard_input_for_a_dash(tmp_path: Path) -> None:
    # `cat V8__x.sql | migration-gate lint -` used to say "file not found: -"
    done = run_gate("lint", "-", cwd=tmp_path,
                    input="CREATE INDEX CONCURRENTLY orders_idx ON orders (id);\n")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "-:1:14 ban-concurrent-index-creation-in-transaction error" in done.stdout
    empty = run_gate("lint", "-", cwd=tmp_path, input="")
    assert empty.returncode == 0 and "empty-migration" in empty.stdout


def test_syntax_error_hint_names_no_other_database(tmp_path: Path) -> None:
    # a SQLite migration's syntax-error used to say "if PostgreSQL accepts it"
    (tmp_path / "V1__x.sql").write_text("CREATE TABLE x (\n")
    done = run_gate("lint", "--dialect", "sqlite", "V1__x.sql", cwd=tmp_path)
    assert "syntax-error" in done.stdout, done.stdout + done.stderr
    assert "PostgreSQL" not in done.stdout


# --- configuration ----------------------------------------------------------------------------


def test_yaml_syntax_error_says_where_and_what(seeded: Repo) -> None:
    # used to stop at PyYAML's first line: "invalid YAML: while parsing a flow node"
    seeded.write(".migration-gate.yaml", "fail-on: error\ndir: [\n")
    line = one_line_error(seeded.gate("check", "--no-verify"), ".migration-gate.yaml:3:1:",
                          "invalid YAML")
    assert "expected the node content" in line


def test_configuration_file_that_is_a_folder(seeded: Repo) -> None:
    # a `.migration-gate.yaml` folder used to be ignored without a word
    (seeded.path / ".migration-gate.yaml").mkdir()
    one_line_error(seeded.gate("check", "--no-verify"), ".migration-gate.yaml is a folder")
    one_line_error(seeded.gate("list", "--config", "migrations"), "is a folder")


# --- base and git -----------------------------------------------------------------------------


def test_unknown_base_without_origin_suggests_no_fetch(seeded: Repo) -> None:
    # "try `git fetch origin nope`" in a repository without an `origin` only fails again
    line = one_line_error(seeded.gate("check", "--no-verify", "--base", "nope"), "`nope`")
    assert "git fetch" not in line and "git branch --all" in line


def test_outside_git_the_note_says_what_still_runs(tmp_path: Path) -> None:
    # the note used to claim "running the folder rules only" while the SQL rules ran too
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "V1__x.sql").write_text("ALTER TABLE users ADD COLUMN a int;\n")
    done = run_gate("check", "--no-verify", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "folder rules only" not in done.stderr
    assert "history rules are skipped" in done.stderr
    assert "prefer-robust-stmts" in done.stdout  # the SQL stage did run


# --- new --------------------------------------------------------------------------------------


def test_new_starts_the_migrations_folder_of_a_new_project(tmp_path: Path) -> None:
    # the very first `migration-gate new` in a project used to fail: "folder not found"
    project = make_repo(tmp_path / "project")
    project.write(".migration-gate.yaml", "dir: db/migrations\n")
    done = project.gate("new", "create users")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "db/migrations/V1__create_users.sql"
    assert (project.path / "db/migrations/V1__create_users.sql").is_file()
    assert "created the migrations folder db/migrations" in done.stderr
    # an explicit --dir that does not exist is more likely a typo: still an error
    one_line_error(project.gate("new", "x", "--dir", "db/migratoins"), "not found")
    assert not (project.path / "db/migratoins").exists()


# --- notes ------------------------------------------------------------------------------------


def test_json_report_carries_the_notes(tmp_path: Path) -> None:
    # the JSON `notes` list stayed empty while notes (no git, replay skipped) went to stderr only
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "V1__x.sql").write_text("SELECT 1;\n")
    done = run_gate("check", "--format", "json", "--dialect", "mssql", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    notes = json.loads(done.stdout)["notes"]
    assert any("history rules are skipped" in n for n in notes), notes
    assert all(f"migration-gate: {n}" in done.stderr for n in notes)
    # the replay that could not run is a finding now (`replay-skipped`), not a note
    skipped = [d for d in json.loads(done.stdout)["diagnostics"] if d["rule"] == "replay-skipped"]
    assert [d["severity"] for d in skipped] == ["warning"], done.stdout
    assert "no throwaway mssql database" in skipped[0]["message"]
    assert "replay skipped" not in done.stderr


def test_check_with_an_explicit_database_url_does_not_skip_silently(seeded: Repo) -> None:
    # a mistyped --database-url used to be "database replay skipped" and a green check
    done = seeded.gate("check", "--base", "main", "--database-url", "postgress://localhost/app")
    one_line_error(done, "unsupported database URL scheme 'postgress'")
    # --no-verify still wins: the server is not needed then
    assert seeded.gate("check", "--no-verify", "--database-url", "postgress://x/y").returncode == 0


def test_lint_of_a_glob_that_matches_nothing(seeded: Repo) -> None:
    # the shell hands an unmatched `db/*.sql` over as it is: "file not found: db/*.sql" read
    # as if the file had that name
    one_line_error(seeded.gate("lint", "migrations/*.mysql"), "no file matches migrations/*.mysql")
    one_line_error(seeded.gate("lint", "nope.sql"), "file not found: nope.sql")


@pytest.mark.slow  # over 0.6 s in the fast loop
def test_an_explicit_replay_that_cannot_apply_the_base_is_an_error(tmp_path: Path) -> None:
    """`verify` must never go green without replaying: a base it cannot apply is exit 2."""
    repo = make_repo(tmp_path / "repo")
    repo.write("migrations/V1__pg_only.sql",
               "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY);\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V2__more.sql", "CREATE TABLE u (id int);\n")
    repo.commit("feature")
    explicit = repo.gate("verify", "--base", "main", "--dialect", "sqlite")
    assert explicit.returncode == 2, explicit.stdout + explicit.stderr
    assert "cannot replay the migrations" in explicit.stderr
    assert "Traceback" not in explicit.stderr
    automatic = repo.gate("check", "--base", "main", "--dialect", "sqlite")
    assert automatic.returncode == 0, automatic.stdout + automatic.stderr
    assert "replay-skipped warning: the database replay was skipped" in automatic.stdout


def test_verify_keeps_its_notes_in_the_json_report(tmp_path: Path) -> None:
    folder = tmp_path / "project" / "migrations"
    folder.mkdir(parents=True)
    (folder / "V1__create.sql").write_text("CREATE TABLE t (id int);\n")
    done = run_gate("verify", "--dialect", "sqlite", "--format", "json", cwd=folder.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    notes = json.loads(done.stdout)["notes"]
    assert any("not a git repository" in note for note in notes), notes
