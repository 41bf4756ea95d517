"""The repository probe started ahead (`gitrun.start_probe`, issue 16: `check` starts it before
importing the pipeline): its answer, and its failures, are those of the probe run when asked.
Real git, real repositories in temporary folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from migration_gate import gitrun
from tests.conftest import make_repo


@pytest.fixture(autouse=True)
def fresh_probes() -> Iterator[None]:
    """Each test probes anew (the answers are kept per process)."""
    gitrun._PROBED.clear()
    yield
    gitrun._PROBED.clear()
    gitrun._STARTED.clear()


def probed(folder: Path, *, ahead: bool) -> gitrun.Repository | str | None:
    """`find_repository(folder)`, with the probe started ahead or not; a failure's message."""
    gitrun._PROBED.clear()
    if ahead:
        gitrun.start_probe(folder)
        assert folder.absolute() in gitrun._STARTED  # the guard of the comparison
    try:
        return gitrun.find_repository(folder)
    finally:
        assert folder.absolute() not in gitrun._STARTED  # read, not left running


def test_a_probe_started_ahead_answers_as_one_run_when_asked(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    repo.write("a.txt", "a\n")
    repo.commit("first")
    (repo.path / "sub").mkdir()
    for folder in (repo.path, repo.path / "sub"):
        found = probed(folder, ahead=True)
        assert isinstance(found, gitrun.Repository) and found.root == repo.path.resolve()
        assert found.head is not None
        assert found == probed(folder, ahead=False)


def test_a_probe_started_ahead_fails_as_one_run_when_asked(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / ".git").write_text("not a link\n", encoding="utf-8")
    failures = []
    for ahead in (True, False):
        with pytest.raises(gitrun.GitError) as caught:
            probed(broken, ahead=ahead)
        failures.append(str(caught.value))
    assert failures[0] == failures[1] and str(broken) in failures[0]


def test_no_probe_is_started_for_a_folder_already_probed(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    assert gitrun.find_repository(repo.path) is not None
    gitrun.start_probe(repo.path)
    assert not gitrun._STARTED
