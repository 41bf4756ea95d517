"""How many git processes a `check` starts, and what it reads (issue 16.1).

A `git` on PATH that logs each call (and what `cat-file` is fed) before running the real git
counts them. On a 500-migration repository whose branch adds 2 files, `check --no-verify`
starts 5 (it started 12: seven of them probing fallback bases one by one): one `rev-parse`,
one `for-each-ref` for every candidate base, one `merge-base`, one `ls-tree`, one `ls-files`
(the files git vouches are unchanged since the base, not read at all) -- and reads no file
content from git at all, since every base file is byte-identical to the working tree's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from migration_gate import gitrun
from migration_gate.gitbase import has_commit_graph, write_commit_graph
from tests.conftest import Repo, clean_env, make_repo, run_gate

#: The most git processes a plain `check --no-verify` may start (measured: 5).
#: rev-parse, for-each-ref, merge-base, ls-tree, ls-files, one cat-file --batch for the base's
#: configuration files where they differ from the working tree's (the base governs:
#: baseconfig.py), and one `git log` for the burned versions the first time a base tip is
#: seen (then cached).
MAX_GIT_PROCESSES = 7


@pytest.fixture(scope="module")
def big_repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    """main: 500 migrations; checked out: feature, which adds 2."""
    repo = make_repo(tmp_path_factory.mktemp("calls") / "repo")
    for number in range(1, 501):
        repo.write(f"migrations/V{number:04d}__t{number}.sql",
                   f"CREATE TABLE IF NOT EXISTS t{number} (id bigint PRIMARY KEY);\n")
    repo.commit("500 migrations")
    repo.git("checkout", "-q", "-b", "feature")
    for number in (501, 502):
        repo.write(f"migrations/V{number:04d}__t{number}.sql",
                   f"CREATE TABLE IF NOT EXISTS t{number} (id bigint PRIMARY KEY);\n")
    repo.commit("two more")
    return repo


CONFIG_NAMES = (".migration-gate.yaml", ".migration-gate.yml", "pyproject.toml", "refinery.toml",
                "flyway.conf", "flyway.toml")


def counting_git(folder: Path) -> tuple[dict[str, str], Path]:
    """An environment whose `git` logs its arguments (and `cat-file`'s input), then runs git."""
    real = shutil.which("git")
    assert real is not None
    folder.mkdir()
    log = folder / "calls.log"
    script = folder / "git"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{log}"\n'
        f'if [ "$1" = cat-file ]; then tee -a "{log}.stdin" | "{real}" "$@"; exit $?; fi\n'
        f'exec "{real}" "$@"\n'
    )
    script.chmod(0o755)
    return {"PATH": f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"}, log


def calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


@pytest.mark.slow
def test_check_starts_at_most_five_git_processes(big_repo: Repo, tmp_path: Path) -> None:
    env, log = counting_git(tmp_path / "bin")
    done = run_gate("check", "--no-verify", cwd=big_repo.path, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "502 files" in done.stdout
    started = calls(log)
    assert len(started) <= MAX_GIT_PROCESSES, started
    assert sum(call.startswith("cat-file") for call in started) <= 1, started
    assert sum(call.startswith("ls-tree") for call in started) == 1, started
    assert sum("ls-files" in call for call in started) == 1, started


def test_only_the_edited_base_file_is_read(big_repo: Repo, tmp_path: Path) -> None:
    edited = big_repo.path / "migrations" / "V0007__t7.sql"
    original = edited.read_bytes()
    edited.write_bytes(original + b"ALTER TABLE t7 ADD COLUMN IF NOT EXISTS c text;\n")
    try:
        env, log = counting_git(tmp_path / "bin")
        done = run_gate("check", "--no-verify", "--base", "main", cwd=big_repo.path, env=env)
    finally:
        edited.write_bytes(original)
    assert done.returncode == 1
    assert "modified-migration" in done.stdout and "V0007__t7.sql" in done.stdout
    started = calls(log)
    assert len(started) <= MAX_GIT_PROCESSES + 1, started  # + cat-file --filters
    # the configuration files and the edited blob share one `cat-file --batch` (gitbatch.py)
    assert sum(call == "cat-file --batch" for call in started) == 1, started
    blob = big_repo.git("rev-parse", "main:migrations/V0007__t7.sql")
    read = Path(f"{log}.stdin").read_text().split()
    assert blob in read  # one blob of 500; the rest are the base's configuration files
    assert [r for r in read if r != blob and not r.endswith(CONFIG_NAMES)] == [], read


def test_a_renamed_base_file_is_read_and_found(big_repo: Repo, tmp_path: Path) -> None:
    """Renames are told by content: the base file's bytes must be there for the comparison."""
    folder = big_repo.path / "migrations"
    (folder / "V0009__t9.sql").rename(folder / "V0009__table_nine.sql")
    try:
        done = run_gate("check", "--no-verify", "--base", "main", cwd=big_repo.path)
    finally:
        (folder / "V0009__table_nine.sql").rename(folder / "V0009__t9.sql")
    assert done.returncode == 1
    assert "renamed-migration" in done.stdout and "rename it back to V0009__t9.sql" in done.stdout


@pytest.mark.slow
def test_the_base_configuration_is_read_from_git_only_where_it_differs(tmp_path: Path) -> None:
    """The base's configuration files are listed by the migrations folder's `ls-tree`: absent
    or identical to the working tree's, none is read (no `cat-file` at all); one the branch
    edits is read from git, and its change reported (issue 16: a git process fewer per run)."""
    repo = make_repo(tmp_path / "repo")
    repo.write(".migration-gate.yaml", "fail-on: error\n")
    for number in (1, 2):
        repo.write(f"migrations/V{number}__t{number}.sql",
                   f"CREATE TABLE IF NOT EXISTS t{number} (id bigint PRIMARY KEY);\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V3__t3.sql", "CREATE TABLE IF NOT EXISTS t3 (id bigint PRIMARY KEY);\n")
    repo.commit("one more")

    env, log = counting_git(tmp_path / "bin")
    done = run_gate("check", "--no-verify", cwd=repo.path, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "config-changed" not in done.stdout
    started = calls(log)
    assert not [call for call in started if call.startswith("cat-file")], started
    assert sum(call.startswith("ls-tree") for call in started) == 1, started

    repo.write(".migration-gate.yaml", "fail-on: warning\n")
    repo.commit("loosen nothing, but change it")
    log.unlink()
    done = run_gate("check", "--no-verify", cwd=repo.path, env=env)
    assert "config-changed" in done.stdout and "`fail-on`" in done.stdout, done.stdout
    assert "cat-file --batch" in calls(log)
    assert Path(f"{log}.stdin").read_text().split() == [
        f"{repo.git('merge-base', 'HEAD', 'main')}:.migration-gate.yaml"]


# --- the commit-graph ------------------------------------------------------------------------


def test_commit_graph_is_written_once_and_never_in_a_shallow_clone(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    for number in range(3):
        repo.write("log.txt", f"{number}\n")
        repo.commit(f"commit {number}")
    found = gitrun.find_repository(repo.path)
    assert found is not None and not has_commit_graph(found)
    assert write_commit_graph(found)
    assert has_commit_graph(found)
    assert repo.git("commit-graph", "verify") == ""  # a graph git itself accepts
    assert not write_commit_graph(found)  # there already
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo.path}", str(shallow)],
                   check=True, env=clean_env(), capture_output=True)
    in_shallow = gitrun.find_repository(shallow)
    assert in_shallow is not None and in_shallow.shallow
    assert not write_commit_graph(in_shallow)
    assert not has_commit_graph(in_shallow)
