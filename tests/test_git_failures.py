"""git that cannot be used never lets the gate pass (issue 13.1).

Every repository here holds a merged migration edited on the branch: intact, the gate finds it
(exit 1). Each test then breaks git's side in one way -- git missing, a repository git refuses,
a damaged HEAD, config, pack or object -- and the real CLI must stop with exit 2 and one line
naming the cause and the fix; only where there is no repository at all are the history rules
skipped (with a note). Everything is built with real git; nothing is mocked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Repo, clean_env, make_repo, one_line_error, run_gate

#: A uid nobody on the test machine has: a repository owned by it is "another user's".
STRANGER = 12345
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")


def edited_repo(path: Path) -> Repo:
    """main: V001..V003; checked out: feature, which edits the merged V002."""
    repo = make_repo(path)
    for number in (1, 2, 3):
        repo.write(f"migrations/V00{number}__t{number}.sql",
                   f"CREATE TABLE IF NOT EXISTS t{number} (id bigint PRIMARY KEY);\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V002__t2.sql", "CREATE TABLE IF NOT EXISTS t2 (id int);\n")
    repo.commit("edit V002")
    return repo


def check(cwd: Path, *args: str, env: dict[str, str] | None = None
          ) -> subprocess.CompletedProcess[str]:
    return run_gate("check", "--no-verify", *args, cwd=cwd, env=env)


def finds_the_edit(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 1, done.stderr
    assert "modified-migration" in done.stdout and "V002__t2.sql" in done.stdout


def base_blob(repo: Repo) -> str:
    return repo.git("rev-parse", "main:migrations/V002__t2.sql")


def plain_git(cwd: Path, *args: str, env: dict[str, str] | None = None
              ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, env=clean_env(env), capture_output=True,
                          text=True)


def test_intact_repository_finds_the_edit(tmp_path: Path) -> None:
    finds_the_edit(check(edited_repo(tmp_path / "repo").path))


# --- git missing --------------------------------------------------------------------------------


def no_git_env(tmp_path: Path) -> dict[str, str]:
    empty = tmp_path / "empty-bin"
    empty.mkdir(exist_ok=True)
    return {"PATH": str(empty)}


def test_git_missing_in_a_repository_is_exit_2(tmp_path: Path) -> None:
    repo = edited_repo(tmp_path / "repo")
    done = check(repo.path, env=no_git_env(tmp_path))
    one_line_error(done, "git is not installed", str(repo.path), "install it")


def test_git_missing_in_a_linked_worktree_is_exit_2(tmp_path: Path) -> None:
    repo = edited_repo(tmp_path / "repo")
    linked = tmp_path / "linked"
    repo.git("worktree", "add", "-q", str(linked), "feature~0")
    assert (linked / ".git").is_file()
    one_line_error(check(linked, env=no_git_env(tmp_path)), "git is not installed")


def test_git_missing_and_no_repository_skips_history_with_a_note(tmp_path: Path) -> None:
    project = tmp_path / "plain"
    (project / "migrations").mkdir(parents=True)
    (project / "migrations" / "V1__init.sql").write_text("SELECT 1;\n")
    done = check(project, env=no_git_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "git is not installed" in done.stderr and "history rules are skipped" in done.stderr


# --- a repository git refuses: another user's ---------------------------------------------------


def owned_by_a_stranger(repo: Repo) -> None:
    for folder, dirs, files in os.walk(repo.path):
        for name in (folder, *(os.path.join(folder, n) for n in (*dirs, *files))):
            os.lchown(name, STRANGER, STRANGER)
    refused = plain_git(repo.path, "rev-parse", "--show-toplevel")
    assert refused.returncode == 128 and "dubious ownership" in refused.stderr  # git refuses


@needs_root
def test_repository_of_another_user_is_exit_2_with_the_safe_directory_fix(
    tmp_path: Path
) -> None:
    repo = edited_repo(tmp_path / "repo")
    owned_by_a_stranger(repo)
    line = one_line_error(check(repo.path), "dubious ownership",
                          f"git config --global --add safe.directory {repo.path}")
    assert "not a git repository" not in line
    # the fix the message names works
    trusted = tmp_path / "gitconfig"
    trusted.write_text(f"[safe]\n\tdirectory = {repo.path}\n")
    finds_the_edit(check(repo.path, env={"GIT_CONFIG_GLOBAL": str(trusted)}))


@needs_root
def test_dir_into_a_repository_of_another_user_is_exit_2(tmp_path: Path) -> None:
    repo = edited_repo(tmp_path / "repo")
    owned_by_a_stranger(repo)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    one_line_error(check(outside, "--dir", str(repo.path / "migrations")), "safe.directory")


# --- damaged objects: a corrupt pack, a corrupt or missing object --------------------------------


def test_corrupted_pack_is_exit_2(tmp_path: Path) -> None:
    repo = edited_repo(tmp_path / "repo")
    repo.git("gc", "-q", "--prune=now")
    [pack] = (repo.path / ".git" / "objects" / "pack").glob("*.pack")
    data = bytearray(pack.read_bytes())
    for index in range(12, len(data) - 20):  # every object; header and checksum left alone
        data[index] ^= 0x5A
    pack.chmod(0o644)
    pack.write_bytes(bytes(data))
    one_line_error(check(repo.path), "git cannot read the repository", "git fsck")


def test_corrupted_loose_object_of_the_base_is_exit_2(tmp_path: Path) -> None:
    repo = edited_repo(tmp_path / "repo")
    blob = base_blob(repo)
    stored = repo.path / ".git" / "objects" / blob[:2] / blob[2:]
    stored.chmod(0o644)
    stored.write_bytes(stored.read_bytes()[:2] + b"garbage" * 4)
    one_line_error(check(repo.path), "V002__t2.sql", blob[:12], "cannot be read", "git fsck")


def test_missing_object_of_the_base_is_exit_2(tmp_path: Path) -> None:
    repo = edited_repo(tmp_path / "repo")
    blob = base_blob(repo)
    (repo.path / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    one_line_error(check(repo.path), "migrations/V002__t2.sql", "missing from the git object")


@pytest.mark.slow
def test_base_ref_to_a_missing_commit_does_not_fall_through_to_a_stale_fallback(
    tmp_path: Path
) -> None:
    """main's tip is gone; master, an older fallback, lacks V002: comparing with it would
    take the edited V002 for a new file and pass."""
    repo = make_repo(tmp_path / "repo")
    repo.write("migrations/V001__t1.sql", "SELECT 1;\n")
    repo.commit("V001")
    repo.git("branch", "master")
    repo.write("migrations/V002__t2.sql", "SELECT 2;\n")
    repo.commit("V002")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V002__t2.sql", "SELECT 22;\n")
    repo.commit("edit V002")
    repo.git("checkout", "-q", "main")
    repo.write("docs.txt", "main moves on\n")
    tip = repo.commit("docs")
    repo.git("checkout", "-q", "feature")
    finds_the_edit(check(repo.path))
    (repo.path / ".git" / "objects" / tip[:2] / tip[2:]).unlink()
    one_line_error(check(repo.path), "missing object", "refs/heads/main")


def test_partial_clone_whose_remote_is_gone_is_exit_2(tmp_path: Path) -> None:
    upstream = edited_repo(tmp_path / "upstream")
    upstream.git("config", "uploadpack.allowFilter", "true")
    clone = tmp_path / "partial"
    subprocess.run(["git", "clone", "-q", "--filter=blob:none", "--branch", "feature",
                    f"file://{upstream.path}", str(clone)],
                   check=True, env=clean_env(), capture_output=True)
    Repo(clone).git("remote", "set-url", "origin", str(tmp_path / "gone"))
    one_line_error(check(clone, "--base", "origin/main"), "partial clone", "git remote -v")


# --- a damaged HEAD, .git link, GIT_DIR -------------------------------------------------------


def test_garbage_head_is_exit_2(tmp_path: Path) -> None:
    repo = edited_repo(tmp_path / "repo")
    (repo.path / ".git" / "HEAD").write_text("garbage\n")
    assert "not a git repository" in plain_git(repo.path, "status").stderr  # git's own view
    one_line_error(check(repo.path), ".git/HEAD is damaged", "ref: refs/heads/main")


def test_head_on_a_garbage_branch_ref_is_exit_2(tmp_path: Path) -> None:
    repo = edited_repo(tmp_path / "repo")
    (repo.path / ".git" / "refs" / "heads" / "feature").write_text("garbage\n")
    one_line_error(check(repo.path), "HEAD", "names no commit")


def test_worktree_whose_repository_is_gone_is_exit_2(tmp_path: Path) -> None:
    repo = edited_repo(tmp_path / "repo")
    linked = tmp_path / "linked"
    repo.git("worktree", "add", "-q", str(linked), "feature~0")
    shutil.rmtree(repo.path / ".git" / "worktrees")
    one_line_error(check(linked), f"{linked}/.git", "which does not exist")


def test_git_dir_pointing_nowhere_is_exit_2(tmp_path: Path) -> None:
    repo = edited_repo(tmp_path / "repo")
    one_line_error(check(repo.path, env={"GIT_DIR": str(tmp_path / "nowhere")}),
                   "GIT_DIR=", "unset GIT_DIR")


def test_nested_damaged_repository_is_not_taken_for_its_parent(tmp_path: Path) -> None:
    """git skips a damaged `.git` and uses the enclosing repository: that one's history is
    not this project's."""
    outer = make_repo(tmp_path / "outer")
    outer.write("README.md", "outer\n")
    outer.commit()
    inner = edited_repo(tmp_path / "outer" / "inner")
    (inner.path / ".git" / "HEAD").write_text("garbage\n")
    one_line_error(check(inner.path), "inner/.git", "is damaged")


# --- a damaged config ------------------------------------------------------------------------


def test_garbage_config_is_exit_2(tmp_path: Path) -> None:
    repo = edited_repo(tmp_path / "repo")
    (repo.path / ".git" / "config").write_text("[[[garbage\n")
    one_line_error(check(repo.path), "bad config line 1", "configuration file")


def test_unknown_repository_extension_is_exit_2(tmp_path: Path) -> None:
    repo = edited_repo(tmp_path / "repo")
    (repo.path / ".git" / "config").write_text(
        "[core]\n\trepositoryformatversion = 1\n[extensions]\n\tfrobnicate = yes\n"
    )
    one_line_error(check(repo.path), "frobnicate", "upgrade git")


def test_other_commands_share_the_guard(tmp_path: Path) -> None:
    """next-version counts the base too: a broken repository is no reason to guess."""
    repo = edited_repo(tmp_path / "repo")
    (repo.path / ".git" / "config").write_text("[[[garbage\n")
    one_line_error(run_gate("next-version", cwd=repo.path), "bad config")
