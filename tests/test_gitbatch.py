"""The run's shared `git cat-file --batch` (issue 16): every base read through one process.

Real repositories; the answers are compared with what `git show` says.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_gate import gitbatch
from migration_gate.gitrun import GitError
from tests.conftest import Repo, make_repo


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = make_repo(tmp_path / "repo")
    for number in range(300):
        # large enough that requests and answers overflow a pipe: the writer thread's case
        repo.write(f"migrations/V{number:04d}__t.sql", f"-- {number}\n" + "x" * 20_000 + "\n")
    repo.commit("300 files")
    return repo


def test_many_reads_share_one_process_and_agree_with_git(repo: Repo) -> None:
    reader = gitbatch.BatchReader(repo.path)
    try:
        names = [f"HEAD:migrations/V{number:04d}__t.sql" for number in range(300)]
        first, complaint = reader.read(names)
        process = reader._process
        again, _ = reader.read(["HEAD:migrations/V0007__t.sql", "HEAD:migrations"])
        assert reader._process is process  # the same git answered both
    finally:
        assert reader.close() == 0
    assert complaint == ""
    assert [data[:8] if data else None for data in first[:3]] == [
        b"-- 0\nxxx", b"-- 1\nxxx", b"-- 2\nxxx"]
    assert first[299] == repo.git("show", "HEAD:migrations/V0299__t.sql").encode() + b"\n"
    assert again == [first[7], None]  # a folder is not a blob


def test_a_missing_object_is_none_and_the_reader_goes_on(repo: Repo) -> None:
    reader = gitbatch.BatchReader(repo.path)
    try:
        found, _ = reader.read(["HEAD:no/such.sql", "HEAD:migrations/V0001__t.sql"])
        assert found[0] is None and found[1] is not None and found[1].startswith(b"-- 1\n")
    finally:
        reader.close()


def test_outside_a_repository_is_a_git_error(tmp_path: Path) -> None:
    reader = gitbatch.BatchReader(tmp_path)
    with pytest.raises(GitError, match="cat-file"):
        reader.read(["HEAD:x.sql"])
    assert reader._process is None


def test_the_run_reader_is_shared_and_closed(repo: Repo) -> None:
    shared = gitbatch.reader(repo.path)
    assert gitbatch.reader(repo.path) is shared
    shared.read(["HEAD:migrations/V0001__t.sql"])
    process = shared._process
    assert process is not None
    gitbatch.close_all()
    assert process.returncode == 0 and gitbatch._READERS == {}
