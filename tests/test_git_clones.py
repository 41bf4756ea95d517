"""Shallow and single-branch clones whose base must be fetched, and the hints when it cannot
be (issue 13.13 and the previous release's notes).

The upstream's default branch is `master`; a stale `main` (at the first commit) exists too,
and the tag `v1.0` marks that first commit. The checked-out `feature` edits V002 (merged
everywhere) and V004 (merged on master only): compared with the right base, both edits are
found; compared with the stale `main`, the V004 edit would pass.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import Repo, clean_env, make_repo, one_line_error, run_gate

ROBUST = "CREATE TABLE IF NOT EXISTS t{n} (id bigint PRIMARY KEY);\n"


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    repo = make_repo(tmp_path_factory.mktemp("clones") / "upstream", branch="master")
    for number in (1, 2, 3):
        repo.write(f"migrations/V00{number}__t{number}.sql", ROBUST.format(n=number))
    repo.commit("V001..V003")
    repo.git("tag", "-a", "v1.0", "-m", "release 1.0")
    repo.git("branch", "main")  # stale: nobody uses it any more
    for number in (4, 5):
        repo.write(f"migrations/V00{number}__t{number}.sql", ROBUST.format(n=number))
        repo.commit(f"V00{number}")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("migrations/V002__t2.sql", ROBUST.format(n=2) + "-- edited\n")
    repo.write("migrations/V004__t4.sql", ROBUST.format(n=4) + "-- edited\n")
    repo.commit("edit V002 and V004")
    repo.git("checkout", "-q", "master")
    return repo


def clone(upstream: Repo, target: Path, *options: str) -> Repo:
    subprocess.run(["git", "clone", "-q", "--depth", "1", *options, "--branch", "feature",
                    f"file://{upstream.path}", str(target)],
                   check=True, env=clean_env(), capture_output=True)
    return Repo(target)


def check(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_gate("check", "--no-verify", *args, cwd=cwd)


def modified(done: subprocess.CompletedProcess[str]) -> set[str]:
    return {line.split(":")[0].rsplit("/", 1)[-1] for line in done.stdout.splitlines()
            if "modified-migration" in line}


@pytest.mark.slow
def test_the_remote_default_branch_is_the_base_not_a_stale_main(
    upstream: Repo, tmp_path: Path
) -> None:
    repo = clone(upstream, tmp_path / "ci")
    assert repo.git("branch", "-r") == "origin/feature"  # neither main nor master here
    done = check(repo.path)
    assert done.returncode == 1, done.stderr
    assert modified(done) == {"V002__t2.sql", "V004__t4.sql"}
    assert "merged on origin/master" in done.stdout


def test_unreachable_remote_names_no_branch_it_may_not_have(
    upstream: Repo, tmp_path: Path
) -> None:
    repo = clone(upstream, tmp_path / "cut")
    repo.git("remote", "set-url", "origin", str(tmp_path / "gone"))
    line = one_line_error(check(repo.path), "origin cannot be reached", "git fetch", "--base")
    assert "main" not in line.replace(str(tmp_path), "")


def test_base_tag_in_a_shallow_clone_is_fetched_as_a_tag(upstream: Repo, tmp_path: Path) -> None:
    repo = clone(upstream, tmp_path / "tag")
    done = check(repo.path, "--base", "v1.0")
    assert done.returncode == 1, done.stderr
    assert modified(done) == {"V002__t2.sql"}  # V004 came after v1.0
    assert "merged on v1.0" in done.stdout
    assert repo.git("rev-parse", "v1.0^{commit}") == upstream.git("rev-parse", "v1.0^{commit}")


def test_base_tag_with_an_unreachable_remote_proposes_no_branch_fetch(
    upstream: Repo, tmp_path: Path
) -> None:
    repo = clone(upstream, tmp_path / "tag-cut")
    repo.git("remote", "set-url", "origin", str(tmp_path / "gone"))
    line = one_line_error(check(repo.path, "--base", "v1.0"), "cannot be reached")
    assert "refs/heads/v1.0" not in line


def test_missing_base_on_the_remote_too(upstream: Repo, tmp_path: Path) -> None:
    repo = clone(upstream, tmp_path / "nope")
    one_line_error(check(repo.path, "--base", "no-such-thing"), "no-such-thing",
                   "or on origin")


def test_shallow_clone_whose_remote_is_not_origin(upstream: Repo, tmp_path: Path) -> None:
    repo = clone(upstream, tmp_path / "renamed", "--no-single-branch")
    repo.git("remote", "rename", "origin", "upstream")
    repo.git("remote", "set-url", "upstream", str(tmp_path / "gone"))
    one_line_error(check(repo.path), "no base branch found", "remote is `upstream`",
                   "--base upstream/BRANCH")
    deepen = one_line_error(check(repo.path, "--base", "upstream/master"), "shallow clone",
                            "git fetch --unshallow upstream")
    assert "unshallow origin" not in deepen


def test_shallow_clone_without_any_remote_says_how_to_add_one(
    upstream: Repo, tmp_path: Path
) -> None:
    repo = clone(upstream, tmp_path / "lonely", "--no-single-branch")
    master = repo.git("rev-parse", "origin/master")
    repo.git("remote", "remove", "origin")
    one_line_error(check(repo.path, "--base", master), "shallow clone",
                   "git remote add origin URL", "git fetch --unshallow origin")


def test_a_full_clone_needs_no_network(upstream: Repo, tmp_path: Path) -> None:
    """With the base in the clone, nothing is fetched: the remote may be gone."""
    subprocess.run(["git", "clone", "-q", "--branch", "feature", f"file://{upstream.path}",
                    str(tmp_path / "full-clone")], check=True, env=clean_env(),
                   capture_output=True)
    repo = Repo(tmp_path / "full-clone")
    repo.git("remote", "set-url", "origin", str(tmp_path / "gone"))
    done = check(repo.path)
    assert done.returncode == 1, done.stderr
    assert modified(done) == {"V002__t2.sql", "V004__t4.sql"}
    repo.git("tag", "-a", "v1.0-again", "v1.0", "-m", "a tag of a tag")
    done = check(repo.path, "--base", "v1.0-again")
    assert done.returncode == 1, done.stderr
    assert modified(done) == {"V002__t2.sql"}
