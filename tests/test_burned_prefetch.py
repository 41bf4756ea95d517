"""The burned versions' `git log` started early (`burned.prefetch`, issue 16: a cold check's
~15 ms run while the base's configuration and folder are read) gives the answer of the scan it
replaces, and git's failure where the answer is needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_gate import burned
from migration_gate.gitrun import GitError
from tests.conftest import commit_then_delete_v2, make_repo

SQL = "CREATE TABLE IF NOT EXISTS {table} (id bigint PRIMARY KEY);\n"


def test_a_prefetched_scan_is_the_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIGRATION_GATE_CACHE_DIR", str(tmp_path / "cache"))
    repo = make_repo(tmp_path / "repo")
    tip = commit_then_delete_v2(repo)

    burned.prefetch(repo.path, tip, "migrations", False)
    assert burned._PENDING  # the scan is under way: no cache yet
    found = burned.burned_versions(repo.path, tip, "migrations", [])
    assert not burned._PENDING
    assert [(b.version, b.file_name) for b in found] == [(2, "V2__t2.sql")]
    cold = burned.scan_log(burned._log(repo.path, tip, "migrations"), "migrations")
    assert [b.version for b in found] == sorted(cold.found)

    burned.prefetch(repo.path, tip, "migrations", False)
    assert not burned._PENDING  # cached now: nothing to start
    assert burned.burned_versions(repo.path, tip, "migrations", [2]) == ()


def test_git_s_failure_is_raised_where_the_answer_is_needed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIGRATION_GATE_CACHE_DIR", str(tmp_path / "cache"))
    repo = make_repo(tmp_path / "repo")
    repo.write("migrations/V1__t1.sql", SQL.format(table="t1"))
    repo.commit("V1")
    missing = "0" * 40
    burned.prefetch(repo.path, missing, "migrations", False)
    with pytest.raises(GitError):
        burned.burned_versions(repo.path, missing, "migrations", [])
    assert not burned._PENDING
