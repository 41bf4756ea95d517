"""A damaged cache never disables the replay: each way of breaking a cached data folder (the
initdb template or a replayed base schema) is noticed, the folder named, discarded and rebuilt,
and the same run still replays and reports. Real CLI, real PostgreSQL, real cache folders."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from migration_gate.ephemeral.pgcache import MANIFEST
from tests.test_db_check import branch_repo, check, of_rule

BRANCH = {"migrations/V003__risky.sql": "ALTER TABLE table_1 ADD COLUMN x int;\nSELEC 1;\n"}


def first_file(folder: Path, under: str) -> Path:
    return next(p for p in sorted((folder / under).rglob("*")) if p.is_file())


#: Ways a cached data folder breaks: a copy cut short, a truncated or garbled control file
#: (the same size: only the server can tell), a lost file, a folder of another version.
DAMAGE: dict[str, Callable[[Path], object]] = {
    "incomplete": lambda folder: (folder / MANIFEST).unlink(),
    "pg_control_truncated": lambda folder: (folder / "global" / "pg_control").write_bytes(b""),
    "pg_control_garbled": lambda folder: (folder / "global" / "pg_control").write_bytes(
        os.urandom(8192)),
    "file_missing": lambda folder: first_file(folder, "base").unlink(),
    "other_version": lambda folder: (folder / "PG_VERSION").write_text("9.6\n"),
}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, pg_binaries: Any) -> Path:
    """A cache holding the template and the base schema of `BRANCH`'s repository."""
    cache = tmp_path_factory.mktemp("pristine") / "cache"
    repo = branch_repo(tmp_path_factory.mktemp("repo") / "repo", BRANCH, base_count=2)
    done = check(repo, cache, "--verify")
    assert done.returncode == 1, done.stdout + done.stderr
    return cache


def assert_replayed(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 1, done.stdout + done.stderr
    assert [d["line"] for d in of_rule(done, "lock-observed")] == [1]
    assert [d["line"] for d in of_rule(done, "migration-failed")] == [2]
    assert "replay skipped" not in done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("entry", ["pgdata2-", "base-"])
@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_cache_entry_is_named_discarded_and_rebuilt(
    tmp_path: Path, pristine: Path, entry: str, damage: str,
) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(pristine, cache, symlinks=True)
    if entry == "pgdata2-":  # without a base schema, the run starts from the template
        for base in cache.glob("base-*"):
            shutil.rmtree(base)
    (folder,) = cache.glob(f"{entry}*")
    DAMAGE[damage](folder)
    repo = branch_repo(tmp_path / "repo", BRANCH, base_count=2)

    done = check(repo, cache, "--verify")
    assert_replayed(done)
    notes = [line for line in done.stderr.splitlines() if "damaged" in line]
    assert len(notes) == 1 and str(folder) in notes[0], done.stderr
    assert "discarded, this run rebuilds it" in notes[0]

    again = check(repo, cache, "--verify")
    assert_replayed(again)
    assert "damaged" not in again.stderr  # rebuilt, and intact
    assert (folder / MANIFEST).is_file()
