"""The plain git hooks (`migration_gate/githooks/`) and `migration-gate install-hooks`,
run by real `git commit` and `git push` to a local bare remote."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CHECKOUT, Repo, clean_env, make_repo, run_gate, seed_migrations

HOOKS = ("pre-commit", "pre-push")
#: The hooks' one copy, shipped in the package for `install-hooks`.
HOOK_SOURCES = CHECKOUT / "migration_gate" / "githooks"
#: The hooks find `migration-gate` on PATH, as on a developer's machine.
GATE_BIN = str(Path(sys.executable).parent)


def hook_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The hooks run the gate without the database replay (tested elsewhere), which also
    exercises MIGRATION_GATE_ARGS."""
    env = clean_env({"MIGRATION_GATE_ARGS": "--no-verify", **(extra or {})})
    env["PATH"] = GATE_BIN + os.pathsep + env.get("PATH", "")
    return env


def git(repo: Path, *args: str, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=repo, env=hook_env(env), capture_output=True,
                          text=True, timeout=300)


def output(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout + done.stderr


def with_hooks_folder(repo: Repo) -> Repo:
    """The scripts copied into a `hooks/` folder of the repository (`git config core.hooksPath
    hooks`), as a team that commits its hooks does."""
    for name in HOOKS:
        target = repo.path / "hooks" / name
        target.parent.mkdir(exist_ok=True)
        shutil.copy2(HOOK_SOURCES / name, target)
    repo.git("config", "core.hooksPath", "hooks")
    return repo


# --- the scripts ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", HOOKS)
def test_scripts_are_executable_posix_sh(name: str) -> None:
    script = HOOK_SOURCES / name
    assert script.stat().st_mode & stat.S_IXUSR
    text = script.read_text(encoding="utf-8")
    assert text.startswith("#!/bin/sh\n")
    for shell in ("sh", "dash", "bash"):
        if shutil.which(shell):
            done = subprocess.run([shell, "-n", str(script)], capture_output=True, text=True)
            assert done.returncode == 0, f"{shell}: {done.stderr}"


# --- pre-commit -------------------------------------------------------------------------------


def test_pre_commit_hook_refuses_a_bad_migration_and_accepts_a_good_one(repo: Repo) -> None:
    seed_migrations(repo, count=3)
    with_hooks_folder(repo)
    repo.write("migrations/V2__too_low.sql", "CREATE TABLE IF NOT EXISTS low (id int);\n")
    git(repo.path, "add", "-A")
    refused = git(repo.path, "commit", "-m", "too low")
    assert refused.returncode != 0
    assert "migrations/V2__too_low.sql:1:1 duplicate-version error" in output(refused)
    assert "commit refused" in output(refused)
    assert repo.git("log", "--format=%s", "-1") == "V001..V003"

    git(repo.path, "mv", "migrations/V2__too_low.sql", "migrations/V004__high_enough.sql")
    accepted = git(repo.path, "commit", "-m", "good")
    assert accepted.returncode == 0, output(accepted)
    assert repo.git("log", "--format=%s", "-1") == "good"


def test_pre_commit_hook_runs_only_when_migrations_are_committed(repo: Repo) -> None:
    seed_migrations(repo, count=2)
    with_hooks_folder(repo)
    repo.write("migrations/v3__untracked_and_bad.sql", "SELECT 1;\n")  # would fail the gate
    repo.write("README.md", "docs\n")
    git(repo.path, "add", "README.md")
    done = git(repo.path, "commit", "-m", "docs only")
    assert done.returncode == 0, output(done)
    assert "migration-gate" not in output(done)

    repo.write("migrations/V003__fine.sql", "SELECT 1;\n")
    git(repo.path, "add", "migrations/V003__fine.sql")
    done = git(repo.path, "commit", "-m", "fine, but the folder is not")
    assert done.returncode != 0
    assert "unstaged or untracked migrations are checked too" in output(done)
    assert "v3__untracked_and_bad.sql:1:1 invalid-filename" in output(done)


def test_pre_commit_hook_honours_a_configured_folder_and_skip(repo: Repo) -> None:
    seed_migrations(repo, count=2, folder="db/sql")
    with_hooks_folder(repo)
    repo.git("config", "migration-gate.dir", "db/sql")
    repo.write("db/sql/V1__clash.sql", "SELECT 1;\n")
    git(repo.path, "add", "-A")
    refused = git(repo.path, "commit", "-m", "clash")
    assert refused.returncode != 0
    assert "db/sql/V1__clash.sql:1:1 duplicate-version error" in output(refused)
    skipped = git(repo.path, "commit", "-m", "clash", env={"MIGRATION_GATE_SKIP": "1"})
    assert skipped.returncode == 0, output(skipped)


@pytest.mark.slow
def test_extra_arguments_reach_the_gate(repo: Repo) -> None:
    seed_migrations(repo, count=2)
    with_hooks_folder(repo)
    repo.write("migrations/V004__skips_v003.sql", "SELECT 1;\n")  # a version-gap warning
    git(repo.path, "add", "-A")
    strict = git(repo.path, "commit", "-m", "gap",
                 env={"MIGRATION_GATE_ARGS": "--no-verify --fail-on warning"})
    assert strict.returncode != 0
    assert "migrations/V004__skips_v003.sql:1:1 version-gap warning" in output(strict)
    lenient = git(repo.path, "commit", "-m", "gap")
    assert lenient.returncode == 0, output(lenient)


def test_a_missing_gate_is_a_clear_refusal(repo: Repo) -> None:
    seed_migrations(repo, count=1)
    with_hooks_folder(repo)
    repo.write("migrations/V002__next.sql", "SELECT 1;\n")
    git(repo.path, "add", "-A")
    done = git(repo.path, "commit", "-m", "x", env={"MIGRATION_GATE": "no-such-gate-command"})
    assert done.returncode != 0
    assert "`no-such-gate-command` not found" in output(done)


# --- pre-push ---------------------------------------------------------------------------------


@pytest.fixture
def cloned(tmp_path: Path) -> tuple[Path, Repo]:
    """A bare remote holding V001..V003 on main, and a clone of it with the hooks in place."""
    seed = make_repo(tmp_path / "seed")
    seed_migrations(seed, count=3)
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(seed.path), str(remote)],
                   env=clean_env(), check=True)
    subprocess.run(["git", "clone", "-q", str(remote), str(tmp_path / "work")],
                   env=clean_env(), check=True)
    return remote, with_hooks_folder(Repo(tmp_path / "work"))


def remote_branches(remote: Path) -> str:
    return git(remote, "for-each-ref", "--format=%(refname:short)", "refs/heads").stdout


@pytest.mark.slow
def test_pre_push_refuses_editing_a_migration_that_is_on_the_remote(
    cloned: tuple[Path, Repo],
) -> None:
    remote, work = cloned
    git(work.path, "checkout", "-q", "-b", "feature")
    work.write("migrations/V002__create_table_2.sql", "CREATE TABLE table_2 (id int);\n")
    # the pre-commit hook would refuse this commit too: skip it to reach pre-push
    git(work.path, "commit", "-qam", "edit V002", "--no-verify")
    refused = git(work.path, "push", "-q", "origin", "feature")
    assert refused.returncode != 0
    assert "checking refs/heads/feature against origin/main" in output(refused)
    assert "migrations/V002__create_table_2.sql:1:1 modified-migration error" in output(refused)
    assert "push refused" in output(refused)
    assert "feature" not in remote_branches(remote)

    git(work.path, "revert", "--no-edit", "HEAD")
    work.write("migrations/V004__add_things.sql", "CREATE TABLE IF NOT EXISTS things (id int);\n")
    git(work.path, "add", "-A")
    assert git(work.path, "commit", "-qm", "V004").returncode == 0
    pushed = git(work.path, "push", "-q", "origin", "feature")
    assert pushed.returncode == 0, output(pushed)
    assert "feature" in remote_branches(remote)


def test_pre_push_checks_the_pushed_commit_not_the_checked_out_one(
    cloned: tuple[Path, Repo],
) -> None:
    remote, work = cloned
    git(work.path, "checkout", "-q", "-b", "bad")
    work.write("migrations/V003__create_table_3.sql", "DROP TABLE table_3;\n")
    git(work.path, "commit", "-qam", "edit V003", "--no-verify")
    git(work.path, "checkout", "-q", "main")
    refused = git(work.path, "push", "-q", "origin", "bad")
    assert refused.returncode != 0
    assert "migrations/V003__create_table_3.sql:1:1 modified-migration error" in output(refused)
    assert "bad" not in remote_branches(remote).split()
    assert git(work.path, "worktree", "list").stdout.count("\n") == 1  # the temporary one is gone

    # deleting a remote branch checks nothing
    git(work.path, "push", "-q", "origin", "main:gone")
    deleted = git(work.path, "push", "-q", "origin", "--delete", "gone")
    assert deleted.returncode == 0, output(deleted)


def test_pre_push_without_migration_changes_is_silent(cloned: tuple[Path, Repo]) -> None:
    _remote, work = cloned
    work.write("README.md", "docs\n")
    git(work.path, "add", "-A")
    git(work.path, "commit", "-qm", "docs")
    done = git(work.path, "push", "-q", "origin", "main")
    assert done.returncode == 0, output(done)
    assert "migration-gate" not in output(done)


@pytest.mark.slow
def test_pre_push_fetches_the_base_first_and_says_so_once_offline(
    cloned: tuple[Path, Repo], tmp_path: Path,
) -> None:
    """Someone merged a V004 on the remote since this clone fetched: the push of a branch
    adding its own V004 is refused, because the hook fetched the base before checking."""
    remote, work = cloned
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(remote), str(other)], env=clean_env(), check=True)
    Repo(other).write("migrations/V004__theirs.sql", "CREATE TABLE IF NOT EXISTS t (id int);\n")
    Repo(other).commit("theirs")
    git(other, "push", "-q", "origin", "main")

    git(work.path, "checkout", "-q", "-b", "mine")
    work.write("migrations/V004__mine.sql", "CREATE TABLE IF NOT EXISTS m (id int);\n")
    git(work.path, "add", "-A")
    assert git(work.path, "commit", "-qm", "mine").returncode == 0
    refused = git(work.path, "push", "-q", "origin", "mine")
    assert refused.returncode != 0, output(refused)
    assert "version-not-after-base" in output(refused)
    assert "V004__theirs.sql was merged there" in output(refused)
    assert "could not fetch" not in output(refused)

    # offline: the fetch fails, one note, and the check still runs on what is here
    git(work.path, "remote", "set-url", "--push", "origin", str(remote))
    git(work.path, "config", "remote.origin.url", str(tmp_path / "gone.git"))
    git(work.path, "config", "remote.origin.pushurl", str(remote))
    offline = git(work.path, "push", "-q", "origin", "mine")
    assert output(offline).count("could not fetch origin/main (offline?)") == 1, output(offline)
    assert "version-not-after-base" in output(offline)


# --- install-hooks ----------------------------------------------------------------------------


def install(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    return run_gate("install-hooks", *args, cwd=repo.path)


def test_install_hooks_into_dot_git_hooks_and_reinstall(repo: Repo) -> None:
    done = install(repo)
    assert done.returncode == 0, done.stderr
    for name in HOOKS:
        installed = repo.path / ".git" / "hooks" / name
        assert installed.read_bytes() == (HOOK_SOURCES / name).read_bytes()
        assert installed.stat().st_mode & stat.S_IXUSR
        assert f"{installed}: installed" in done.stdout
    again = install(repo)
    assert again.returncode == 0
    assert again.stdout.count("already installed") == 2


def test_install_hooks_refuses_to_clobber_a_foreign_hook(repo: Repo) -> None:
    foreign = repo.write(".git/hooks/pre-push", "#!/bin/sh\necho mine\n")
    done = install(repo)
    assert done.returncode == 2
    assert "pre-push already exists and is not migration-gate's; rerun with --chain" in done.stderr
    assert foreign.read_text(encoding="utf-8") == "#!/bin/sh\necho mine\n"
    assert not (repo.path / ".git" / "hooks" / "pre-commit").exists()  # nothing half-done


@pytest.mark.slow
def test_install_hooks_chains_an_existing_hook_which_then_runs_first(repo: Repo) -> None:
    seed_migrations(repo, count=2)
    repo.write(".git/hooks/pre-commit", "#!/bin/sh\necho previous-ran >> previous.log\n")
    (repo.path / ".git" / "hooks" / "pre-commit").chmod(0o755)
    done = install(repo, "--chain", "--hook", "pre-commit")
    assert done.returncode == 0, done.stderr
    assert "runs first" in done.stdout
    assert (repo.path / ".git" / "hooks" / "pre-commit.previous").is_file()
    assert not (repo.path / ".git" / "hooks" / "pre-push").exists()

    repo.write("migrations/V1__clash.sql", "SELECT 1;\n")
    git(repo.path, "add", "migrations")
    refused = git(repo.path, "commit", "-m", "clash")
    assert refused.returncode != 0
    assert "duplicate-version" in output(refused)
    assert (repo.path / "previous.log").read_text(encoding="utf-8") == "previous-ran\n"

    second = install(repo, "--chain", "--hook", "pre-commit")
    assert "already installed" in second.stdout


def test_install_hooks_honours_core_hooks_path(repo: Repo) -> None:
    repo.git("config", "core.hooksPath", ".githooks")
    done = install(repo, "--hook", "pre-push")
    assert done.returncode == 0, done.stderr
    assert (repo.path / ".githooks" / "pre-push").is_file()
    assert not (repo.path / ".git" / "hooks" / "pre-push").exists()


def test_install_hooks_outside_a_repository(tmp_path: Path) -> None:
    done = run_gate("install-hooks", cwd=tmp_path)
    assert done.returncode == 2
    assert "cannot install hooks: not a git repository" in done.stderr
    assert "Traceback" not in done.stderr
