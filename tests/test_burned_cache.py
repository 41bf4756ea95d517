"""The burned versions' cache file (`burned._store`, issue 16): the burned versions first, then
every version's latest addition, which a check that only reads the answer does not decode
(thousands of additions: 3 ms of a warm check over 5,000 files). Real git."""

from __future__ import annotations

from pathlib import Path

import pytest

from migration_gate import burned
from tests.conftest import commit_then_delete_v2, make_repo


def test_a_read_decodes_the_burned_versions_alone(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIGRATION_GATE_CACHE_DIR", str(tmp_path / "cache"))
    repo = make_repo(tmp_path / "repo")
    tip = commit_then_delete_v2(repo)
    scanned = burned.burned_versions(repo.path, tip, "migrations", [])
    assert [b.version for b in scanned] == [2]
    file = burned._cache_file(tip, "migrations", False)
    data = file.read_bytes()
    size = int.from_bytes(data[:4], "little")
    full = burned._cached(tip, "migrations", False)
    assert full is not None and set(full.added) == {1, 2, 3} and set(full.found) == {2}
    file.write_bytes(data[:4 + size] + b"\x00damaged")  # the additions only
    read = burned._cached(tip, "migrations", False, with_added=False)
    assert read is not None and read.found == full.found and read.added == {}
    assert burned._cached(tip, "migrations", False) is None  # extending needs them: a new scan
    assert burned.burned_versions(repo.path, tip, "migrations", []) == scanned
    file.write_bytes(data[:4 + size - 1])  # cut short
    assert burned._cached(tip, "migrations", False, with_added=False) is None
