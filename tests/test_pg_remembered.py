"""What `postgres --version` and `pg_config --bindir` said is remembered in the cache folder
(`ephemeral.remembered`): asked once, not on every replay, and asked again as soon as the
program is another file. Real programs (small scripts standing in for PostgreSQL's)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from migration_gate.ephemeral import pgbinaries, remembered


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("MIGRATION_GATE_CACHE_DIR", str(cache))
    monkeypatch.setattr(remembered, "_loaded", None)
    return cache


def fake_postgres(folder: Path, version: str) -> Path:
    """A `postgres` that answers `--version` and counts how often it was asked."""
    folder.mkdir(exist_ok=True)
    program = folder / "postgres"
    staging = folder / "postgres.new"  # a new file, as a package upgrade writes one
    staging.write_text(f"#!/bin/sh\necho asked >> {folder}/asked\n"
                       f"echo 'postgres (PostgreSQL) {version}'\n")
    staging.chmod(0o755)
    os.replace(staging, program)
    return folder


def asked(folder: Path) -> int:
    try:
        return len((folder / "asked").read_text().splitlines())
    except FileNotFoundError:
        return 0


def test_the_version_is_asked_once_then_remembered_across_runs(tmp_path: Path,
                                                               own_cache: Path) -> None:
    bin_dir = fake_postgres(tmp_path / "bin", "15.4")
    assert pgbinaries.server_version(bin_dir) == "15.4"
    assert pgbinaries.server_version(bin_dir) == "15.4"
    remembered._loaded = None  # the next gate reads the file
    assert pgbinaries.server_version(bin_dir) == "15.4"
    assert asked(bin_dir) == 1
    assert (own_cache / remembered.FILE).is_file()


def test_another_program_at_the_same_path_is_asked_again(tmp_path: Path) -> None:
    bin_dir = fake_postgres(tmp_path / "bin", "15.4")
    assert pgbinaries.server_version(bin_dir) == "15.4"
    fake_postgres(bin_dir, "16.1")  # upgraded in place
    assert pgbinaries.server_version(bin_dir) == "16.1"
    assert asked(bin_dir) == 2


def test_a_failure_is_not_remembered(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = bin_dir / "postgres"
    program.write_text("#!/bin/sh\necho asked >> \"$(dirname \"$0\")/asked\"\nexit 1\n")
    program.chmod(0o755)
    assert pgbinaries.server_version(bin_dir) is None
    assert pgbinaries.server_version(bin_dir) is None
    assert asked(bin_dir) == 2


def test_a_damaged_or_unwritable_file_is_no_error(tmp_path: Path, own_cache: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    own_cache.mkdir()
    (own_cache / remembered.FILE).write_text("[not, json")
    bin_dir = fake_postgres(tmp_path / "bin", "15.4")
    assert pgbinaries.server_version(bin_dir) == "15.4"
    monkeypatch.setattr(remembered, "_loaded", None)
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder should be")
    monkeypatch.setenv("MIGRATION_GATE_CACHE_DIR", str(blocked))
    assert pgbinaries.server_version(bin_dir) == "15.4"
